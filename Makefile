# Deep Q Workbook — two commands: `make lab` (work through the course) and `make test` (the whole suite).
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Pinned torch. On an ordinary Linux index this is the CUDA build (several GB; it runs on a CPU too);
# for the small CPU-only wheel pass PyTorch's CPU index: make lab TORCH="torch==2.13.0 --index-url <CPU index URL>"
TORCH  ?= torch==2.13.0
JOBS   ?= auto
PORT   ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install lab test lint unit check notebooks build bench clean

# pip's own progress bars stay on, so the first `make lab` (about two minutes) is never silent.
$(STAMP): pyproject.toml
	@echo "==> Creating $(VENV) and installing the course's packages (first run: a few minutes)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> [1/2] $(TORCH)"
	$(BIN)/python -m pip install --progress-bar on $(TORCH)
	@echo "==> [2/2] the course's packages and its helpers (pyproject.toml)"
	$(BIN)/python -m pip install --progress-bar on -e ".[dev]"
	@$(BIN)/python -c "import torch, gymnasium, helpers, workbook" && touch $(STAMP) && echo "==> Installed."

install: $(STAMP)

## lab: open JupyterLab on the lectures (installs on first use)
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=lectures --port=$(PORT) $(ROOT_FLAG) $(LAB_ARGS)

## test: lint, unit tests, lecture build check, then every notebook under nbval
test: lint unit check notebooks

lint: $(STAMP)
	$(BIN)/ruff check helpers workbook tests bench solutions lectures

unit: $(STAMP)
	$(BIN)/pytest -n $(JOBS) --dist loadfile tests

check: $(STAMP)
	$(BIN)/workbook build --check

notebooks: $(STAMP)
	MPLBACKEND=Agg $(BIN)/pytest -p no:cacheprovider --nbval-lax --nbval-current-env -n $(JOBS) --dist loadfile solutions lectures

## build: regenerate lectures/ from solutions/
build: $(STAMP)
	$(BIN)/workbook build

## bench: the benchmarks (slow; prints JSON figures)
bench: $(STAMP)
	$(BIN)/python bench/notebook_times.py  # every notebook run alone against its limit (~11 min; on an idle machine)
	$(BIN)/python bench/dqn_cartpole.py
	$(BIN)/python bench/dqn_ablation.py
	$(BIN)/python bench/deep_sarsa.py
	$(BIN)/python bench/dqn_extensions.py
	$(BIN)/python bench/policy_gradient.py
	$(BIN)/python bench/dqn_pong.py  # the shipped Pong weights, 10 episodes at ε 0.05 (skips when none are shipped)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
