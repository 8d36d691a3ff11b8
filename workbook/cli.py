"""The ``workbook`` command: ``workbook build [--check]`` and ``workbook grade PATH... --out CSV``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main"]


def _build(args: argparse.Namespace) -> int:
    from workbook.build import build, repo_root

    root = repo_root(Path(args.root) if args.root else None)
    problems = build(root, check_only=args.check)
    for p in problems:
        print(f"✗ {p}", file=sys.stderr)
    n = len(list((root / "solutions").glob("*.ipynb")))
    if problems:
        print(f"workbook build{' --check' if args.check else ''}: {len(problems)} problem(s) in {n} notebook(s)",
              file=sys.stderr)
        return 1
    print(f"workbook build{' --check' if args.check else ''}: {n} notebook(s) OK")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from workbook.build import repo_root
    from workbook.grade import grade

    root = repo_root(Path(args.root) if args.root else None)

    def show(row) -> None:
        print(f"{row.status:>14}  {row.total:g}/{row.max:g}  {row.student}  ({row.file})", flush=True)

    try:
        rows = grade(args.paths, args.out, jobs=args.jobs, cell_timeout=args.cell_timeout,
                     total_timeout=args.timeout, root=root, resume=not args.restart,
                     report_dir=args.report_dir, progress=show)
    except FileNotFoundError as exc:
        print(f"workbook grade: {exc}", file=sys.stderr)
        return 2
    print(f"graded {len(rows)} submission(s) → {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``workbook`` console script."""
    parser = argparse.ArgumentParser(prog="workbook", description="Deep Q Workbook course tools.")
    parser.add_argument("--root", help="course repository (default: found from the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="regenerate lectures/ from solutions/ (and normalise solutions)")
    b.add_argument("--check", action="store_true", help="write nothing; fail if anything is stale or leaks")
    b.set_defaults(func=_build)

    g = sub.add_parser("grade", help="grade submitted notebooks into a CSV scores table")
    g.add_argument("paths", nargs="+", help="submitted notebooks or folders of them")
    g.add_argument("--out", default="grades.csv", help="CSV to write (default: grades.csv)")
    g.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions run in parallel (default: cores)")
    g.add_argument("--timeout", type=float, default=900, help="seconds for a whole notebook (default: 900)")
    g.add_argument("--cell-timeout", type=float, default=300, help="seconds for one cell (default: 300)")
    g.add_argument("--report-dir", help="also write one markdown report per submission here (to return to students)")
    g.add_argument("--restart", action="store_true", help="grade everything again instead of resuming --out")
    g.set_defaults(func=_grade)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
