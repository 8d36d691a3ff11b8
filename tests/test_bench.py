"""bench/benchlib.py: the seed arguments every benchmark script shares."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from benchlib import ROOT, parse_seed_args, seed_arguments, seed_range  # noqa: E402


def test_defaults_and_range():
    args = parse_seed_args(seed_arguments("Title line.\n\nMore.", seeds=10, timeout=900), [])
    assert (args.seeds, args.first_seed, args.timeout) == (10, 0, 900)
    assert list(seed_range(args)) == list(range(10))
    args = parse_seed_args(seed_arguments(None, seeds=10, timeout=900), ["--seeds", "3", "--first-seed", "10"])
    assert list(seed_range(args)) == [10, 11, 12]
    no_first = parse_seed_args(seed_arguments(None, seeds=3, timeout=60, first_seed=False), ["--seeds", "2"])
    assert list(seed_range(no_first)) == [0, 1]
    assert (ROOT / "solutions").is_dir()


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--seeds", "0"], "--seeds must be at least 1"), (["--first-seed", "-1"], "--first-seed must be non-negative"),
     (["--timeout", "0"], "--timeout must be positive")],
)  # fmt: skip
def test_impossible_ranges_are_explained(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse_seed_args(seed_arguments(None, seeds=3, timeout=60), argv)
    assert message in capsys.readouterr().err


def test_seed_parameters_and_the_budget_argument():
    from benchlib import add_budget_argument, seed_parameters

    parser = seed_arguments(None, seeds=3, timeout=60, first_seed=False)
    add_budget_argument(parser)
    assert seed_parameters(parse_seed_args(parser, [])) == {"SEEDS": [0, 1, 2]}
    args = parse_seed_args(parser, ["--seeds", "2", "--total-steps", "500"])
    assert seed_parameters(args) == {"SEEDS": [0, 1], "TOTAL_STEPS": 500}


def _notebook(path: Path, source: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, str(path))
    return path


def test_notebook_times_measures_a_notebook_and_reports_a_failure(tmp_path):
    import notebook_times

    ok = notebook_times.time_notebook(_notebook(tmp_path / "05_fast.ipynb", "sum(range(10**6))"))
    assert ok["status"] == "ok" and ok["notebook"] == "05_fast" and ok["limit_s"] == 60
    assert ok["within"] and 0 < ok["wall_s"] < 60 and ok["cpu_s"] > 0, ok
    bad = notebook_times.time_notebook(_notebook(tmp_path / "06_broken.ipynb", "raise ValueError('boom')"))
    assert bad["status"] == "error" and "boom" in bad["error"], bad


def test_notebook_times_limits_and_selection():
    import notebook_times

    assert notebook_times.limit_for("14_dqn_pixels") == 120 and notebook_times.limit_for("12_dqn_ablation") == 60
    assert notebook_times.select(["12", "14_dqn"]) == ["12_dqn_ablation", "14_dqn_pixels"]
    assert len(notebook_times.select(None)) == len(list((ROOT / "solutions").glob("*.ipynb")))
    with pytest.raises(SystemExit, match="no notebook starts with '99'; the notebooks are: 00_welcome"):
        notebook_times.select(["99"])
