"""Benchmark: REINFORCE (notebook 15), A2C (notebook 16) and A3C (notebook 17) on CartPole-v1, over seeds.

Runs ``solutions/15_policy_gradient.ipynb``, ``solutions/16_actor_critic.ipynb`` and ``solutions/17_a3c.ipynb``
top to bottom once per seed in a fresh kernel with ``SEED`` injected (``workbook.run.run_with_metrics``) and reads the figures
from each notebook's own variables afterwards (:data:`COLLECT`), so the lessons hold no benchmark code.
Prints one JSON object per run and, last, one summary object per algorithm: how many seeds reached the
course's confirmed solve, the median episodes (REINFORCE) or environment steps (A2C) to it, and the
median wall seconds of a whole notebook run (and of its training loop alone). For REINFORCE it also
averages notebook 15's fixed-budget comparison of plain and normalised returns (``compare_last50``: mean
training return over the last 50 episodes of each variant).

    python bench/policy_gradient.py --seeds 5
    python bench/policy_gradient.py --seeds 3 --only a2c
    python bench/policy_gradient.py --seeds 5 --only a3c

A3C (notebook 17: two spawned actor-learner processes, Hogwild updates) is not deterministic: the seed
fixes each worker's environment and sampling, not which worker writes first, so its figures are counts
and medians over runs, and a rerun of one seed may differ. Its runs also report the notebook's own
one-run comparison with A2C (``a2c_*``: A2C's steps to solve, wall and CPU seconds in the same run).

Targets (issue #8): REINFORCE solves within 600 episodes and A2C within 100 000 environment steps, on at
least 4 of 5 seeds; (issue #16) A3C with 2 workers within 100 000 environment steps in at least 4 of 5
runs. A run counts as solved when the notebook's own confirmed solve was reached within the budget; a failing cell (a failed solve assertion, or a timing check on a busy machine) is reported
with the run as ``error``, and the benchmark goes on. Wall-clock figures depend on the machine and on
what else runs on it.
"""

from __future__ import annotations

import json
import statistics
import sys

from benchlib import ROOT, parse_seed_args, seed_arguments, seed_range

from workbook.run import run_with_metrics

#: What is read from each notebook after its run: name -> expression over the notebook's variables.
COLLECT = {
    "reinforce": {
        "solved": 'history["solved_at"] is not None',
        "episodes": 'history["solved_at"] or len(history["returns"])',
        "env_steps": 'history["steps"]',
        "quick_mean": "check.quick_mean if check else None",
        "confirm_mean": "check.confirm_mean if check else None",
        "sampled_mean": "float(sampled.mean())",
        "train_seconds": "train_seconds",
        "compare_last50": "late",
    },
    "a2c": {
        "solved": 'history["solved_at"] is not None',
        "env_steps": 'history["solved_at"] or history["steps"]',
        "episodes": 'len(history["episode_returns"])',
        "quick_mean": "check.quick_mean if check else None",
        "confirm_mean": "check.confirm_mean if check else None",
        "sampled_mean": "float(sampled.mean())",
        "train_seconds": "train_seconds",
    },
    "a3c": {
        "solved": "a3c_run.solved_at is not None",
        "env_steps": "a3c_run.solved_at or a3c_run.steps",
        "confirm_mean": "a3c_run.check.confirm_mean if a3c_run.check else None",
        "train_seconds": "a3c_run.seconds",
        "cpu_seconds": "a3c_run.cpu_seconds",
        "startup_seconds": "a3c_run.startup_seconds",
        "lost_increments": "a3c_run.updates - a3c_run.shared_adam_steps",
        "a2c_env_steps": "a2c_run.solved_at",
        "a2c_seconds": "a2c_run.seconds",
        "a2c_cpu_seconds": "a2c_run.cpu_seconds",
    },
}

#: A3C's extra figures, reported per run and as medians.
A3C_EXTRA = ("cpu_seconds", "startup_seconds", "lost_increments", "a2c_env_steps", "a2c_seconds", "a2c_cpu_seconds")

ALGORITHMS = {
    # name: (notebook, measure of learning speed, budget in that measure)
    "reinforce": (ROOT / "solutions" / "15_policy_gradient.ipynb", "episodes", 600),
    "a2c": (ROOT / "solutions" / "16_actor_critic.ipynb", "env_steps", 100_000),
    "a3c": (ROOT / "solutions" / "17_a3c.ipynb", "env_steps", 100_000),
}


def run_one(algorithm: str, seed: int, timeout: float) -> dict:
    """Execute one solutions notebook for one seed and return its metrics plus wall time."""
    notebook, measure, budget = ALGORITHMS[algorithm]
    run = run_with_metrics(notebook, {"SEED": seed}, collect=COLLECT[algorithm], timeout=timeout)
    metrics, wall, error = run.metrics, run.seconds, run.error  # a failure is recorded, not raised
    reached = metrics.get(measure)
    solved = bool(metrics.get("solved")) and reached is not None and reached <= budget
    return {
        "algorithm": algorithm,
        "seed": seed,
        "solved": solved,
        "episodes": metrics.get("episodes"),
        "env_steps": metrics.get("env_steps"),
        "confirm_mean": metrics.get("confirm_mean"),
        "sampled_mean": metrics.get("sampled_mean"),
        "train_s": None if metrics.get("train_seconds") is None else round(metrics["train_seconds"], 1),
        "wall_s": round(wall, 1),
        "error": error,
        **({"compare_last50": metrics["compare_last50"]} if metrics.get("compare_last50") else {}),
        **({k: _round(metrics.get(k)) for k in A3C_EXTRA} if algorithm == "a3c" else {}),
    }


def _round(value):
    return round(value, 1) if isinstance(value, float) else value


def summarise(algorithm: str, runs: list[dict]) -> dict:
    _, measure, budget = ALGORITHMS[algorithm]
    solved = [r for r in runs if r["solved"]]
    compare = [r for r in runs if "compare_last50" in r]  # REINFORCE: G_t vs normalised, fixed budget

    def median(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    return {
        "summary": algorithm,
        "solved": len(solved),
        "seeds": len(runs),
        f"median_{measure}_to_solve": median([r[measure] for r in solved]),
        "budget": f"{budget} {measure.replace('_', ' ')}",
        "median_wall_s": median([r["wall_s"] for r in runs]),
        "median_train_s": median([r["train_s"] for r in runs]),
        "target_met": len(solved) >= 0.8 * len(runs),
        **({"compare_last50_mean": {w: round(statistics.mean(r["compare_last50"][w] for r in compare), 1)
                                    for w in compare[0]["compare_last50"]}} if compare else {}),
        **({f"median_{k}": median([r[k] for r in runs]) for k in A3C_EXTRA} if algorithm == "a3c" else {}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = seed_arguments(__doc__, seeds=5, timeout=1800)
    parser.add_argument("--only", choices=sorted(ALGORITHMS), help="benchmark one algorithm only")
    args = parse_seed_args(parser, argv)

    algorithms = [args.only] if args.only else list(ALGORITHMS)
    runs: dict[str, list[dict]] = {a: [] for a in algorithms}
    for seed in seed_range(args):
        for algorithm in algorithms:
            result = run_one(algorithm, seed, args.timeout)
            runs[algorithm].append(result)
            print(json.dumps(result), flush=True)
    summaries = [summarise(a, runs[a]) for a in algorithms]
    for summary in summaries:
        print(json.dumps(summary), flush=True)
    return 0 if all(s["target_met"] for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
