"""Benchmark of notebook 09 (Deep SARSA on the moving-obstacle grid world).

Runs ``solutions/09_deep_sarsa.ipynb`` once per seed, in a fresh kernel, with ``SEED`` injected,
reads the figures in :data:`COLLECT` from its variables, and prints one JSON object per seed, then a
summary::

    {"seed": 0, "episodes_to_95": 70, "wall_s": 41.2, "success_rate": 1.0, ...}
    {"solved": 3, "seeds": 3, "median_episodes": 70, "median_wall_s": 40.8}

``episodes_to_95``: the number of training episodes after which the notebook's *confirmed solve*
check first passed — the periodic greedy evaluation (every 10 training episodes, 10 episodes)
reached ≥ 95% success and a 100-episode greedy evaluation of the same weights confirmed ≥ 95%
(success = goal reached without touching an obstacle). ``null`` when that never happened within
the notebook's 500 training episodes. ``success_rate``: the final greedy success over 100 new
episodes of the saved weights. ``wall_s``: seconds to run the whole notebook (kernel start,
training, evaluation, plots, video), measured here. A seed counts as solved when
``episodes_to_95`` is not null, at most 500, and ``success_rate`` ≥ 0.95.

Usage: ``python bench/deep_sarsa.py [--seeds N] [--first-seed S] [--timeout SECONDS]``
"""

from __future__ import annotations

import json
import statistics
import sys

from benchlib import ROOT, parse_seed_args, seed_arguments, seed_range

from workbook.run import run_with_metrics

NOTEBOOK = ROOT / "solutions" / "09_deep_sarsa.ipynb"
EPISODE_BUDGET = 500
SUCCESS_TARGET = 0.95
#: What is read from the notebook after its run: name -> expression over the notebook's variables.
COLLECT = {
    "episodes_to_95": "episodes_to_95",
    "success_rate": "final_success",
    "random_start_success": "random_success",
    "train_seconds": "train_seconds",
    "env_steps": "env_steps",
}


def run_seed(seed: int, timeout: float) -> dict:
    """Execute the notebook for one seed and return its figures."""
    run = run_with_metrics(NOTEBOOK, {"SEED": seed}, collect=COLLECT, timeout=timeout)
    if run.error:  # e.g. the notebook's success assertion failed
        return {"seed": seed, "episodes_to_95": None, "wall_s": round(run.seconds, 1),
                "success_rate": None, "error": run.error}
    m = run.metrics
    return {
        "seed": seed,
        "episodes_to_95": m["episodes_to_95"],
        "wall_s": round(run.seconds, 1),
        "success_rate": m["success_rate"],
        "train_s": round(m["train_seconds"], 1),
        "env_steps": m["env_steps"],
        "random_start_success": m["random_start_success"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_seed_args(seed_arguments(__doc__, seeds=3, timeout=600), argv)

    results = []
    for seed in seed_range(args):
        result = run_seed(seed, args.timeout)
        results.append(result)
        print(json.dumps(result), flush=True)

    solved = [
        r for r in results
        if r["episodes_to_95"] is not None and r["episodes_to_95"] <= EPISODE_BUDGET
        and r["success_rate"] is not None and r["success_rate"] >= SUCCESS_TARGET
    ]
    summary = {
        "solved": len(solved),
        "seeds": len(results),
        "median_episodes": statistics.median(r["episodes_to_95"] for r in solved) if solved else None,
        "median_wall_s": round(statistics.median(r["wall_s"] for r in results), 1),
    }
    print(json.dumps(summary), flush=True)
    return 0 if len(solved) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
