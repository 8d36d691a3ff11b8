"""Benchmark: the Pong DQN the course ships — evaluation by default; training, resuming and provenance on request.

Evaluation (the default, what ``make bench`` runs): load the shipped weights (``helpers/data/pong_dqn.pt``,
package data of ``helpers``), play 10 full games with ε = 0.05 (the DQN paper's and CleanRL's evaluation),
print one JSON line per episode and a summary ``{"mean_return", "episodes", "train_steps", "train_wall_s",
"protocol", ...}``. Without ``--sticky`` the emulator never repeats an action (repeat_action_probability 0:
the PongNoFrameskip-v4-like protocol CleanRL reports, 17.8 ± 1.8 after 10M steps); ``--sticky`` uses
ALE/Pong-v5's default 0.25, which is harder. No shipped weights yet: says so, prints
``{"status": "no shipped weights"}`` and exits 0.

    python bench/dqn_pong.py                         # evaluate the shipped weights (10 episodes)
    python bench/dqn_pong.py --sticky                # ... with v5's sticky actions
    python bench/dqn_pong.py --weights RUN/ckpt-000500123   # evaluate a training checkpoint instead

Training (hours on a CPU; never in CI) writes checkpoints to ``--run-dir`` (outside the repository: ~0.7 GB
each, the replay buffer included) and the record (``record.json`` + ``curve.csv``) to ``--record-dir``:

    nohup nice -n 19 python bench/dqn_pong.py --train --run-dir /root/pong-run --record-dir bench/pong \\
        > /root/pong-run/log.txt 2>&1 &
    python bench/dqn_pong.py --train --resume --run-dir /root/pong-run --record-dir bench/pong   # continue

On a CPU, ``--threads 2 --channels-last --fused-adam`` make a step faster: the course's run went from 72
agent steps/s (one thread, ε ≈ 0.5) to 108 (all three, ε = 0.01, a forward pass on almost every step). It
switched to them at steps 150 123, 201 426 and 225 115; each segment of the record names its options.
``--flush-denormals`` keeps a long CPU run from slowing down: the Adam second moments of weights that stop
getting a gradient (dead ReLU units) decay by 0.999 per update into the denormal range below 1.2e-38, where
CPU arithmetic is an order of magnitude slower. After 100k steps of the train-every-step run, 54% of Adam's
state was denormal and a fused Adam step took 13 ms instead of 1.2 ms; with the flag the CPU flushes such
values to 0 (they change no update above 1e-30).

    python bench/dqn_pong.py --export /root/pong-run        # newest checkpoint -> helpers/data/pong_dqn.pt
    python bench/dqn_pong.py --select /root/pong-snaps --from-step 1500000 --jobs 2   # or: the best of several
    python bench/dqn_pong.py --reproduce bench/pong/record.json   # recorded command -> same first checkpoint?
    python bench/dqn_pong.py --diagnose /root/pong-run      # dead units per layer: has the network collapsed?

``--select`` plays every checkpoint (from ``--from-step`` on) for ``--episodes`` validation games that
start from ``--select-seed`` (default 20000), not from the evaluation's seeds (10000 on), exports the one
with the highest mean and writes the whole table into the file's ``selection``. The evaluation then plays
games the choice never saw, so picking the best checkpoint does not inflate the reported score.

Hyperparameters: :class:`workbook.pong_train.PongConfig`, changed with ``--set name=value``. A resumed run
takes its configuration from the checkpoint and equals the run that never stopped (same torch build,
device and ``--threads``). ``--device cuda`` runs the same code on a GPU, with deterministic kernels so that resuming stays exact.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
from benchlib import ROOT

from helpers.pong_agent import EVAL_SEED, play_pong
from workbook.pong_train import (
    WEIGHTS_PATH,
    PongConfig,
    Trainer,
    checkpoint_step,
    checkpoints,
    diagnose,
    export_weights,
    load_weights,
    protocol,
    sha256,
)

OUTPUT_OPTIONS = ("--run-dir", "--record-dir", "--until")  # where a run writes / when it stops, not what it computes
SELECT_SEED = 20_000  # --select's validation games start here, well apart from the evaluation's EVAL_SEED


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=WEIGHTS_PATH,
                   help="weights to evaluate: an exported file or a checkpoint folder (default: the shipped file)")
    p.add_argument("--episodes", type=int, default=10, help="evaluation episodes (default 10)")
    p.add_argument("--epsilon", type=float, default=0.05, help="evaluation ε (default 0.05)")
    p.add_argument("--sticky", action="store_true", help="evaluate with v5's sticky actions (0.25) instead of 0")
    p.add_argument("--eval-seed", type=int, default=EVAL_SEED, help=f"episode i resets with seed EVAL_SEED + i (default {EVAL_SEED})")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default cpu)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1; a resumed run must use the run's own count to stay exact)")
    p.add_argument("--channels-last", action="store_true",
                   help="train with the networks and batches in channels-last memory order (faster CPU convolutions; "
                        "the same numbers up to rounding, so a resumed run must keep the run's own choice to stay exact)")
    p.add_argument("--fused-adam", action="store_true",
                   help="train with torch's fused Adam (one kernel per step: much faster on a CPU; the same update up "
                        "to rounding, so a resumed run must keep the run's own choice to stay exact)")
    p.add_argument("--flush-denormals", action="store_true",
                   help="train with the CPU flushing denormal floats (below 1.2e-38) to 0, set before torch starts its "
                        "threads: Adam's decayed moments stop slowing a long run ~10x (the same numbers above 1e-30; a "
                        "resumed run must keep the run's own choice to stay exact)")
    p.add_argument("--train", action="store_true", help="train (or, with --resume, continue) instead of evaluating")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --run-dir")
    p.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "pong", help="checkpoint folder (default runs/pong)")
    p.add_argument("--record-dir", type=Path, default=None, help="where record.json and curve.csv go (default: --run-dir)")
    p.add_argument("--checkpoint-every", type=int, default=25_000,
                   help="agent steps between checkpoints, written at the next episode boundary (default 25000)")
    p.add_argument("--keep", type=int, default=2, help="checkpoints kept (default 2)")
    p.add_argument("--until", type=int, default=None, help="stop after the first checkpoint at or after this step")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a PongConfig field, e.g. --set total_steps=300 (repeatable)")
    p.add_argument("--export", type=Path, default=None, metavar="RUN_DIR_OR_CHECKPOINT",
                   help="write the newest checkpoint's online network to --weights-out and stop")
    p.add_argument("--weights-out", type=Path, default=WEIGHTS_PATH,
                   help="where --export and --select write (default: the shipped file)")
    p.add_argument("--select", type=Path, default=None, metavar="CHECKPOINT_DIR",
                   help="play every checkpoint in CHECKPOINT_DIR for --episodes validation games and export the best")
    p.add_argument("--select-seed", type=int, default=SELECT_SEED,
                   help=f"validation game i resets with seed SELECT_SEED + i (default {SELECT_SEED}); the seeds must "
                        "not overlap the evaluation's")
    p.add_argument("--from-step", type=int, default=0, help="--select: only checkpoints at or after this agent step")
    p.add_argument("--jobs", type=int, default=1, help="--select: checkpoints played at once, one process each (default 1)")
    p.add_argument("--diagnose", type=Path, default=None, metavar="RUN_DIR_OR_CHECKPOINT",
                   help="print each checkpoint's dead units per layer and Q spread (a collapsed run shows conv3 at 1.0)")
    p.add_argument("--reproduce", type=Path, default=None, metavar="RECORD_JSON",
                   help="rerun the recorded command up to its first checkpoint and compare the state.pt SHA-256")
    return p


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


def run_training(args: argparse.Namespace, argv: list[str]) -> int:
    run_dir: Path = args.run_dir
    if args.resume:
        found = checkpoints(run_dir)
        if not found:
            print(f"no checkpoint in {run_dir} to resume from", file=sys.stderr)
            return 2
        if args.set:
            print("--resume takes the configuration from the checkpoint; --set is ignored", file=sys.stderr)
        trainer = Trainer.from_checkpoint(found[-1], device=args.device, threads=args.threads,
                                           channels_last=args.channels_last, fused_adam=args.fused_adam)
        print(f"resuming from {found[-1]} (step {trainer.step}, episode {trainer.episode})", file=sys.stderr)
        if trainer.step >= trainer.config.total_steps:
            print(f"the run in {run_dir} is finished ({trainer.step} steps): nothing to resume", file=sys.stderr)
            return 0
    else:
        if checkpoints(run_dir):
            print(f"{run_dir} already holds checkpoints: pass --resume, or another --run-dir", file=sys.stderr)
            return 2
        trainer = Trainer(PongConfig.from_overrides(args.set), device=args.device, threads=args.threads,
                          channels_last=args.channels_last, fused_adam=args.fused_adam)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "pid").write_text(f"{os.getpid()}\n")  # `kill -STOP $(cat RUN_DIR/pid)` pauses this run
    record = trainer.run(run_dir, checkpoint_every=args.checkpoint_every, keep=args.keep, until=args.until,
                         record_dir=args.record_dir, argv=argv)
    emit({k: record[k] for k in ("status", "steps", "episodes", "train_wall_s", "train_cpu_s",
                                 "last10_mean_return", "first_checkpoint")})
    return 0


def _validate(job: tuple[Path, int, float, bool, int]) -> dict:
    """Play one checkpoint's validation games (one CPU thread; runs in a worker process)."""
    path, episodes, epsilon, sticky, seed = job
    torch.set_num_threads(1)
    net, meta = load_weights(path)
    returns = [r["return"] for r in play_pong(net, episodes=episodes, epsilon=epsilon, sticky=sticky, seed=seed)]
    return {"checkpoint": path.name, "step": meta["train_steps"], "mean_return": sum(returns) / len(returns),
            "returns": returns}


def select(run_dir: Path, out: Path, *, from_step: int = 0, episodes: int = 10, epsilon: float = 0.05,
           sticky: bool = False, seed: int = SELECT_SEED, jobs: int = 1, log=emit) -> dict:
    """Play every checkpoint of ``run_dir`` at or after ``from_step`` on validation games (seeds ``seed`` …
    ``seed + episodes - 1``), export the one with the highest mean return (the later one on a tie) to
    ``out`` with the table in its ``selection``, and return that ``selection``."""
    evaluated = range(EVAL_SEED, EVAL_SEED + 100)  # the evaluation's seeds, up to 100 games
    if seed < evaluated.stop and evaluated.start < seed + episodes:
        raise ValueError(f"validation seeds {seed}…{seed + episodes - 1} overlap the evaluation's ({EVAL_SEED} on): "
                         f"pick --select-seed outside {evaluated.start}…{evaluated.stop - 1}, e.g. {SELECT_SEED}")
    found = [p for p in checkpoints(run_dir) if checkpoint_step(p) >= from_step]
    if not found:
        raise ValueError(f"no checkpoint at or after step {from_step} in {run_dir}")
    work = [(p, episodes, epsilon, sticky, seed) for p in found]
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_validate, work))
    else:
        results = [_validate(job) for job in work]
    for row in results:
        log(row)
    best = max(range(len(found)), key=lambda i: (results[i]["mean_return"], results[i]["step"]))
    selection = {"rule": f"highest mean return over {episodes} validation games (the later checkpoint on a tie)",
                 "seed": seed, "episodes": episodes, "epsilon": epsilon, "sticky": sticky,
                 "candidates": [{k: r[k] for k in ("step", "mean_return")} for r in results],
                 "chosen_step": results[best]["step"]}
    export_weights(found[best], out, selection=selection)
    return selection


def replace_options(argv: list[str], new: dict[str, str]) -> list[str]:
    """``argv`` without the options named in ``new`` (and their values), then ``new`` appended."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in new:
            skip = "=" not in arg
            continue
        out.append(arg)
    for name, value in new.items():
        out += [name, value]
    return out


def reproduce(record_path: Path, work_dir: Path | None = None) -> dict:
    """Run the recorded command (argv) again, in a fresh folder, up to the run's first checkpoint; compare
    the SHA-256 of its ``state.pt`` with the recorded one."""
    record = json.loads(Path(record_path).read_text())
    first = record.get("first_checkpoint")
    if not first:
        return {"status": "no checkpoint recorded yet"}
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        argv = replace_options(record["argv"], {"--run-dir": f"{tmp}/run", "--record-dir": f"{tmp}/record",
                                                "--until": str(first["step"]), "--keep": "1000000"})
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *argv], cwd=ROOT,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return {"status": "failed", "stderr": proc.stderr[-2000:]}
        ckpt = Path(tmp) / "run" / f"ckpt-{first['step']:09d}" / "state.pt"
        if not ckpt.is_file():
            return {"status": "differs", "reason": f"no checkpoint at step {first['step']}"}
        digest = sha256(ckpt)
    return {"status": "reproduced" if digest == first["sha256"] else "differs", "step": first["step"],
            "sha256": digest, "recorded_sha256": first["sha256"], "argv": argv}


@contextlib.contextmanager
def denormals_flushed(enabled: bool):
    """Within the block the CPU flushes denormal floats to 0 (``torch.set_flush_denormal``). The mode is a
    per-thread CPU flag that new threads inherit, so set before torch's first parallel operation (a fresh
    process) it holds in every worker thread too; afterwards only in the calling thread."""
    if not enabled:
        yield
        return
    if not torch.set_flush_denormal(True):
        print("this CPU cannot flush denormals: --flush-denormals changes nothing", file=sys.stderr)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    if args.train:
        with denormals_flushed(args.flush_denormals):
            return run_training(args, argv)
    if args.export is not None:
        source = args.export
        found = checkpoints(source)
        info = export_weights(found[-1] if found else source, args.weights_out)
        size = args.weights_out.stat().st_size
        emit({"status": "exported", "weights": str(args.weights_out), "bytes": size,
              **{k: info[k] for k in ("train_steps", "train_wall_s", "checkpoint")}})
        if size > 10 * 2**20:
            print(f"warning: {size} bytes is over the issue's 10 MB limit", file=sys.stderr)
        return 0
    if args.select is not None:
        try:
            selection = select(args.select, args.weights_out, from_step=args.from_step, episodes=args.episodes,
                               epsilon=args.epsilon, sticky=args.sticky, seed=args.select_seed, jobs=args.jobs)
        except ValueError as err:
            print(err, file=sys.stderr)
            return 2
        emit({"status": "exported", "weights": str(args.weights_out), "chosen_step": selection["chosen_step"],
              "candidates": len(selection["candidates"])})
        return 0
    if args.diagnose is not None:
        for ckpt in checkpoints(args.diagnose) or [args.diagnose]:
            emit({"checkpoint": str(ckpt), **diagnose(ckpt)})
        return 0
    if args.reproduce is not None:
        result = reproduce(args.reproduce)
        emit(result)
        return 0 if result["status"] in ("reproduced", "no checkpoint recorded yet") else 1
    if not args.weights.exists():
        print(f"no shipped weights at {args.weights}: nothing to evaluate yet (train with --train, then --export)")
        emit({"status": "no shipped weights"})
        return 0
    torch.set_num_threads(args.threads)
    net, meta = load_weights(args.weights, device=args.device)
    rows = play_pong(net, episodes=args.episodes, epsilon=args.epsilon, sticky=args.sticky, seed=args.eval_seed,
                     device=args.device, log=emit)
    returns = [r["return"] for r in rows]
    mean = sum(returns) / len(returns)
    std = (sum((r - mean) ** 2 for r in returns) / len(returns)) ** 0.5
    emit({"mean_return": mean, "std_return": round(std, 3), "episodes": len(rows),
          "train_steps": meta.get("train_steps"), "train_wall_s": meta.get("train_wall_s"),
          "protocol": protocol(0.25 if args.sticky else 0.0, args.epsilon), "weights": str(args.weights)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
