"""Run a notebook with injected parameters and read figures out of it, as the benchmarks do.

A benchmark never asks a notebook to cooperate: the lesson holds no metrics code. The values a
benchmark wants are named here as Python expressions over the notebook's own variables
(``{"steps": "result.solved_at"}``); :func:`run_with_metrics` appends one cell the student never
sees, which evaluates them after the lesson has run and hands them back as JSON.
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from workbook.build import PARAMETERS_TAG

__all__ = ["inject_parameters", "execute", "NotebookRun", "run_with_metrics", "first_error"]

INJECTED_TAG = "injected-parameters"
COLLECT_TAG = "collect-metrics"
_COLLECT_MIME = "application/vnd.deepq.metrics+json"

# The appended cell: evaluate each expression on its own (one missing name costs one value, not all),
# turn arrays and tensors into plain JSON, and publish the result in the cell's own output.
_COLLECT_SOURCE = """\
def _wb_collect(expressions):
    import math

    def plain(v):
        if hasattr(v, "tolist"):
            v = v.tolist()
        elif hasattr(v, "item"):
            v = v.item()
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        return repr(v)

    out = {}
    for key, expression in expressions.items():
        try:
            out[key] = plain(eval(expression, globals()))
        except Exception:
            out[key] = None
    return out


from IPython.display import display as _wb_display

_wb_display({"text/plain": "metrics collected", %(mime)r: _wb_collect(%(expressions)r)}, raw=True)
"""


def inject_parameters(nb: nbformat.NotebookNode, parameters: Mapping[str, Any]) -> nbformat.NotebookNode:
    """Insert a cell assigning ``parameters`` right after the cell tagged ``parameters`` (papermill's rule)."""
    nb = copy.deepcopy(nb)
    if not parameters:
        return nb
    for name in parameters:
        if not str(name).isidentifier():
            raise ValueError(f"parameter name {name!r} is not a Python identifier")
    lines = ["# Injected parameters"] + [f"{k} = {v!r}" for k, v in parameters.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": [INJECTED_TAG]})
    for i, c in enumerate(nb.cells):
        if PARAMETERS_TAG in c.get("metadata", {}).get("tags", []):
            nb.cells.insert(i + 1, cell)
            return nb
    raise ValueError("the notebook has no cell tagged 'parameters' to inject values after")


def execute(path: str | Path | nbformat.NotebookNode, parameters: Mapping[str, Any] | None = None,
            timeout: float = 600, cwd: str | Path | None = None, *, allow_errors: bool = False,
            kernel_name: str = "python3") -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel and return it with outputs.

    Parameters
    ----------
    path:
        The notebook file (or an already-read notebook).
    parameters:
        Values injected after the cell tagged ``parameters``.
    timeout:
        Seconds any single cell may run.
    cwd:
        Working folder of the kernel (default: the notebook's folder).
    allow_errors:
        Keep going after a failing cell (its error stays in its outputs; see :func:`first_error`).

    Without ``allow_errors``, raises ``nbclient.exceptions.CellExecutionError`` when a cell fails.
    """
    from nbclient import NotebookClient

    if isinstance(path, nbformat.NotebookNode):
        nb, folder = path, Path.cwd()
    else:
        nb, folder = nbformat.read(str(path), as_version=4), Path(path).resolve().parent
    nb = inject_parameters(nb, parameters or {})
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=allow_errors,
                            resources={"metadata": {"path": str(cwd or folder)}})
    client.execute()
    return nb


def first_error(nb: nbformat.NotebookNode) -> str | None:
    """``"AssertionError: …"`` for the first failing cell of an executed notebook, or ``None``."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                value = str(out.get("evalue", "")).strip().splitlines()
                return f"{out.get('ename')} in cell {i}: {value[-1][:300] if value else ''}".rstrip(": ")
    return None


@dataclass
class NotebookRun:
    """What :func:`run_with_metrics` reports: the collected values, the run time, and any failure."""

    metrics: dict[str, Any]
    seconds: float
    error: str | None = None


def run_with_metrics(path: str | Path, parameters: Mapping[str, Any] | None = None, *,
                     collect: Mapping[str, str], timeout: float = 600) -> NotebookRun:
    """Run a notebook as a benchmark does and read named values out of it.

    Parameters
    ----------
    path:
        The notebook (a solutions notebook).
    parameters:
        Values injected after its ``parameters`` cell, e.g. ``{"SEED": 3}``.
    collect:
        ``{"name": "python expression"}`` evaluated in the notebook's namespace after its last cell;
        a value whose expression fails (the name was never defined) comes back as ``None``.
    timeout:
        Seconds any single cell may run.

    The notebook runs in a temporary folder and keeps going past a failing cell, so the values are
    read even when an assertion fails; that failure is reported in ``error``, never raised.
    ``seconds`` is the wall time of the whole notebook, kernel start included.
    """
    nb = nbformat.read(str(path), as_version=4)
    source = _COLLECT_SOURCE % {"mime": _COLLECT_MIME, "expressions": dict(collect)}
    nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": [COLLECT_TAG]}))
    with tempfile.TemporaryDirectory(prefix="workbook-bench-") as tmp:
        start = time.perf_counter()
        error = None
        try:
            done = execute(nb, parameters, timeout=timeout, cwd=tmp, allow_errors=True)
        except Exception as exc:  # noqa: BLE001 - a dead kernel or a timeout: reported, the benchmark goes on
            lines = str(exc).strip().splitlines()
            return NotebookRun({}, time.perf_counter() - start, f"{type(exc).__name__}: {lines[-1][:300] if lines else ''}")
        seconds = time.perf_counter() - start
    error = first_error(nbformat.from_dict({**done, "cells": done.cells[:-1]}))
    metrics: dict[str, Any] = {}
    for out in done.cells[-1].get("outputs", []):
        if _COLLECT_MIME in out.get("data", {}):
            metrics = json.loads(json.dumps(out["data"][_COLLECT_MIME]))
    return NotebookRun(metrics, seconds, error)
