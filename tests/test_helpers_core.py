"""helpers: seeding, device choice, environment registration, no notebook tooling imported."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import helpers


def draw():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_same_seed_same_numbers():
    helpers.seed_everything(7)
    a = draw()
    helpers.seed_everything(7)
    assert draw() == a
    helpers.seed_everything(8)
    assert draw() != a


def test_seed_sets_one_torch_thread_by_default():
    before = torch.get_num_threads()
    helpers.seed_everything(0)
    assert torch.get_num_threads() == 1
    helpers.seed_everything(0, threads=before)


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)])
def test_bad_seed_is_rejected(bad, error):
    with pytest.raises(error, match="seed must be a non-negative integer"):
        helpers.seed_everything(bad)


def test_device_falls_back_to_cpu_here():
    assert helpers.device().type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        assert helpers.device().type in {"cpu", "mps"}


def test_course_environments_are_registered():
    assert "helpers/GridWorld-v0" in gym.registry
    assert "helpers/MovingObstacles-v0" in gym.registry


def test_helpers_never_imports_notebook_tooling():
    """The student library works without the instructor's tooling: no module of it pulls in
    nbformat, nbclient or the ``workbook`` package (checked in a fresh interpreter)."""
    modules = sorted(
        f"helpers.{path.stem}" for path in Path(helpers.__file__).parent.glob("*.py") if path.stem != "__init__"
    )
    assert {"helpers.gridworld", "helpers.dqn", "helpers.quiz"} <= set(modules)
    code = (
        f"import importlib, sys\n"
        f"for name in {['helpers', *modules]!r}:\n"
        f"    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in ('nbformat', 'nbclient', 'workbook')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"helpers imported notebook tooling: {out.stdout.strip()}"
