"""Grade submitted notebooks: ``workbook grade PATH... --out grades.csv``.

For each submission the grader

1. finds its solutions notebook by ``metadata.workbook.id`` (a renamed copy still grades; the file
   name's ``NN_topic`` prefix is the fallback);
2. puts back the full check cells from ``solutions/`` (hidden tests included) — whatever the student
   did to a check cell, including deleting it, is undone;
3. runs it in a fresh kernel, in a temporary folder, with per-cell and whole-notebook time limits;
4. reads each check cell's published result (:data:`helpers.quiz.RESULT_MIME`) and writes one CSV row.

With ``sandbox`` (``workbook grade`` turns it on where bubblewrap is installed) each submission runs
inside bubblewrap (:mod:`workbook.sandbox`); without it student code is protected against only by a
separate process, a temporary folder and time limits. Check cells protect themselves against the
easy tricks (names rebound in the notebook, a patched :mod:`helpers.quiz`), not against a determined
attacker with full access to the kernel.
"""

from __future__ import annotations

import copy
import csv
import multiprocessing as mp
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from helpers.quiz import RESULT_MIME
from workbook.build import repo_root

__all__ = ["Row", "grade", "grade_one", "prepare_submission", "find_submissions"]

QUIZ_TAG = re.compile(r"^quiz:(\w+)$")
POINTS_TAG = re.compile(r"^points:([0-9.]+)$")

# Runs first in a graded kernel (before any student code): keeps pristine builtins.
_GUARD_SETUP = """\
import builtins as _wb_builtins, sys as _wb_sys, types as _wb_types
_wb_sys.modules["_workbook_guard"] = _wb_types.SimpleNamespace(builtins=dict(vars(_wb_builtins)))
del _wb_builtins, _wb_sys, _wb_types
"""
# Runs at the top of every restored check cell: undo the student's shadowing and patching.
_GUARD_CHECK = """\
import sys as _wb_sys, builtins as _wb_builtins, importlib as _wb_importlib
vars(_wb_builtins).update(_wb_sys.modules["_workbook_guard"].builtins)
for _wb_name in [n for n in list(globals()) if not n.startswith("_") and hasattr(_wb_builtins, n)]:
    del globals()[_wb_name]
import helpers.quiz as _wb_quiz
_wb_importlib.reload(_wb_quiz)
_wb_quiz.GRADER_RUN = True
del _wb_sys, _wb_builtins, _wb_importlib, _wb_quiz
"""


@dataclass
class Check:
    """One graded question of a solutions notebook."""

    qid: str
    points: float
    cell: Any
    anchor: str | None  # id of the cell the check follows in the solution


@dataclass
class Row:
    """One line of the scores table."""

    file: str
    student: str = ""
    notebook: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    max: float = 0.0
    status: str = "ok"
    #: per exercise: the published result (see :meth:`helpers.quiz.Quiz.as_dict`), or None if it did not run
    results: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    points: dict[str, float] = field(default_factory=dict)

    @property
    def feedback(self) -> str:
        """One line per the CSV: which checks failed, per exercise."""
        return " | ".join(f"{qid}: {_brief(self.results.get(qid))}" for qid in self.scores)


# ------------------------------------------------------------------------------------------
# Preparing a submission
# ------------------------------------------------------------------------------------------
def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def quiz_checks(solution: nbformat.NotebookNode) -> list[Check]:
    """The graded questions of a solutions notebook, in order."""
    checks: list[Check] = []
    anchor = None
    for cell in solution.cells:
        qid = next((m.group(1) for t in _tags(cell) if (m := QUIZ_TAG.match(t))), None)
        if qid is None:
            anchor = cell.get("id")
            continue
        pts = next((float(m.group(1)) for t in _tags(cell) if (m := POINTS_TAG.match(t))), None)
        if pts is None:
            raise ValueError(f"check cell for {qid} has no 'points:N' tag")
        checks.append(Check(qid, pts, cell, anchor))
    return checks


def prepare_submission(submission: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook that is run: the student's cells with the solution's check cells put back."""
    checks = quiz_checks(solution)
    check_ids = {c.cell.get("id") for c in checks}
    cells = [copy.deepcopy(c) for c in submission.cells
             if not any(QUIZ_TAG.match(t) for t in _tags(c)) and c.get("id") not in check_ids]
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    positions = {c.get("id"): i for i, c in enumerate(cells)}
    inserts: dict[int, list[Any]] = {}
    for chk in checks:
        restored = copy.deepcopy(chk.cell)
        restored.source = _GUARD_CHECK + restored.source
        restored.outputs, restored.execution_count = [], None
        where = positions.get(chk.anchor, len(cells) - 1)
        inserts.setdefault(where, []).append(restored)
    out: list[Any] = [nbformat.v4.new_code_cell(_GUARD_SETUP, metadata={"tags": ["grader"]})]
    for i, cell in enumerate(cells):
        out.append(cell)
        out.extend(inserts.get(i, []))
    if -1 in inserts:
        out.extend(inserts[-1])
    nb = copy.deepcopy(submission)
    nb.cells = out
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


# ------------------------------------------------------------------------------------------
# Running one submission (in a worker process)
# ------------------------------------------------------------------------------------------
def _run(nb: nbformat.NotebookNode, cell_timeout: float, total_timeout: float, workdir: str) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    deadline = time.monotonic() + total_timeout

    def timeout_for(_cell: Any) -> int:
        return max(1, int(min(cell_timeout, deadline - time.monotonic())))

    client = NotebookClient(
        nb, timeout_func=timeout_for, allow_errors=True, interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeout", "evalue": "cell ran past its time limit", "traceback": []},
        kernel_name="python3", resources={"metadata": {"path": workdir}},
    )
    client.execute()
    return nb


def _worker(nb_json: str, cell_timeout: float, total_timeout: float, conn: Any) -> None:
    workdir = tempfile.mkdtemp(prefix="workbook-grade-")
    try:
        os.environ.setdefault("MPLBACKEND", "Agg")
        nb = _run(nbformat.reads(nb_json, as_version=4), cell_timeout, total_timeout, workdir)
        conn.send(("done", nbformat.writes(nb)))
    except Exception as exc:  # noqa: BLE001 - reported as the submission's status
        conn.send(("error", f"{type(exc).__name__}: {exc}".splitlines()[0][:200]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        conn.close()


def _brief(res: dict[str, Any] | None) -> str:
    if res is None:
        return "did not run"
    if res.get("status") == "not answered":
        return "not answered"
    checks = [r for r in res.get("results", []) if isinstance(r, dict)]
    failed = [f"❌ {r.get('name', '?')}" + (f" ({_short(r['message'])})" if r.get("message") else "")
              for r in checks if not r.get("passed")]
    return "; ".join(failed) if failed else f"✅ all {len(checks)} checks"


def _short(text: Any, n: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _scores_from(nb: nbformat.NotebookNode, checks: list[Check]) -> tuple[dict[str, float], list[str],
                                                                          dict[str, dict[str, Any] | None]]:
    scores = {c.qid: 0.0 for c in checks}
    found: dict[str, dict[str, Any] | None] = {c.qid: None for c in checks}
    notes: list[str] = []
    for cell in nb.cells:
        qid = next((m.group(1) for t in _tags(cell) if (m := QUIZ_TAG.match(t))), None)
        if qid not in scores:
            continue
        results = [o["data"][RESULT_MIME] for o in cell.get("outputs", [])
                   if o.get("output_type") in ("display_data", "execute_result") and RESULT_MIME in o.get("data", {})]
        if results:
            res = found[qid] = results[-1]
            pts = next(c.points for c in checks if c.qid == qid)
            scores[qid] = max(0.0, min(float(res.get("score", 0.0)), pts))
            if res.get("status") == "not answered":
                notes.append(f"{qid} not answered")
        else:
            notes.append(f"{qid} did not run")
    return scores, notes, found


def _status(nb: nbformat.NotebookNode, notes: list[str], n_questions: int) -> str:
    timeouts, errors = 0, []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                if out.get("ename") in ("CellTimeout", "KeyboardInterrupt"):
                    timeouts += 1
                else:
                    errors.append(f"{out.get('ename')} in cell {i}")
    if timeouts:
        return "timeout" + (f" ({'; '.join(notes)})" if notes else "")
    if errors:
        return f"error: {errors[0]}" + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else "")
    if n_questions and sum("not answered" in n for n in notes) == n_questions:
        return "not answered"
    return "ok" + (f" ({'; '.join(notes)})" if notes else "")


# ------------------------------------------------------------------------------------------
# Batch
# ------------------------------------------------------------------------------------------
def find_submissions(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given, and every ``*.ipynb`` below each folder (checkpoints skipped)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in f.parts))
        elif p.exists():
            found.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return found


def load_solutions(root: Path) -> dict[str, nbformat.NotebookNode]:
    """Solutions notebooks by id."""
    sols = {}
    for path in sorted((root / "solutions").glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        sols[nb.metadata.get("workbook", {}).get("id", path.stem)] = nb
    return sols


def _identify(path: Path, nb: nbformat.NotebookNode, solutions: dict[str, Any]) -> str | None:
    """The solution a submission belongs to: its ``metadata.workbook.id``, an earlier id of a renumbered
    notebook (the solution's ``metadata.workbook.aliases``), its file name, and last its ``NN`` prefix."""
    aliases = {alias: sid for sid, sol in solutions.items()
               for alias in sol.metadata.get("workbook", {}).get("aliases", [])}
    for name in (nb.metadata.get("workbook", {}).get("id"), path.stem):
        if name in solutions:
            return name
        if name in aliases:
            return aliases[name]
    m = re.match(r"(\d\d)", path.stem)
    if m:
        matches = [k for k in solutions if k.startswith(m.group(1))]
        if len(matches) == 1:
            return matches[0]
    return None


def _student(path: Path, nb: nbformat.NotebookNode) -> str:
    wb = nb.metadata.get("workbook", {})
    if wb.get("student"):
        return str(wb["student"])
    authors = nb.metadata.get("authors") or []
    if authors and isinstance(authors[0], dict) and authors[0].get("name"):
        return str(authors[0]["name"])
    return path.stem


def grade_one(path: Path, solutions: dict[str, nbformat.NotebookNode], *, cell_timeout: float = 300,
              total_timeout: float = 900, sandbox: Any = None) -> Row:
    """Grade one submission (runs it in a child process); never raises for a bad submission.

    ``sandbox``: a :class:`workbook.sandbox.Limits` to run it inside bubblewrap, ``None`` for a plain
    child process.
    """
    row = Row(file=str(path), student=path.stem)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # noqa: BLE001 - anything unreadable is "not a notebook"
        row.status = "not a notebook"
        return row
    row.student = _student(path, nb)
    nid = _identify(path, nb, solutions)
    if nid is None:
        row.status = "unknown notebook: no metadata.workbook.id matching a solution"
        return row
    row.notebook = nid
    checks = quiz_checks(solutions[nid])
    row.scores = {c.qid: 0.0 for c in checks}
    row.points = {c.qid: c.points for c in checks}
    row.max = sum(c.points for c in checks)
    if not checks:
        row.status = "no graded questions in this notebook"
        return row
    graded = prepare_submission(nb, solutions[nid])
    if sandbox is not None:
        from workbook import sandbox as sb

        kind, payload = sb.run(nbformat.writes(graded), cell_timeout, total_timeout, sandbox)
        if kind == "timeout":
            row.status = "timeout"
            return row
    else:
        kind, payload = _in_child_process(graded, cell_timeout, total_timeout)
        if kind in ("timeout", "died"):
            row.status = payload
            return row
    if kind == "error":
        row.status = f"error: {payload}"
        return row
    done = nbformat.reads(payload, as_version=4)
    row.scores, notes, row.results = _scores_from(done, checks)
    row.total = round(sum(row.scores.values()), 2)
    row.status = _status(done, notes, len(checks))
    return row


def _in_child_process(graded: nbformat.NotebookNode, cell_timeout: float, total_timeout: float) -> tuple[str, str]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(nbformat.writes(graded), cell_timeout, total_timeout, child))
    proc.start()
    child.close()
    outcome = None
    if parent.poll(total_timeout + 60):
        try:
            outcome = parent.recv()
        except EOFError:
            outcome = None
    if outcome is None:
        proc.kill()
        proc.join()
        return ("timeout", "timeout") if proc.exitcode in (None, -9) else \
            ("died", f"error: grader process died ({proc.exitcode})")
    proc.join()
    return outcome


def exercise_columns(solutions: dict[str, nbformat.NotebookNode]) -> list[str]:
    """One CSV column per exercise of every solutions notebook: ``<notebook id>:<exercise id>``."""
    return [f"{nid}:{c.qid}" for nid, nb in solutions.items() for c in quiz_checks(nb)]


_FIRST = ["file", "student", "notebook", "total", "max", "status"]


def _as_csv(row: Row, columns: list[str]) -> dict[str, str]:
    cells = {"file": row.file, "student": row.student, "notebook": row.notebook, "total": f"{row.total:g}",
             "max": f"{row.max:g}", "status": row.status, "feedback": row.feedback if row.results else ""}
    cells.update({f"{row.notebook}:{qid}": f"{v:g}" for qid, v in row.scores.items()})
    return {c: cells.get(c, "") for c in columns}


def report(row: Row) -> str:
    """A markdown report for one submission, to return to the student."""
    lines = [f"# {row.notebook or 'Submission'} — {row.student}", "",
             f"- file: `{Path(row.file).name}`", f"- total: **{row.total:g} / {row.max:g}**",
             f"- status: {row.status}", ""]
    for qid, score in row.scores.items():
        res = row.results.get(qid)
        lines += [f"## {qid.upper()}: {score:g} / {row.points.get(qid, 0):g}", ""]
        if res is None:
            lines.append("The check did not run (an earlier cell timed out or the notebook stopped).")
        elif res.get("status") == "not answered":
            lines.append(f"Not answered. {res.get('error', '')}".rstrip())
        for r in (res or {}).get("results", []):
            mark = "✅" if r.get("passed") else ("🟡" if r.get("fraction") else "❌")
            line = f"- {mark} {r.get('name', '?')}"
            if r.get("message"):
                line += f": {r['message']}"
            if not r.get("passed") and r.get("hint"):
                line += f" (hint: {r['hint']})"
            lines.append(line)
        lines.append("")
    return "\n".join(lines)


def _report_name(path: Path, base: Path) -> str:
    try:
        rel = path.resolve().relative_to(base)
    except ValueError:
        rel = Path(path.name)
    return "__".join(rel.with_suffix("").parts) + ".md"


def _old_rows(out: Path, solutions: dict[str, nbformat.NotebookNode]) -> list[dict[str, str]]:
    """Rows of an earlier run worth keeping: each has a column for every exercise of its notebook.

    Rows written under another header (e.g. the old ``q1, q2, …`` columns) or for a notebook whose
    exercises changed since are dropped, so they are graded again.
    """
    with out.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = set(reader.fieldnames or [])
        if not set(_FIRST) <= header:
            return []
        rows = list(reader)
    keep = []
    for r in rows:
        nid = r.get("notebook") or ""
        needed = {f"{nid}:{c.qid}" for c in quiz_checks(solutions[nid])} if nid in solutions else set()
        if nid and nid not in solutions:
            continue
        if needed <= header and "feedback" in header:
            keep.append(r)
    return keep


def grade(paths: Sequence[str | Path], out: str | Path, *, jobs: int | None = None, cell_timeout: float = 300,
          total_timeout: float = 900, root: Path | None = None, resume: bool = True,
          report_dir: str | Path | None = None, sandbox: Any = None, progress: Any = None) -> list[Row]:
    """Grade every submission under ``paths`` into the CSV ``out``; rows are written as each finishes.

    Columns: file, student, notebook, total, max, status, one ``<notebook id>:<exercise id>`` column per
    exercise of every solutions notebook (empty where a row's notebook lacks it), then ``feedback``
    (the failed checks, per exercise). With ``report_dir`` each graded submission also gets a markdown
    report there. With ``resume`` (the default) files already listed in ``out`` are skipped, so an
    interrupted run picks up where it stopped. ``sandbox``: see :func:`grade_one`.
    """
    from concurrent.futures import ThreadPoolExecutor, as_completed

    root = root or repo_root()
    solutions = load_solutions(root)
    columns = [*_FIRST, *exercise_columns(solutions), "feedback"]
    out = Path(out)
    old_rows = _old_rows(out, solutions) if resume and out.exists() else []
    done = {r["file"] for r in old_rows}
    found = find_submissions(paths)
    todo = [p for p in found if str(p) not in done]
    reports = Path(report_dir) if report_dir is not None else None
    if reports is not None:
        reports.mkdir(parents=True, exist_ok=True)
        base = Path(os.path.commonpath([p.resolve().parent for p in found])) if found else Path.cwd()
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for r in old_rows:  # keep earlier rows, re-mapped by column name
            writer.writerow({c: r.get(c) or "" for c in columns})
        fh.flush()
        rows: list[Row] = []
        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            futures = {pool.submit(grade_one, p, solutions, cell_timeout=cell_timeout,
                                   total_timeout=total_timeout, sandbox=sandbox): p for p in todo}
            for fut in as_completed(futures):
                try:
                    row = fut.result()
                except Exception as exc:  # noqa: BLE001 - one broken submission never stops the batch
                    row = Row(file=str(futures[fut]), student=futures[fut].stem, status=f"error: grader: {exc}")
                rows.append(row)
                writer.writerow(_as_csv(row, columns))
                fh.flush()
                if reports is not None:
                    (reports / _report_name(futures[fut], base)).write_text(report(row), encoding="utf-8")
                if progress is not None:
                    progress(row)
    return rows
