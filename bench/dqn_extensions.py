"""Benchmark: DQN vs Double DQN, Dueling DQN, prioritized replay and all three, on CartPole-v1.

Runs ``solutions/13_dqn_extensions.ipynb`` top to bottom with injected parameters (more seeds, optionally
another step budget; ``workbook.run.run_with_metrics``), reads the figures below from the notebook's own
variables afterwards (:data:`COLLECT`; the lesson holds no benchmark code), prints the comparison table
and, last, one JSON object: per variant, how many seeds reached the course's confirmed solve, the median
environment steps to it and the mean predicted-minus-obtained start value Q̂(s0) − G0.

    python bench/dqn_extensions.py              # the notebook's defaults: seeds 0..2
    python bench/dqn_extensions.py --seeds 5
    python bench/dqn_extensions.py --seeds 10 --total-steps 5000

The notebook keeps going past a failing assertion (e.g. a variant that solved on none of the seeds), so
the figures are read anyway; the failure is printed and the exit status is 1. Wall-clock figures depend on
the machine and on what else runs on it; CPU seconds are the fairer figure on a shared machine.
"""

from __future__ import annotations

import json
import sys

from benchlib import (
    ROOT,
    add_budget_argument,
    parse_seed_args,
    run_notebook,
    seed_arguments,
    seed_parameters,
)

NOTEBOOK = ROOT / "solutions" / "13_dqn_extensions.ipynb"
#: What is read from the notebook after its run: name -> expression over the notebook's variables.
COLLECT = {
    "total_steps": "CONFIG.total_steps",
    "seeds": "SEEDS",
    "random_mean": "random_mean",
    "summary": "summary",
    "overestimation": "bias",
    "runs": "[{k: r[k] for k in ('variant', 'seed', 'solved_at', 'final_mean', 'cpu_s')} for r in runs]",
}


def main(argv: list[str] | None = None) -> int:
    parser = seed_arguments(__doc__, seeds=3, timeout=7200)
    add_budget_argument(parser)
    args = parse_seed_args(parser, argv)

    run = run_notebook(NOTEBOOK, seed_parameters(args), COLLECT, args.timeout)
    metrics, wall = run.metrics, run.seconds
    summary, bias = metrics.get("summary"), metrics.get("overestimation") or {}
    if not summary:
        print("no results: the notebook stopped before its comparison finished", file=sys.stderr)
        return 1

    seeds = metrics["seeds"]
    print(f"CartPole-v1, seeds {seeds[0]}–{seeds[-1]} ({len(seeds)} per variant), budget {metrics['total_steps']} "
          f"environment steps per run (notebook wall time {wall:.0f} s)")
    if metrics.get("random_mean") is not None:
        print(f"random policy: {metrics['random_mean']:.1f} mean return over 100 episodes")
    print()
    print("| variant | solved / seeds | median steps to confirmed solve | steps per seed | final 100-episode mean | "
          "mean Q̂(s0) − G0 | CPU s per run |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, s in summary.items():
        med = f"{s['median_steps_to_solve']:.0f}" if s["median_steps_to_solve"] is not None else "—"
        per_seed = ", ".join(str(x) if x is not None else "—" for x in s["steps_to_solve"])
        gap = bias.get(name, {}).get("gap_all")
        gap_text = f"{gap:+.1f}" if gap is not None else "—"
        print(f"| {name} | {s['solved']}/{s['seeds']} | {med} | {per_seed} | {s['final_mean']:.1f} ± {s['final_std']:.1f} | "
              f"{gap_text} | {s['cpu_s']:.1f} |")
    print()
    result = {
        "benchmark": "dqn_extensions",
        "env": "CartPole-v1",
        "total_steps": metrics["total_steps"],
        "seeds": seeds,
        "variants": {
            name: {
                "solved": s["solved"],
                "seeds": s["seeds"],
                "median_steps_to_solve": s["median_steps_to_solve"],
                "final_mean": round(s["final_mean"], 1),
                "gap_q0_minus_g0": None if bias.get(name) is None else round(bias[name]["gap_all"], 1),
                "cpu_s_per_run": round(s["cpu_s"], 1),
            }
            for name, s in summary.items()
        },
        "wall_s": round(wall, 1),
    }
    if run.error:
        result["error"] = run.error
    print(json.dumps(result))
    return 1 if run.error else 0


if __name__ == "__main__":
    raise SystemExit(main())
