"""workbook grade --sandbox: hostile submissions of 00_welcome gain nothing, leave nothing, reach nothing."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import threading
import uuid
from pathlib import Path

import pytest
from test_grade import ANSWER, variant

from workbook import sandbox
from workbook.cli import main as workbook

Q1 = "00_welcome:q1"
TOKEN = uuid.uuid4().hex[:8]
MARK = "3210"  # every process a hostile submission leaves runs `sleep 3210N`

needs_bwrap = pytest.mark.skipif(not sandbox.available()[0], reason=f"{sandbox.available()[1]}: "
                                 "apt-get install bubblewrap (as root) to run the sandbox tests")


def leftovers() -> list[str]:
    """Processes that a hostile submission left: our `sleep` markers, or a uid of this process's sandboxes
    (other test processes grade at the same time under their own uid range)."""
    ours = range(sandbox._UID_BASE, sandbox._UID_BASE + 1000)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            uid = int(Path(f"/proc/{entry}/status").read_text().split("\nUid:")[1].split()[0])
        except (OSError, IndexError, ValueError):
            continue
        if f"sleep {MARK}" in cmd or uid in ours:
            found.append(f"{entry} (uid {uid}): {cmd}")
    return found


@pytest.fixture(scope="module")
def listener():
    """A local TCP server; counts the connections it gets."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(0.2)
    got: list[str] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, addr = srv.accept()
                got.append(str(addr))
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1], got
    stop.set()
    thread.join()
    srv.close()


@pytest.fixture(scope="module")
def graded(root, tmp_path_factory, listener):
    if not sandbox.available()[0]:
        pytest.skip(f"{sandbox.available()[1]}: apt-get install bubblewrap (as root) to run the sandbox tests")
    port, _ = listener
    outside = [Path.home() / f"pwned-{TOKEN}", root / f"pwned-{TOKEN}", Path("/tmp") / f"pwned-{TOKEN}"]
    tmp = tmp_path_factory.mktemp("hostile")
    lecture = root / "lectures" / "00_welcome.ipynb"
    # the cases of test_grade.py
    shutil.copy(lecture, tmp / "untouched.ipynb")
    variant(lecture, tmp, "solved", ANSWER)
    variant(lecture, tmp, "raises", ANSWER, extra="raise RuntimeError('my experiment broke')")
    variant(lecture, tmp, "loops", "while True:\n    pass\n")
    variant(lecture, tmp, "hardcoded", "def discounted_return(rewards, gamma):\n"
            "    return 1.75 if gamma == 0.5 else float(sum(rewards))\n")
    variant(lecture, tmp, "cheater", "def discounted_return(rewards, gamma):\n    return None\n",
            extra="import helpers.quiz\nhelpers.quiz.Quiz.earned = property(lambda self: self.points)\n"
                  "def bool(x):\n    return True\n", drop_checks=True)
    # new hostile ones: each otherwise a right answer, so it would get full marks
    variant(lecture, tmp, "lingers", ANSWER, extra=(
        "import subprocess\nsubprocess.Popen(['sleep', '32101'], start_new_session=True)\n"))
    variant(lecture, tmp, "double_fork", ANSWER, extra=(
        "import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        os.execvp('sleep', ['sleep', '32102'])\n    os._exit(0)\n"))
    writes = "".join(f"try:\n    open({str(p)!r}, 'w').write('pwned')\nexcept OSError as e:\n    print(e)\n"
                     for p in outside)
    variant(lecture, tmp, "writes", ANSWER, extra="import os\nopen(os.path.expanduser('~/pwned'), 'w').close()\n"
            + writes)
    variant(lecture, tmp, "connects", ANSWER, extra=(
        f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3).send(b'hi')\n"
        "except OSError as e:\n    print(e)\n"))
    variant(lecture, tmp, "burst", ANSWER, extra=(
        "import subprocess\nkids = [subprocess.Popen(['sleep', '32103']) for _ in range(200)]\n"))
    out = tmp_path_factory.mktemp("out") / "grades.csv"
    try:
        code = workbook(["--root", str(root), "grade", str(tmp), "--out", str(out), "--jobs", "2",
                         "--timeout", "60", "--cell-timeout", "15", "--sandbox"])
        rows = {r["file"].split("/")[-1].removesuffix(".ipynb"): r for r in csv.DictReader(out.open())}
        yield code, rows, outside, leftovers()
    finally:
        for p in outside:
            p.unlink(missing_ok=True)


@needs_bwrap
def test_the_batch_completes_and_honest_work_gets_full_marks(graded):
    code, rows, *_ = graded
    assert code == 0 and len(rows) == 11
    assert (rows["solved"][Q1], rows["solved"]["status"]) == ("2", "ok")


@needs_bwrap
def test_the_hostile_cases_of_test_grade_give_the_same_rows(graded):
    rows = graded[1]
    assert rows["untouched"]["total"] == "0" and rows["untouched"]["status"] == "not answered"
    assert rows["raises"]["status"].startswith("error: RuntimeError") and rows["raises"]["total"] == "2"
    assert rows["loops"]["status"].startswith("timeout") and rows["loops"]["total"] == "0"
    assert 0 < float(rows["hardcoded"]["total"]) < 2 and "❌" in rows["hardcoded"]["feedback"]
    assert rows["cheater"]["total"] == "0"


@needs_bwrap
@pytest.mark.parametrize("name", ["lingers", "double_fork", "writes", "connects", "burst"])
def test_hostile_code_gains_nothing_and_loses_nothing(graded, name):
    row = graded[1][name]
    assert (row["total"], row["status"]) == ("2", "ok"), row


@needs_bwrap
def test_no_process_of_a_submission_survives_the_batch(graded):
    assert graded[3] == []


@needs_bwrap
def test_nothing_is_written_outside_the_submissions_temporary_folder(graded):
    assert [p for p in graded[2] if p.exists()] == []


@needs_bwrap
def test_the_sandbox_has_no_network(graded, listener):
    assert listener[1] == []


def test_without_bubblewrap_grading_warns_once_and_runs_as_today(root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "available", lambda: (False, "bubblewrap (bwrap) is not installed"))
    (tmp_path / "broken.ipynb").write_text("{ not json", encoding="utf-8")
    args = ["--root", str(root), "grade", str(tmp_path), "--out", str(tmp_path / "g.csv")]
    assert workbook(args) == 0
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1 and "apt-get install bubblewrap" in err and "UNSANDBOXED" in err
    assert workbook([*args, "--restart", "--sandbox"]) == 2  # asked for explicitly: refuse
    assert "apt-get install bubblewrap" in capsys.readouterr().err
    assert workbook([*args, "--restart", "--no-sandbox"]) == 0
    out = capsys.readouterr()
    assert "WARNING" not in out.err and out.out.startswith("workbook grade: sandbox off")
