"""Shared fixtures for the unit tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


def grade_check_cell(notebook: str, qid: str, **answers):
    """Run the graded check cell of ``solutions/<notebook>`` tagged ``quiz:<qid>`` (hidden tests included) in
    a fresh namespace that holds ``answers`` (the names the exercise asks for), and return its
    :class:`helpers.quiz.Quiz`. ``notebook`` is the file's name, with or without ``.ipynb``."""
    import nbformat

    from helpers.quiz import Quiz

    name = notebook.removesuffix(".ipynb")
    nb = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    cells = [c for c in nb.cells if f"quiz:{qid}" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{name}: expected one check cell tagged quiz:{qid}, found {len(cells)}"
    namespace = {"__name__": "__main__", **answers}
    exec(compile(cells[0].source, f"{name}:{qid}", "exec"), namespace)
    quiz = namespace["quiz"]
    assert isinstance(quiz, Quiz)
    return quiz


def failed_checks(quiz) -> set[str]:
    """The names of the checks a :class:`helpers.quiz.Quiz` failed."""
    return {r.name for r in quiz.results if not r.passed}
