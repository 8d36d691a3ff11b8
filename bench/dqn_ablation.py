"""Benchmark: DQN with experience replay, the target network or the right bootstrap mask taken out, on CartPole-v1.

Runs ``solutions/12_dqn_ablation.ipynb`` top to bottom with injected parameters (more seeds, optionally another
step budget; ``workbook.run.run_with_metrics``), reads the figures below from the notebook's own variables
afterwards (:data:`COLLECT`; the lesson holds no benchmark code), prints the comparison table and, last, one JSON
object: per variant, how many seeds reached the course's confirmed solve (training goes on past it), the median
environment steps to the first one, the final greedy mean (the mean of the last evaluations), the mean evaluation
return over the whole run, the largest predicted start value max_a q̂(s0, a) and the number of training
episodes that reached CartPole-v1's 500-step limit.

    python bench/dqn_ablation.py              # the notebook's defaults: seeds 0..2
    python bench/dqn_ablation.py --seeds 10
    python bench/dqn_ablation.py --seeds 10 --total-steps 10000

The notebook keeps going past a failing assertion, so the figures are read anyway; the failure is printed and
the exit status is 1. CPU seconds are the fairer time figure on a shared machine.
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

NOTEBOOK = ROOT / "solutions" / "12_dqn_ablation.ipynb"
#: What is read from the notebook after its run: name -> expression over the notebook's variables.
COLLECT = {
    "total_steps": "CONFIG.total_steps",
    "seeds": "SEEDS",
    "summary": "summary",
}


def main(argv: list[str] | None = None) -> int:
    parser = seed_arguments(__doc__, seeds=3, timeout=7200)
    add_budget_argument(parser)
    args = parse_seed_args(parser, argv)

    run = run_notebook(NOTEBOOK, seed_parameters(args), COLLECT, args.timeout)
    metrics, wall = run.metrics, run.seconds
    summary = metrics.get("summary")
    if not summary:
        print("no results: the notebook stopped before its comparison finished", file=sys.stderr)
        return 1

    seeds = metrics["seeds"]
    print(f"CartPole-v1, seeds {seeds[0]}–{seeds[-1]} ({len(seeds)} per variant), budget {metrics['total_steps']} "
          f"environment steps per run, training past the first solve (notebook wall time {wall:.0f} s)")
    print()
    print("| variant | solved / seeds | median steps to first solve | final greedy mean | mean evaluation return | "
          "smallest max q̂(s0) over seeds | 500-step training episodes | CPU s per run |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, s in summary.items():
        med = f"{s['median_steps_to_solve']:.0f}" if s["median_steps_to_solve"] is not None else "—"
        print(f"| {name} | {s['solved']}/{s['seeds']} | {med} | {s['final_mean']:.1f} ± {s['final_std']:.1f} | "
              f"{s['run_mean']:.1f} | {s['max_q0']:.3g} | {s['time_limit_episodes']} | {s['cpu_s']:.1f} |")
    print()
    result = {
        "benchmark": "dqn_ablation",
        "env": "CartPole-v1",
        "total_steps": metrics["total_steps"],
        "seeds": seeds,
        "variants": {
            name: {
                "solved": s["solved"],
                "seeds": s["seeds"],
                "median_steps_to_solve": s["median_steps_to_solve"],
                "final_mean": round(s["final_mean"], 1),
                "final_std": round(s["final_std"], 1),
                "run_mean": round(s["run_mean"], 1),
                "smallest_max_q0": float(f"{s['max_q0']:.3g}"),
                "time_limit_episodes": s["time_limit_episodes"],
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
