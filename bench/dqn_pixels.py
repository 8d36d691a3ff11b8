"""Benchmark: DQN on CartPole with the velocities hidden, one observation vs a stack of four (notebook 14).

Runs ``solutions/14_dqn_pixels.ipynb`` top to bottom with injected parameters (more POMDP seeds, optionally
another step budget; ``workbook.run.run_with_metrics``), reads the figures below from the notebook's own
variables afterwards (:data:`COLLECT`; the lesson holds no benchmark code) and prints, per variant, each
seed's best greedy evaluation and confirmed-solve step, then one JSON object with the summary and the
notebook's Pong figures (agent steps/s of the short run, ms per update, replay bytes per transition).

    python bench/dqn_pixels.py                  # seeds 0..4, the notebook's 3 000-step budget
    python bench/dqn_pixels.py --seeds 10 --pomdp-steps 15000 --pong-steps 1100

The notebook keeps going past a failing assertion (e.g. the stack not clearly ahead on these seeds), so the
figures are read anyway; the failure is printed and the exit status is 1. CPU seconds are the fairer
figure on a shared machine.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from benchlib import ROOT, parse_seed_args, run_notebook, seed_arguments, seed_range

NOTEBOOK = ROOT / "solutions" / "14_dqn_pixels.ipynb"
#: What is read from the notebook after its run: name -> expression over the notebook's variables.
COLLECT = {
    "pomdp_steps": "POMDP_STEPS",
    "runs": "[{k: r[k] for k in ('variant', 'seed', 'best', 'solved_at', 'cpu_s')} for r in pomdp_runs]",
    "best_mean": "best_mean",
    "pong_steps": "PONG_CONFIG.total_steps",
    "pong_steps_per_s": "PONG_CONFIG.total_steps / wall",
    "pong_cpu_s": "cpu",
    "pong_update_ms": "1000 * update_s / len(losses)",
    "bytes_per_transition": "{'float32': bytes_float, 'uint8': bytes_uint8, 'frames_once': bytes_frames}",
    "device": "str(DEVICE)",
}


def main(argv: list[str] | None = None) -> int:
    parser = seed_arguments(__doc__, seeds=5, timeout=7200)
    parser.add_argument("--pomdp-steps", type=int, default=None, help="step budget per POMDP run (default: the notebook's)")
    parser.add_argument("--pong-steps", type=int, default=None,
                        help="agent steps of the short Pong run, > 1000 (default: the notebook's)")
    args = parse_seed_args(parser, argv)
    if args.pong_steps is not None and args.pong_steps <= 1000:
        parser.error("--pong-steps must exceed the 1000 random warm-up steps")

    params: dict = {"POMDP_SEEDS": list(seed_range(args))}
    if args.pomdp_steps is not None:
        params["POMDP_STEPS"] = args.pomdp_steps
    if args.pong_steps is not None:
        params["PONG_STEPS"] = args.pong_steps
    run = run_notebook(NOTEBOOK, params, COLLECT, args.timeout)
    metrics = run.metrics
    runs = metrics.get("runs")
    if not runs:
        print("no results: the notebook stopped before its POMDP comparison finished", file=sys.stderr)
        return 1

    print(f"CartPole with velocities hidden, budget {metrics['pomdp_steps']} environment steps per run "
          f"(notebook wall time {run.seconds:.0f} s)")
    print("| variant | seeds | solved | mean best greedy evaluation | best per seed | solve step per seed | CPU s per run |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    summary = {}
    for name in dict.fromkeys(r["variant"] for r in runs):
        rs = [r for r in runs if r["variant"] == name]
        best = [r["best"] for r in rs]
        summary[name] = dict(seeds=len(rs), solved=sum(r["solved_at"] is not None for r in rs),
                             mean_best=float(np.mean(best)), best=best, solved_at=[r["solved_at"] for r in rs],
                             cpu_s=float(np.mean([r["cpu_s"] for r in rs])))
        s = summary[name]
        print(f"| {name} | {s['seeds']} | {s['solved']} | {s['mean_best']:.1f} | {', '.join(f'{b:.0f}' for b in best)} | "
              f"{', '.join(str(x) if x is not None else '—' for x in s['solved_at'])} | {s['cpu_s']:.1f} |")
    result = {"benchmark": "dqn_pixels", "pomdp_steps": metrics["pomdp_steps"], "pomdp": summary,
              **{k: metrics.get(k) for k in ("pong_steps", "pong_steps_per_s", "pong_cpu_s", "pong_update_ms",
                                             "bytes_per_transition", "device")},
              "notebook_s": round(run.seconds, 1), "error": run.error}
    print(json.dumps(result))
    return 1 if run.error else 0


if __name__ == "__main__":
    sys.exit(main())
