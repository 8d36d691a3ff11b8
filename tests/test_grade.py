"""workbook grade: generated submissions of 00_welcome get the scores and statuses they deserve."""

from __future__ import annotations

import csv
import shutil

import nbformat
import pytest

from workbook.cli import main as workbook
from workbook.grade import prepare_submission, quiz_checks

ANSWER = '''def discounted_return(rewards, gamma):
    g = 0.0
    for r in reversed(rewards):
        g = r + gamma * g
    return g
'''


def answer_index(nb):
    return next(i for i, c in enumerate(nb.cells) if "def discounted_return" in c.source)


def variant(lecture, tmp, name, answer=None, extra=None, drop_checks=False, metadata=None):
    nb = nbformat.read(str(lecture), as_version=4)
    i = answer_index(nb)
    if answer is not None:
        nb.cells[i].source = answer
    if extra is not None:
        nb.cells.insert(i + 1, nbformat.v4.new_code_cell(extra))
    if drop_checks:
        nb.cells = [c for c in nb.cells if not any(t.startswith("quiz:") for t in c.metadata.get("tags", []))]
    if metadata:
        nb.metadata["workbook"].update(metadata)
    path = tmp / f"{name}.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.fixture(scope="module")
def graded(root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("submissions")
    lecture = root / "lectures" / "00_welcome.ipynb"
    shutil.copy(lecture, tmp / "untouched.ipynb")
    variant(lecture, tmp, "raises", ANSWER, extra="raise RuntimeError('my experiment broke')")
    variant(lecture, tmp, "loops", "while True:\n    pass\n")
    variant(lecture, tmp, "hardcoded", "def discounted_return(rewards, gamma):\n"
            "    return 1.75 if gamma == 0.5 else float(sum(rewards))\n")
    (tmp / "broken.ipynb").write_text("{ this is not json", encoding="utf-8")
    renamed = variant(lecture, tmp, "renamed", ANSWER)
    renamed.rename(tmp / "my homework (final).ipynb")
    variant(lecture, tmp, "solved", ANSWER, metadata={"student": "Ada Lovelace"})
    # A cheater: deletes the check cell, patches the grader's helpers and shadows builtins.
    variant(lecture, tmp, "cheater", "def discounted_return(rewards, gamma):\n    return None\n",
            extra="import helpers.quiz\nhelpers.quiz.Quiz.earned = property(lambda self: self.points)\n"
                  "helpers.quiz.Quiz.status = 'ok'\nimport math\nmath.isclose = lambda *a, **k: True\n"
                  "def bool(x):\n    return True\n", drop_checks=True)
    out = tmp_path_factory.mktemp("out") / "grades.csv"
    code = workbook(["--root", str(root), "grade", str(tmp), "--out", str(out), "--jobs", "2",
                     "--timeout", "90", "--cell-timeout", "20", "--report-dir", str(out.parent / "reports"),
                     "--no-sandbox"])  # today's way; tests/test_sandbox.py grades the same cases sandboxed
    assert code == 0
    rows = {r["file"].split("/")[-1]: r for r in csv.DictReader(out.open())}
    return tmp, out, rows


Q1 = "00_welcome:q1"


def test_the_solution_gets_full_marks(graded):
    row = graded[2]["solved.ipynb"]
    assert (row[Q1], row["total"], row["max"], row["status"]) == ("2", "2", "2", "ok")
    assert row["feedback"] == "q1: ✅ all 5 checks"
    assert row["student"] == "Ada Lovelace" and row["notebook"] == "00_welcome"


def test_a_renamed_copy_still_grades(graded):
    row = graded[2]["my homework (final).ipynb"]
    assert row["total"] == "2" and row["notebook"] == "00_welcome"


def test_an_untouched_lecture_gets_zero_not_answered(graded):
    row = graded[2]["untouched.ipynb"]
    assert row["total"] == "0" and row["status"] == "not answered"
    assert row["feedback"] == "q1: not answered"


def test_a_submission_that_raises_is_reported_and_still_scored(graded):
    row = graded[2]["raises.ipynb"]
    assert row["status"].startswith("error: RuntimeError")
    assert row["total"] == "2"  # the exercise itself is right


def test_an_endless_loop_times_out(graded):
    row = graded[2]["loops.ipynb"]
    assert row["status"].startswith("timeout") and row["total"] == "0"


def test_hard_coding_the_visible_answer_fails_hidden_tests(graded):
    row = graded[2]["hardcoded.ipynb"]
    assert 0 < float(row["total"]) < 2 and row["status"] == "ok"
    # the instructor sees which (hidden) checks failed, in the CSV and in the student's report
    assert row["feedback"].startswith("q1: ❌ ") and "❌ later rewards count less" in row["feedback"]
    assert "three rewards" not in row["feedback"]  # it passed
    report = (graded[1].parent / "reports" / "hardcoded.md").read_text()
    assert "- ❌ later rewards count less" in report and "- ✅ three rewards" in report
    assert "Q1: " in report and "/ 2" in report


def test_one_column_per_exercise_named_by_notebook_and_exercise_ids(graded, root):
    header = graded[1].read_text().splitlines()[0].split(",")
    assert header[:6] == ["file", "student", "notebook", "total", "max", "status"] and header[-1] == "feedback"
    assert Q1 in header and all(":" in c for c in header[6:-1])
    assert len(set(header)) == len(header)
    assert graded[2]["broken.ipynb"][Q1] == ""  # no exercise ran: the cell stays empty


def test_a_file_that_is_not_json_is_not_a_notebook(graded):
    row = graded[2]["broken.ipynb"]
    assert row["status"] == "not a notebook" and row["total"] == "0"


def test_deleting_checks_and_patching_the_grader_gains_nothing(graded):
    row = graded[2]["cheater.ipynb"]
    assert row["total"] == "0", row


def test_grading_resumes_instead_of_starting_over(graded, root):
    tmp, out, rows = graded
    before = out.read_text()
    code = workbook(["--root", str(root), "grade", str(tmp), "--out", str(out), "--no-sandbox"])
    assert code == 0 and out.read_text() == before  # nothing left to grade


def test_rows_of_an_older_header_are_graded_again_and_others_remapped_by_name(root, tmp_path):
    sub = tmp_path / "subs"
    sub.mkdir()
    (sub / "broken.ipynb").write_text("{ not json", encoding="utf-8")
    (sub / "junk.ipynb").write_text("{ not json", encoding="utf-8")
    out = tmp_path / "grades.csv"
    out.write_text("file,student,notebook,q1,total,max,status\n"
                   f"{sub / 'broken.ipynb'},x,00_welcome,2,2,2,ok\n", encoding="utf-8")
    assert workbook(["--root", str(root), "grade", str(sub), "--out", str(out)]) == 0
    rows = {r["file"]: r for r in csv.DictReader(out.open())}
    assert rows[str(sub / "broken.ipynb")]["status"] == "not a notebook"  # regraded, not kept
    # a current-format file with its columns in another order is kept, re-mapped by name
    shuffled = ["status", "feedback", "file", "notebook", "student", "total", "max", Q1]
    with out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=shuffled)
        w.writeheader()
        w.writerow({"status": "kept", "file": str(sub / "broken.ipynb"), "notebook": "", "total": "0"})
    assert workbook(["--root", str(root), "grade", str(sub), "--out", str(out)]) == 0
    rows = {r["file"]: r for r in csv.DictReader(out.open())}
    assert rows[str(sub / "broken.ipynb")]["status"] == "kept"
    assert rows[str(sub / "junk.ipynb")]["status"] == "not a notebook"
    assert out.read_text().splitlines()[0].startswith("file,student,notebook,total,max,status,")


def test_prepare_restores_check_cells_after_their_anchor(root):
    sol = nbformat.read(str(root / "solutions" / "00_welcome.ipynb"), as_version=4)
    lec = nbformat.read(str(root / "lectures" / "00_welcome.ipynb"), as_version=4)
    lec.cells = [c for c in lec.cells if "quiz:q1" not in c.metadata.get("tags", [])]
    prepared = prepare_submission(lec, sol)
    i = answer_index(prepared)
    assert "quiz:q1" in prepared.cells[i + 1].metadata["tags"]
    assert "BEGIN HIDDEN TESTS" in prepared.cells[i + 1].source  # hidden tests are back
    assert [c.qid for c in quiz_checks(sol)] == ["q1"]


def test_missing_path_is_a_clear_error(root, tmp_path, capsys):
    assert workbook(["--root", str(root), "grade", str(tmp_path / "nope"), "--out", str(tmp_path / "g.csv")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_a_renumbered_notebook_is_found_by_its_old_id_and_file_name():
    from pathlib import Path

    from workbook.grade import _identify

    def nb(**wb):
        out = nbformat.v4.new_notebook()
        out.metadata["workbook"] = wb
        return out

    solutions = {"05_mdp_bellman": nb(id="05_mdp_bellman"),
                 "08_q_network": nb(id="08_q_network", aliases=["05_q_network"])}
    assert _identify(Path("x.ipynb"), nb(id="05_q_network"), solutions) == "08_q_network"  # old id
    assert _identify(Path("05_q_network.ipynb"), nb(), solutions) == "08_q_network"  # old file name
    assert _identify(Path("05_mine.ipynb"), nb(), solutions) == "05_mdp_bellman"  # number prefix, last
    assert _identify(Path("x.ipynb"), nb(id="99_none"), solutions) is None
