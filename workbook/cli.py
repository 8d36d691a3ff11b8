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
    limits = None
    if args.sandbox is not False:
        from workbook.sandbox import INSTALL_HINT, Limits, available

        ok, why = available()
        if ok:
            limits = Limits(memory_mb=args.memory_mb, processes=args.max_processes)
            print(f"workbook grade: sandbox on (bubblewrap: read-only files, no network, own PID namespace, "
                  f"{limits.memory_mb} MiB and {limits.processes} processes per submission)", flush=True)
        elif args.sandbox:
            print(f"workbook grade: --sandbox asked for, but {why}; {INSTALL_HINT}", file=sys.stderr)
            return 2
        else:
            print(f"workbook grade: WARNING: {why}, so student code runs UNSANDBOXED; {INSTALL_HINT} "
                  "(or pass --no-sandbox to silence this)", file=sys.stderr, flush=True)
    else:
        print("workbook grade: sandbox off (--no-sandbox): student code runs unsandboxed", flush=True)

    def show(row) -> None:
        print(f"{row.status:>14}  {row.total:g}/{row.max:g}  {row.student}  ({row.file})", flush=True)

    try:
        rows = grade(args.paths, args.out, jobs=args.jobs, cell_timeout=args.cell_timeout,
                     total_timeout=args.timeout, root=root, resume=not args.restart,
                     report_dir=args.report_dir, sandbox=limits, progress=show)
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
    sb = g.add_mutually_exclusive_group()
    sb.add_argument("--sandbox", action="store_true", default=None,
                    help="run each submission inside bubblewrap (the default where bwrap is installed)")
    sb.add_argument("--no-sandbox", dest="sandbox", action="store_false", help="run student code unsandboxed")
    g.add_argument("--memory-mb", type=int, default=4096, help="sandbox: address space per process (default: 4096)")
    g.add_argument("--max-processes", type=int, default=512,
                   help="sandbox: processes and threads per submission (default: 512)")
    g.add_argument("--restart", action="store_true", help="grade everything again instead of resuming --out")
    g.set_defaults(func=_grade)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
