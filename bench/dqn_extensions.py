"""Benchmark: DQN vs Double DQN, Dueling DQN, prioritized replay and all three, on CartPole-v1.

Runs ``solutions/09_dqn_extensions.ipynb`` top to bottom with injected parameters (more seeds, optionally
another step budget), reads the metrics it writes, prints the comparison table and, last, one JSON object:
per variant, how many seeds reached the course's confirmed solve and the median environment steps to it.

    python bench/dqn_extensions.py --seeds 5
    python bench/dqn_extensions.py --seeds 10 --total-steps 10000

The notebook's own assertions run too (each variant beats a random policy by a wide margin, the combined
variant solves on every seed), so a seed on which they fail makes this script fail loudly; pass
``--no-checks`` to measure anyway. Wall-clock figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import json
import sys

from benchlib import ROOT, parse_seed_args, seed_arguments, seed_range

from workbook.run import run_with_metrics

NOTEBOOK = ROOT / "solutions" / "09_dqn_extensions.ipynb"


def main(argv: list[str] | None = None) -> int:
    parser = seed_arguments(__doc__, seeds=3, timeout=7200, first_seed=False)
    parser.add_argument("--total-steps", type=int, default=None, help="step budget per run (default: the notebook's)")
    parser.add_argument("--no-checks", action="store_true", help="do not stop at the notebook's assertions")
    args = parse_seed_args(parser, argv)

    params: dict = {"SEEDS": list(seed_range(args))}
    if args.total_steps is not None:
        params["TOTAL_STEPS"] = args.total_steps
    if args.no_checks:
        params["CHECK_RESULTS"] = False
    run = run_with_metrics(NOTEBOOK, params, timeout=args.timeout)
    if run.error:  # the notebook's assertions failed (or a cell broke): fail loudly
        print(f"notebook failed: {run.error}", file=sys.stderr)
        if not run.metrics:
            return 1
    metrics, wall = run.metrics, run.seconds

    summary = metrics["summary"]
    print(f"CartPole-v1, {args.seeds} seeds per variant, budget {metrics['total_steps']} environment steps per run "
          f"(notebook wall time {wall:.0f} s)")
    print(f"random policy: {metrics['random_mean']:.1f} mean return over 100 episodes")
    print()
    print("| variant | solved / seeds | median steps to confirmed solve | final 100-episode mean | "
          "mean Q̂(s0) − G0 | CPU s per run |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, s in summary.items():
        med = f"{s['median_steps_to_solve']:.0f}" if s["median_steps_to_solve"] is not None else "—"
        gap = metrics["overestimation"][name]["gap_all"]
        print(f"| {name} | {s['solved']}/{s['seeds']} | {med} | {s['final_mean']:.1f} ± {s['final_std']:.1f} | "
              f"{gap:+.1f} | {s['cpu_s']:.1f} |")
    print()
    result = {
        "benchmark": "dqn_extensions",
        "env": "CartPole-v1",
        "total_steps": metrics["total_steps"],
        "seeds": args.seeds,
        "variants": {
            name: {
                "solved": s["solved"],
                "seeds": s["seeds"],
                "median_steps_to_solve": s["median_steps_to_solve"],
                "final_mean": round(s["final_mean"], 1),
            }
            for name, s in summary.items()
        },
        "wall_s": round(wall, 1),
    }
    print(json.dumps(result))
    return 1 if run.error else 0


if __name__ == "__main__":
    raise SystemExit(main())
