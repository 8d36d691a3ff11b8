"""Notebook tooling: build lectures from solutions, check them, and run notebooks with parameters.

``solutions/NN_topic.ipynb`` is the only authored source. :func:`build` normalises it (no outputs,
the canonical setup cell, ``metadata.workbook.id``) and writes ``lectures/NN_topic.ipynb`` with every
marked region stripped:

* ``### BEGIN SOLUTION`` … ``### END SOLUTION`` in a code cell becomes ``# YOUR CODE HERE`` and ``...``
  (a placeholder that does not raise), in a markdown cell "_Your answer here_";
* ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` is removed.

:func:`check` reports stale lectures and anything that would leak a solution into a lecture.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

__all__ = [
    "MarkerError",
    "strip_solutions",
    "normalize_solution",
    "setup_cell_source",
    "build",
    "check",
    "inject_parameters",
    "execute",
    "save_metrics",
    "NotebookRun",
    "run_with_metrics",
    "repo_root",
]

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
CODE_PLACEHOLDER = ("# YOUR CODE HERE", "...")
MARKDOWN_PLACEHOLDER = "_Your answer here_"
SETUP_TAG = "setup"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"

# Packages Colab already ships; the setup cell installs only the rest of pyproject's dependencies.
_COLAB_HAS = {"torch", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "ipykernel", "tqdm",
              "nbformat", "nbclient", "imageio"}
DEFAULT_URL = "https://github.com/deep-q-workbook/deep-q-workbook"


class MarkerError(ValueError):
    """A solution notebook's markers are malformed (unbalanced, nested, or in the wrong cell)."""


# ------------------------------------------------------------------------------------------
# Stripping
# ------------------------------------------------------------------------------------------
def _strip_source(source: str, cell_type: str, where: str) -> str:
    out: list[str] = []
    mode: str | None = None  # None, "solution" or "hidden"
    for lineno, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        marker = next((m for m in MARKERS if stripped.startswith(m)), None)
        if marker is None:
            if mode is None:
                out.append(line)
            continue
        if marker in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            if mode is not None:
                raise MarkerError(f"{where}, line {lineno}: '{marker}' inside an open region; close it first")
            if marker == BEGIN_HIDDEN and cell_type != "code":
                raise MarkerError(f"{where}, line {lineno}: hidden tests belong in a code (check) cell")
            mode = "solution" if marker == BEGIN_SOLUTION else "hidden"
            if mode == "solution":
                indent = line[: len(line) - len(line.lstrip())]
                if cell_type == "code":
                    out.extend(indent + p for p in CODE_PLACEHOLDER)
                else:
                    out.append(indent + MARKDOWN_PLACEHOLDER)
        else:
            expected = END_SOLUTION if mode == "solution" else END_HIDDEN if mode == "hidden" else None
            if marker != expected:
                raise MarkerError(f"{where}, line {lineno}: '{marker}' without a matching BEGIN")
            mode = None
    if mode is not None:
        raise MarkerError(f"{where}: a '{mode}' region is never closed (missing END marker)")
    return "\n".join(out)


def strip_solutions(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return a copy of ``nb`` with solution regions replaced and hidden tests removed."""
    lecture = copy.deepcopy(nb)
    for i, cell in enumerate(lecture.cells):
        where = f"{name}, cell {i} ({cell.cell_type})"
        if cell.cell_type == "raw":
            if any(m in cell.source for m in MARKERS):
                raise MarkerError(f"{where}: markers are not allowed in raw cells")
            continue
        cell.source = _strip_source(cell.source, cell.cell_type, where)
    lecture.metadata.setdefault("workbook", {})["kind"] = "lecture"
    return lecture


# ------------------------------------------------------------------------------------------
# Normalising solutions
# ------------------------------------------------------------------------------------------
def repo_root(start: Path | None = None) -> Path:
    """The course repository's root (the folder holding ``pyproject.toml`` and ``solutions/``)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "solutions").is_dir():
            return folder
    pkg = Path(__file__).resolve().parent.parent
    if (pkg / "pyproject.toml").is_file():
        return pkg
    raise FileNotFoundError("Cannot find the course repository (a folder with pyproject.toml and solutions/)")


def _pyproject(root: Path) -> dict[str, Any]:
    import tomllib

    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))


def setup_cell_source(root: Path | None = None) -> str:
    """The canonical first code cell of every notebook, built from ``pyproject.toml``.

    The course repository's URL and the pins come from one place: ``pyproject.toml``.
    """
    url, deps = DEFAULT_URL, ["gymnasium==1.4.*"]
    try:
        project = _pyproject(root or repo_root())["project"]
        url = project.get("urls", {}).get("Repository", url)
        deps = project.get("dependencies", deps)
    except (FileNotFoundError, KeyError):
        pass
    colab: list[str] = []
    for spec in deps:
        name = re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0].lower()
        if name not in _COLAB_HAS:
            colab.append(re.sub(r"\[.*?\]", "", spec))  # Colab already has pygame for rendering
    pkgs = ", ".join(json.dumps(p) for p in colab)
    return (
        "# Setup (the same first cell in every notebook; written by `workbook build`).\n"
        "# On Colab: install what Colab lacks and the course's `helpers` package. Elsewhere: nothing to do.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        f'    subprocess.run([sys.executable, "-m", "pip", "install", "-q", {pkgs}], check=True)\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",\n'
        f'                    "git+{url}"], check=True)'
    )


def _cell_id(name: str, index: int, source: str) -> str:
    return hashlib.sha1(f"{name}:{index}:{source}".encode()).hexdigest()[:12]


def normalize_solution(nb: nbformat.NotebookNode, name: str, setup_source: str) -> nbformat.NotebookNode:
    """Clear outputs, set the setup cell and ids, and record ``metadata.workbook.id``."""
    nb = copy.deepcopy(nb)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    if not code_cells or SETUP_TAG not in code_cells[0].get("metadata", {}).get("tags", []):
        raise MarkerError(f"{name}: the first code cell must be the setup cell, tagged '{SETUP_TAG}'")
    if not any(PARAMETERS_TAG in c.get("metadata", {}).get("tags", []) for c in code_cells):
        raise MarkerError(f"{name}: no cell is tagged '{PARAMETERS_TAG}' (it holds SEED = 0 …)")
    code_cells[0].source = setup_source
    seen: set[str] = set()
    for i, cell in enumerate(nb.cells):
        if not cell.get("id") or cell["id"] in seen:
            cell["id"] = _cell_id(name, i, cell.source)
        seen.add(cell["id"])
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    wb = nb.metadata.setdefault("workbook", {})
    wb["id"] = name
    wb["kind"] = "solution"
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def _dumps(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb, version=4) + "\n"


# ------------------------------------------------------------------------------------------
# Build and check
# ------------------------------------------------------------------------------------------
@dataclass
class Problem:
    """One thing wrong with the built notebooks."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _solution_lines(nb: nbformat.NotebookNode, begin: str, end: str) -> set[str]:
    lines: set[str] = set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.split("\n"):
            s = line.strip()
            if s.startswith(begin):
                inside = True
            elif s.startswith(end):
                inside = False
            elif inside and len(s) >= 24 and not s.startswith("#"):
                lines.add(s)
    return lines


def _leaks(solution: nbformat.NotebookNode, lecture: nbformat.NotebookNode) -> list[str]:
    found: list[str] = []
    lecture_lines: set[str] = set()
    for i, cell in enumerate(lecture.cells):
        for marker in MARKERS:
            if marker in cell.source:
                found.append(f"cell {i} still contains '{marker}'")
        if cell.cell_type == "code" and cell.get("outputs"):
            found.append(f"cell {i} has outputs (lectures are committed without outputs)")
        lecture_lines.update(line.strip() for line in cell.source.split("\n"))
    secret = _solution_lines(solution, BEGIN_SOLUTION, END_SOLUTION)
    secret |= _solution_lines(solution, BEGIN_HIDDEN, END_HIDDEN)
    for line in sorted(secret & lecture_lines):
        found.append(f"solution or hidden-test line appears outside its region: {line!r} "
                     "(reword it, or keep it only inside the marked region)")
    return found


def _pairs(root: Path) -> Iterable[tuple[str, Path, Path]]:
    for sol in sorted((root / "solutions").glob("*.ipynb")):
        yield sol.stem, sol, root / "lectures" / sol.name


def build(root: Path | None = None, *, check_only: bool = False) -> list[Problem]:
    """Normalise every solution and (re)write its lecture; with ``check_only`` write nothing.

    Returns the problems found: stale files when checking, marker errors and leaks always.
    """
    root = root or repo_root()
    setup = setup_cell_source(root)
    problems: list[Problem] = []
    names = set()
    for name, sol_path, lec_path in _pairs(root):
        names.add(lec_path.name)
        try:
            raw = sol_path.read_text(encoding="utf-8")
            solution = normalize_solution(nbformat.reads(raw, as_version=4), name, setup)
            lecture = strip_solutions(solution, name)
        except (MarkerError, nbformat.reader.NotJSONError, json.JSONDecodeError) as exc:
            problems.append(Problem(sol_path, str(exc)))
            continue
        sol_text, lec_text = _dumps(solution), _dumps(lecture)
        for leak in _leaks(solution, lecture):
            problems.append(Problem(lec_path, leak))
        if check_only:
            if raw != sol_text:
                problems.append(Problem(sol_path, "not normalised (outputs, setup cell or metadata): run `workbook build`"))
            if not lec_path.exists():
                problems.append(Problem(lec_path, "missing: run `workbook build`"))
            elif lec_path.read_text(encoding="utf-8") != lec_text:
                problems.append(Problem(lec_path, "stale (differs from its solution): run `workbook build`"))
                try:
                    on_disk = nbformat.reads(lec_path.read_text(encoding="utf-8"), as_version=4)
                    problems.extend(Problem(lec_path, leak) for leak in _leaks(solution, on_disk))
                except Exception:  # noqa: BLE001 - a broken lecture is already reported as stale
                    pass
        else:
            if raw != sol_text:
                sol_path.write_text(sol_text, encoding="utf-8")
            lec_path.parent.mkdir(exist_ok=True)
            if not lec_path.exists() or lec_path.read_text(encoding="utf-8") != lec_text:
                lec_path.write_text(lec_text, encoding="utf-8")
    for lec in sorted((root / "lectures").glob("*.ipynb")):
        if lec.name not in names:
            problems.append(Problem(lec, "has no solutions/ twin: lectures are generated, delete it or add the solution"))
    return problems


def check(root: Path | None = None) -> list[Problem]:
    """Problems that ``workbook build --check`` reports (nothing is written)."""
    return build(root, check_only=True)


# ------------------------------------------------------------------------------------------
# Running notebooks
# ------------------------------------------------------------------------------------------
def inject_parameters(nb: nbformat.NotebookNode, parameters: dict[str, Any]) -> nbformat.NotebookNode:
    """Insert a cell assigning ``parameters`` right after the cell tagged ``parameters``."""
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


def execute(path: str | Path | nbformat.NotebookNode, parameters: dict[str, Any] | None = None,
            timeout: float = 600, cwd: str | Path | None = None,
            kernel_name: str = "python3") -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel and return it with outputs.

    Parameters
    ----------
    path:
        The notebook file (or an already-read notebook).
    parameters:
        Values injected after the cell tagged ``parameters`` (papermill's convention).
    timeout:
        Seconds any single cell may run.
    cwd:
        Working folder of the kernel (default: the notebook's folder).

    Raises ``nbclient.exceptions.CellExecutionError`` when a cell fails.
    """
    from nbclient import NotebookClient

    if isinstance(path, nbformat.NotebookNode):
        nb, folder = path, Path.cwd()
    else:
        nb, folder = nbformat.read(str(path), as_version=4), Path(path).resolve().parent
    nb = inject_parameters(nb, parameters or {})
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(cwd or folder)}})
    client.execute()
    return nb


@dataclass
class NotebookRun:
    """What :func:`run_with_metrics` reports: the notebook's metrics, its run time, and any failure."""

    metrics: dict[str, Any]
    seconds: float
    error: str | None = None


def run_with_metrics(path: str | Path, parameters: dict[str, Any] | None = None, *,
                     timeout: float = 600) -> NotebookRun:
    """Run a notebook as a benchmark does: ``METRICS_PATH`` injected, in a temporary folder.

    The notebook writes its figures with :func:`save_metrics`; they are read back even when a later
    cell fails (a failed assertion is reported in ``error``, never raised), so one bad seed does not
    stop a benchmark. ``seconds`` is the wall time of the whole notebook, kernel start included.
    """
    import tempfile
    import time

    with tempfile.TemporaryDirectory(prefix="workbook-bench-") as tmp:
        metrics_path = Path(tmp) / "metrics.json"
        error = None
        start = time.perf_counter()
        try:
            execute(path, parameters={**(parameters or {}), "METRICS_PATH": str(metrics_path)},
                    timeout=timeout, cwd=tmp)
        except Exception as exc:  # noqa: BLE001 - reported, the benchmark goes on
            lines = str(exc).strip().splitlines()
            error = f"{type(exc).__name__}: {lines[-1][:300] if lines else ''}"
        seconds = time.perf_counter() - start
        metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.exists() else {}
    return NotebookRun(metrics, seconds, error)


def save_metrics(path: str | Path | None, **metrics: Any) -> None:
    """Write ``metrics`` as JSON to ``path`` (does nothing when ``path`` is ``None``)."""
    if path is None:
        return
    Path(path).write_text(json.dumps(metrics, indent=1, default=_jsonable), encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot save {type(value).__name__} as JSON")
