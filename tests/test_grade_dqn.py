"""workbook grade on notebook 11 (DQN): the full solution gets full marks; a submission that masks the
bootstrap with ``done = terminated or truncated`` (in ``td_targets`` and in the ring buffer) loses points,
and the feedback names the failing checks."""

from __future__ import annotations

import csv

import nbformat
import pytest

from workbook.cli import main as workbook

#: The classic bug: the bootstrap masked with done, in the TD target ...
WRONG_TD = '''def td_targets(rewards, next_q, terminated, truncated, gamma):
    done = torch.maximum(terminated, truncated)
    return rewards + gamma * (1.0 - done) * next_q.max(dim=1).values
'''
#: ... and in what the buffer stores.
WRONG_PUSH = ("self.next_obs[i], self.terminated[i] = next_obs, terminated  # not `done`: truncation bootstraps",
              "self.next_obs[i], self.terminated[i] = next_obs, terminated or truncated")


def submission(root, tmp, name, wrong_mask=False):
    """The lecture with every answer cell replaced by the solution's (matched by cell id)."""
    lecture = nbformat.read(str(root / "lectures" / "11_dqn.ipynb"), as_version=4)
    solution = {c.get("id"): c for c in nbformat.read(str(root / "solutions" / "11_dqn.ipynb"), as_version=4).cells}
    answered = 0
    for cell in lecture.cells:
        if cell.cell_type == "code" and "# YOUR CODE HERE" in cell.source:
            src = solution[cell.get("id")].source
            src = "\n".join(line for line in src.split("\n") if "### " not in line)  # drop the markers
            if wrong_mask and "def td_targets" in src:
                src = WRONG_TD
            if wrong_mask and WRONG_PUSH[0] in src:
                src = src.replace(*WRONG_PUSH)
            cell.source = src
            answered += 1
    assert answered == 5  # q1 td_targets, q2 RingBuffer, q4 update_target, q3 epsilon_schedule, q5 dqn_loop
    path = tmp / f"{name}.ipynb"
    nbformat.write(lecture, str(path))
    return path


@pytest.fixture(scope="module")
def graded(root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dqn_submissions")
    submission(root, tmp, "solved")
    submission(root, tmp, "done_mask", wrong_mask=True)
    out = tmp_path_factory.mktemp("dqn_out") / "grades.csv"
    code = workbook(["--root", str(root), "grade", str(tmp), "--out", str(out), "--jobs", "2",
                     "--timeout", "240", "--cell-timeout", "120", "--no-sandbox"])
    assert code == 0
    return {r["file"].split("/")[-1]: r for r in csv.DictReader(out.open())}


def test_the_solution_gets_full_marks(graded):
    row = graded["solved.ipynb"]
    assert row["status"] == "ok" and row["notebook"] == "11_dqn"
    assert row["total"] == row["max"] == "14", row["feedback"]
    assert "❌" not in row["feedback"]


def test_the_done_mask_loses_points_and_the_feedback_names_the_checks(graded):
    row = graded["done_mask.ipynb"]
    assert float(row["total"]) < float(row["max"]) == 14.0, row["feedback"]
    assert float(row["11_dqn:q1"]) < 3 and float(row["11_dqn:q2"]) < 3
    assert "truncation: still bootstrap" in row["feedback"]
    assert "a truncated step is stored with terminated = 0" in row["feedback"]
    assert row["11_dqn:q3"] == "2" and row["11_dqn:q4"] == "2"  # the other exercises are untouched
