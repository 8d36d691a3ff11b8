"""Run one submission inside bubblewrap (``bwrap``): ``workbook grade --sandbox``.

The parent (:func:`run`) writes the prepared notebook into a fresh temporary folder and starts::

    bwrap --ro-bind / / … --bind TMP TMP --unshare-net --unshare-pid --die-with-parent \\
        python -m workbook.sandbox TMP/in.ipynb TMP/out.ipynb …

Inside, :func:`main` drops root (a fresh unprivileged uid per submission, so the process limit
binds), sets its memory, process and file-size limits, runs the notebook with nbclient (the kernel
starts inside the sandbox too), kills every other process of the sandbox and only then writes the
executed notebook back. The file system is read-only except that folder, a private ``/tmp`` and a
private home; there is no network; when the worker exits or is killed, its PID namespace and every
process in it go with it. It is not a virtual machine: kernel exploits are out of scope.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "available", "run", "INSTALL_HINT"]

INSTALL_HINT = "install bubblewrap: `sudo apt-get install bubblewrap` (Debian/Ubuntu) or `dnf install bubblewrap`"

# As root the sandbox runs as a fresh uid from here on (no /etc/passwd entry needed): root ignores
# RLIMIT_NPROC, and one uid per submission keeps parallel submissions from sharing a process budget.
_UID_BASE = 1_500_000_000 + (os.getpid() % 100_000) * 1000
_uids = itertools.count()
_uid_lock = threading.Lock()


@dataclass(frozen=True)
class Limits:
    """Per-submission limits inside the sandbox."""

    memory_mb: int = 4096  #: address space of each process (RLIMIT_AS)
    processes: int = 512  #: processes and threads of the submission (RLIMIT_NPROC)
    file_mb: int = 1024  #: largest file it may write (RLIMIT_FSIZE)


@functools.lru_cache(maxsize=1)
def available() -> tuple[bool, str]:
    """Whether bubblewrap is installed and can start a sandbox here, and why not."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False, "bubblewrap (bwrap) is not installed"
    probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-pid",
                            "--unshare-net", "--die-with-parent", "--", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return False, f"bwrap cannot create a sandbox here: {probe.stderr.strip()[:200]}"
    return True, bwrap


def _readonly_needs() -> list[str]:
    """Folders the worker must see (interpreter, venv, course packages), outermost first."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent),
             str(Path(__file__).resolve().parent.parent)}
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    needs: list[str] = []
    for p in sorted({os.path.realpath(p) for p in paths if os.path.exists(p)}, key=len):
        if not any(p == n or p.startswith(n + os.sep) for n in needs):
            needs.append(p)
    return needs


def _command(bwrap: str, tmp: str, uid: int | None, cell_timeout: float, total_timeout: float,
             limits: Limits) -> list[str]:
    cmd = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    homes = {os.path.realpath(h) for h in (os.path.expanduser("~"), "/root") if os.path.isdir(h)}
    # A private, empty /tmp and home: the grader's own files are out of sight …
    for private, perms in [(os.path.realpath("/tmp"), "1777")] + [(home, "0755") for home in sorted(homes)]:
        cmd += ["--perms", perms, "--tmpfs", private]
        made = set()
        for need in _readonly_needs():  # … except what the worker needs (a venv under $HOME, a checkout in /tmp)
            if need.startswith(private + os.sep):
                parents = [str(p) for p in reversed(Path(need).parents) if str(p).startswith(private + os.sep)]
                for d in parents:  # traversable by the unprivileged uid
                    if d not in made:
                        made.add(d)
                        cmd += ["--perms", "0755", "--dir", d]
                cmd += ["--ro-bind", need, need]
    cmd += ["--bind", tmp, tmp, "--chdir", tmp, "--unshare-net", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--setenv", "HOME", f"{tmp}/home", "--setenv", "TMPDIR", "/tmp", "--setenv", "MPLBACKEND", "Agg",
            "--", sys.executable, "-m", "workbook.sandbox", f"{tmp}/in.ipynb", f"{tmp}/out.json",
            str(cell_timeout), str(total_timeout), str(limits.memory_mb), str(limits.processes),
            str(limits.file_mb), str(-1 if uid is None else uid)]
    return cmd


def run(nb_json: str, cell_timeout: float, total_timeout: float, limits: Limits = Limits()) -> tuple[str, str]:
    """Execute a prepared notebook in a sandbox: ``("done", notebook json)`` or ``("error"/"timeout", why)``."""
    ok, bwrap = available()
    if not ok:
        raise RuntimeError(f"{bwrap}; {INSTALL_HINT}")
    uid = None
    if os.geteuid() == 0:
        with _uid_lock:
            uid = _UID_BASE + next(_uids) % 1000
    tmp = tempfile.mkdtemp(prefix="workbook-sandbox-")
    try:
        Path(tmp, "in.ipynb").write_text(nb_json, encoding="utf-8")
        os.mkdir(Path(tmp, "home"))
        if uid is not None:
            for p in (tmp, f"{tmp}/home", f"{tmp}/in.ipynb"):
                os.chown(p, uid, uid)
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(_command(bwrap, tmp, uid, cell_timeout, total_timeout, limits),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)
            try:
                code = proc.wait(timeout=total_timeout + 60)
            except subprocess.TimeoutExpired:
                proc.kill()  # bwrap's child dies with it, and with that child the whole PID namespace
                proc.wait()
                return "timeout", "the sandbox ran past its time limit"
            finally:
                if uid is not None:
                    _reap(uid)
            err.seek(0)
            tail = err.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
        result = _read_result(Path(tmp, "out.json"))
        if result is None:
            why = tail[-1] if tail else f"exit code {code}"
            return "error", f"sandboxed worker died ({why})"[:200]
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:  # the real uid: /proc/PID itself belongs to root once a process has changed its uid
                status = Path(f"/proc/{entry}/status").read_text()
                if int(status.split("\nUid:")[1].split()[0]) == uid:
                    pids.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def _reap(uid: int, seconds: float = 10.0) -> None:
    """Return only once no process of the submission's uid is left: the PID namespace dies with bwrap,
    but its processes can still be on their way out for a moment; stragglers get SIGKILL."""
    deadline = time.monotonic() + seconds
    while (pids := _processes_of(uid)) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)


def _read_result(path: Path) -> tuple[str, str] | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
            return str(data["kind"]), str(data["payload"])
        except (ValueError, KeyError, TypeError):
            return None


# ------------------------------------------------------------------------------------------
# Inside the sandbox
# ------------------------------------------------------------------------------------------
def _limit(uid: int, memory_mb: int, processes: int, file_mb: int) -> None:
    import resource

    if uid >= 0 and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # drops every capability: the read-only mounts stay read-only
    for what, value in ((resource.RLIMIT_AS, memory_mb << 20), (resource.RLIMIT_NPROC, processes),
                        (resource.RLIMIT_FSIZE, file_mb << 20)):
        resource.setrlimit(what, (value, value))


def _kill_the_rest() -> None:
    """Kill every other process of this sandbox (what the student left running)."""
    try:
        if Path("/proc/1/comm").read_text().strip() != "bwrap":
            return  # not in our own PID namespace: never signal anything outside it
    except OSError:
        return
    for _ in range(3):  # a second pass catches children forked during the first
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in (1, os.getpid()):
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except OSError:
                    pass


def main(argv: list[str]) -> int:
    """``python -m workbook.sandbox IN OUT CELL_TIMEOUT TOTAL_TIMEOUT MEMORY_MB PROCESSES FILE_MB UID``."""
    src, dst, cell_timeout, total_timeout = argv[0], argv[1], float(argv[2]), float(argv[3])
    memory_mb, processes, file_mb, uid = map(int, argv[4:8])
    _limit(uid, memory_mb, processes, file_mb)
    try:
        import nbformat

        from workbook.grade import _run

        workdir = tempfile.mkdtemp(prefix="work-", dir=os.path.dirname(src))
        nb = _run(nbformat.read(src, as_version=4), cell_timeout, total_timeout, workdir)
        result = {"kind": "done", "payload": nbformat.writes(nb)}
    except Exception as exc:  # noqa: BLE001 - reported as the submission's status
        result = {"kind": "error", "payload": f"{type(exc).__name__}: {exc}".splitlines()[0][:200]}
    _kill_the_rest()
    part = f"{dst}.{os.getpid()}.part"
    with open(part, "x", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(part, dst)  # replaces whatever the student put at dst, links included
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
