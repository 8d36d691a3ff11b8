"""helpers: seeding, device choice, environment registration."""

from __future__ import annotations

import random

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


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_bad_seed_is_rejected(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        helpers.seed_everything(bad)


def test_device_falls_back_to_cpu_here():
    assert helpers.device().type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        assert helpers.device().type in {"cpu", "mps"}


def test_course_environments_are_registered():
    assert "helpers/GridWorld-v0" in gym.registry
    assert "helpers/MovingObstacles-v0" in gym.registry
