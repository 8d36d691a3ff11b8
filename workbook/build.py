"""Build lectures from solutions and check them (``workbook build [--check]``).

``solutions/NN_topic.ipynb`` is the only authored source. :func:`build` normalises it (no outputs,
the canonical setup cell, ``metadata.workbook.id``) and writes ``lectures/NN_topic.ipynb`` with every
marked region stripped:

* ``### BEGIN SOLUTION`` … ``### END SOLUTION`` in a code cell becomes ``# YOUR CODE HERE`` and ``...``
  (``pass`` at the top level of a cell, where ``...`` would echo ``Ellipsis``): a placeholder that
  does not raise; in a markdown cell it becomes "_Your answer here_";
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
    "repo_root",
]

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
CODE_PLACEHOLDER = ("# YOUR CODE HERE", "...")
TOP_LEVEL_PLACEHOLDER = ("# YOUR CODE HERE", "pass")
MARKDOWN_PLACEHOLDER = "_Your answer here_"
SETUP_TAG = "setup"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"

# Packages Colab already ships; the setup cell installs only the rest of pyproject's dependencies.
# Colab ships opencv-python (the same cv2 module as opencv-python-headless): installing the headless wheel
# on top of it would leave two copies of cv2 fighting over one folder, so the setup cell skips it.
_COLAB_HAS = {"torch", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "ipykernel", "tqdm",
              "nbformat", "nbclient", "imageio", "opencv-python-headless"}
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
                    # At the top level a bare `...` would echo "Ellipsis" under the cell: use `pass`.
                    placeholder = CODE_PLACEHOLDER if indent else TOP_LEVEL_PLACEHOLDER
                    out.extend(indent + p for p in placeholder)
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
