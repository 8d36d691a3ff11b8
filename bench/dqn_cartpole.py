"""Benchmark: DQN on CartPole-v1, measured by running the ``11_dqn`` solutions notebook.

For each seed the notebook runs top to bottom in a fresh kernel with ``SEED`` injected
(``workbook.run.run_with_metrics``); it trains until the course's *confirmed solve*, and the figures
below are read from its variables afterwards (:data:`COLLECT`), so the lesson holds no benchmark code.
There is no second DQN here: this measures the notebook.

Prints one JSON object per seed::

    {"seed": 0, "solved": true, "steps": 1024, "wall_s": 2.75, "eval100": 500.0, "cpu_s": 2.64, "notebook_s": 21.3}

and, last, a summary::

    {"solved": 10, "seeds": 10, "median_steps": ..., "median_wall_s": ...}

``steps`` is the number of environment steps to the confirmed solve, ``wall_s`` the training time to
it as measured inside the notebook (evaluation included), ``cpu_s`` the CPU time the notebook's
process spent over the same span (what ``wall_s`` would be on an idle machine: torch runs on one
thread; on a shared machine ``wall_s`` is inflated), ``eval100`` the mean return of the notebook's
final 100-episode greedy evaluation. The medians are over all seeds, an unsolved seed
counting as infinitely slow (so the median is ``null`` when half or more fail).

Usage::

    python bench/dqn_cartpole.py              # seeds 0..9
    python bench/dqn_cartpole.py --seeds 3    # seeds 0..2
    python bench/dqn_cartpole.py --first-seed 100 --seeds 10
"""

from __future__ import annotations

import json
import math
import statistics

from benchlib import ROOT, parse_seed_args, seed_arguments, seed_range

from workbook.run import run_with_metrics

NOTEBOOK = ROOT / "solutions" / "11_dqn.ipynb"
#: What is read from the notebook after its run: name -> expression over the notebook's variables.
COLLECT = {
    "solved": "result.solved",
    "steps": "result.solved_at",
    "wall_s": "result.wall_s",
    "cpu_s": "result.cpu_s",
    "eval100": "eval100",
}


def run_seed(seed: int, timeout: float) -> dict:
    """Run the notebook once with ``SEED = seed``; return its per-seed record."""
    run = run_with_metrics(NOTEBOOK, {"SEED": seed}, collect=COLLECT, timeout=timeout)
    metrics, error, notebook_s = run.metrics, run.error, run.seconds  # a failed assert still leaves metrics
    record = {
        "seed": seed,
        "solved": bool(metrics.get("solved", False)) and error is None,
        "steps": metrics.get("steps"),
        "wall_s": None if metrics.get("wall_s") is None else round(float(metrics["wall_s"]), 2),
        "eval100": metrics.get("eval100"),
        "cpu_s": None if metrics.get("cpu_s") is None else round(float(metrics["cpu_s"]), 2),
        "notebook_s": round(notebook_s, 1),
    }
    if error:
        record["error"] = error
    return record


def median_or_none(values: list[float]) -> float | None:
    m = statistics.median(values)
    return None if math.isinf(m) else m


def main(argv: list[str] | None = None) -> int:
    args = parse_seed_args(seed_arguments(__doc__, seeds=10, timeout=900), argv)

    records = []
    for seed in seed_range(args):
        record = run_seed(seed, args.timeout)
        records.append(record)
        print(json.dumps(record), flush=True)

    solved = [r for r in records if r["solved"]]
    steps = [r["steps"] if r["solved"] else math.inf for r in records]
    walls = [r["wall_s"] if r["solved"] else math.inf for r in records]
    cpus = [r["cpu_s"] if r["solved"] and r["cpu_s"] is not None else math.inf for r in records]
    summary = {
        "solved": len(solved),
        "seeds": len(records),
        "median_steps": median_or_none(steps),
        "median_wall_s": median_or_none(walls),
        "median_cpu_s": median_or_none(cpus),
        "median_notebook_s": statistics.median(r["notebook_s"] for r in records),
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
