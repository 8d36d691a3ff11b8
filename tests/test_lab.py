"""`make lab` starts a JupyterLab server on the lectures that answers on its port."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_serves_the_lectures(root):
    port = free_port()
    token = "workbook-test"
    cmd = ["make", "-s", "lab", f"PORT={port}",
           f"LAB_ARGS=--no-browser --ip=127.0.0.1 --IdentityProvider.token={token}"]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=2) as r:
                    status = r.status, json.load(r)
                    break
            except OSError:
                time.sleep(0.5)
        assert status is not None, f"JupyterLab did not answer: {proc.stdout.read().decode(errors='replace')[-2000:] if proc.poll() is not None else 'still starting'}"
        code, listing = status
        names = {item["name"] for item in listing["content"]}
        assert code == 200 and "00_welcome.ipynb" in names  # serving lectures/
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
