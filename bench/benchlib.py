"""What the benchmark scripts share: the repository root on ``sys.path`` and the seed arguments.

Each script in ``bench/`` runs a solutions notebook once per seed (``workbook.run.run_with_metrics``)
and prints one JSON object per run, then a summary. Run them from anywhere as ``python bench/NAME.py``;
Python puts ``bench/`` on the path, so ``import benchlib`` finds this module.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

#: The repository root; put on ``sys.path`` so ``helpers`` imports even when it is not installed.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def seed_arguments(doc: str | None, *, seeds: int, timeout: float, first_seed: bool = True) -> argparse.ArgumentParser:
    """A parser with ``--seeds`` (default ``seeds``), ``--first-seed`` (unless ``first_seed=False``) and
    ``--timeout`` (seconds any one notebook cell may run); the script's docstring's first line describes it."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0] if doc else None)
    parser.add_argument("--seeds", type=int, default=seeds, help=f"number of seeds (default {seeds})")
    if first_seed:
        parser.add_argument("--first-seed", type=int, default=0,
                            help="first seed; the seeds are first-seed, first-seed + 1, … (default 0)")
    parser.add_argument("--timeout", type=float, default=timeout,
                        help=f"seconds any one notebook cell may run (default {timeout:g})")
    return parser


def parse_seed_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` and reject impossible seed ranges with a clear message."""
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    if getattr(args, "first_seed", 0) < 0:
        parser.error(f"--first-seed must be non-negative, got {args.first_seed}")
    if args.timeout <= 0:
        parser.error(f"--timeout must be positive, got {args.timeout}")
    return args


def add_budget_argument(parser: argparse.ArgumentParser) -> None:
    """``--total-steps``: the notebook's step budget per run (default: the notebook's own)."""
    parser.add_argument("--total-steps", type=int, default=None, help="step budget per run (default: the notebook's)")


def seed_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The values injected into a notebook that loops over ``SEEDS`` (and ``TOTAL_STEPS`` when given)."""
    params: dict[str, Any] = {"SEEDS": list(seed_range(args))}
    if getattr(args, "total_steps", None) is not None:
        params["TOTAL_STEPS"] = args.total_steps
    return params


def run_notebook(notebook: Path, parameters: dict[str, Any], collect: dict[str, str], timeout: float):
    """Run a solutions notebook once with ``parameters`` injected and read ``collect`` back
    (``workbook.run.run_with_metrics``); a failing cell is reported on stderr, the figures are read anyway."""
    from workbook.run import run_with_metrics

    run = run_with_metrics(notebook, parameters, collect=collect, timeout=timeout)
    if run.error:
        print(f"notebook reported: {run.error}", file=sys.stderr)
    return run


def seed_range(args: argparse.Namespace) -> range:
    """The seeds to run: ``first_seed, …, first_seed + seeds - 1``."""
    first = getattr(args, "first_seed", 0)
    return range(first, first + args.seeds)
