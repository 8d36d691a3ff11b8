"""Each notebook's run time against its limit: every notebook executed alone, as a student's Run All.

The course's speed target is per notebook: at most 60 s when run alone on a 2-core machine (the Pong
notebook, 14, at most 120 s), with real training. This benchmark executes each notebook of
``solutions/`` (the answers written) and ``lectures/`` (the exercises unanswered, so the references
train) one after the other with ``jupyter nbconvert --execute``, kernel start included, and measures
its wall time and CPU time (the kernel and any worker processes it starts). It prints one JSON line
per notebook and a summary line, and exits 1 when a notebook fails or runs over its limit.

Run it on an otherwise idle machine (pause any background training first): wall times include
whatever else the machine is doing.

    python bench/notebook_times.py                           # all 19 notebooks, both versions (~11 min)
    python bench/notebook_times.py --only 12 14 --which lectures
    python bench/notebook_times.py --markdown                # also the README's run-time table rows
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import ROOT

LIMIT_S = 60.0
#: Notebooks with a limit other than LIMIT_S.
LIMITS_S = {"14_dqn_pixels": 120.0}
VERSIONS = ("solutions", "lectures")


def limit_for(name: str) -> float:
    """The run-time limit of notebook ``name`` (its file name without ``.ipynb``), in seconds."""
    return LIMITS_S.get(name, LIMIT_S)


def time_notebook(path: Path, *, timeout: float = 600) -> dict[str, Any]:
    """Execute ``path`` in a fresh kernel (in its own folder, as Jupyter does) and measure it.

    Returns the notebook's name, wall and CPU seconds, its limit, ``within`` (wall ≤ limit) and
    ``status``: ``"ok"``, or ``"error"`` with the last lines of nbconvert's output.
    """
    path = Path(path).resolve()
    env = {**os.environ, "MPLBACKEND": "Agg"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output-dir", out,
             f"--ExecutePreprocessor.timeout={int(timeout)}", str(path)],
            capture_output=True, text=True, env=env, cwd=path.parent)
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    name = path.stem
    result: dict[str, Any] = {"benchmark": "notebook_time", "notebook": name, "version": path.parent.name,
                              "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "limit_s": limit_for(name),
                              "within": wall <= limit_for(name), "status": "ok" if proc.returncode == 0 else "error"}
    if proc.returncode != 0:
        result["error"] = "\n".join(proc.stderr.strip().splitlines()[-5:])
    return result


def select(only: list[str] | None) -> list[str]:
    """The notebook names to run: all of ``solutions/``, or those starting with one of ``only`` ("12" or
    "12_dqn_ablation"). An entry that matches nothing is an error that lists the names."""
    names = sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
    if not only:
        return names
    unknown = [o for o in only if not any(n.startswith(o) for n in names)]
    if unknown:
        raise SystemExit(f"no notebook starts with {', '.join(map(repr, unknown))}; the notebooks are: {', '.join(names)}")
    return [n for n in names if any(n.startswith(o) for o in only)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="notebooks whose names start with these")
    parser.add_argument("--which", nargs="+", choices=VERSIONS, default=list(VERSIONS),
                        help="solutions, lectures or both (default both)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds any one cell may run (default 600)")
    parser.add_argument("--markdown", action="store_true", help="also print the README's run-time table rows")
    args = parser.parse_args(argv)

    results = []
    for name in select(args.only):
        for version in args.which:
            result = time_notebook(ROOT / version / f"{name}.ipynb", timeout=args.timeout)
            print(json.dumps(result), flush=True)
            results.append(result)
    failed = [f"{r['version']}/{r['notebook']}" for r in results if r["status"] != "ok"]
    over = [f"{r['version']}/{r['notebook']}" for r in results if r["status"] == "ok" and not r["within"]]
    slowest = max(results, key=lambda r: r["wall_s"] / r["limit_s"])
    print(json.dumps({"benchmark": "notebook_times", "runs": len(results), "failed": failed, "over_limit": over,
                      "slowest_share_of_limit": f"{slowest['version']}/{slowest['notebook']}: "
                                                f"{slowest['wall_s']} of {slowest['limit_s']:g} s",
                      "total_wall_s": round(sum(r["wall_s"] for r in results), 1)}))
    if args.markdown:
        by = {(r["notebook"], r["version"]): r for r in results}
        for name in dict.fromkeys(r["notebook"] for r in results):
            cells = [f"{by[name, v]['wall_s']} / {by[name, v]['cpu_s']}" if (name, v) in by else "–" for v in VERSIONS]
            print(f"| {name} | {cells[0]} | {cells[1]} | {limit_for(name):g} s |")
    return 1 if failed or over else 0


if __name__ == "__main__":
    raise SystemExit(main())
