"""Small helpers for the Deep Q Workbook notebooks.

One module per concern:

* :mod:`helpers` (this file) — :func:`seed_everything`, :func:`device`, environment registration;
* :mod:`helpers.quiz` — graded checks and self-check questions;
* :mod:`helpers.fallback` — the lesson trains the student's code, or the reference with a visible reason;
* :mod:`helpers.video` — record an episode and show it inline;
* :mod:`helpers.evaluation` — batched greedy evaluation and the course's confirmed-solve rule;
* :mod:`helpers.gridworld`, :mod:`helpers.moving_grid` — the course's custom environments;
* :mod:`helpers.gridworld_render` — drawing the GridWorld's Q functions and state values;
* :mod:`helpers.mdp`, :mod:`helpers.dp`, :mod:`helpers.tabular` — the MDP as arrays, dynamic programming,
  and the tabular MC / TD / SARSA / Q-learning updates (notebooks 05–07);
* :mod:`helpers.qnet` — the Q-network and Deep SARSA references (notebooks 08, 09);
* :mod:`helpers.replay`, :mod:`helpers.dqn`, :mod:`helpers.per`, :mod:`helpers.extensions` — DQN pieces
  lifted from the notebooks (11, 13);
* :mod:`helpers.atari`, :mod:`helpers.pomdp` — Atari Pong, the Nature CNN and a frame replay buffer;
  CartPole with the velocities hidden (notebook 14); :mod:`helpers.pong_agent` — loading the course's
  trained Pong weights (package data) and playing ε-greedy games with them;
* :mod:`helpers.pg` — the REINFORCE and A2C references and A2C's training loop (notebooks 15, 16);
* :mod:`helpers.a3c` — Hogwild A3C's worker code, importable by spawned processes (notebook 17);
* :mod:`helpers.continuous` — Gaussian policies and PPO for continuous actions (notebook 18);
* ``helpers._checks`` (private) — the one integer-argument check behind their error messages.

Instructor tooling (build, grade, benchmarks) lives in the separate ``workbook`` package; nothing here
imports it, nor nbformat or nbclient.

Importing the package registers the custom environments with gymnasium
(``gymnasium.make("helpers/GridWorld-v0")``) without importing their modules.
"""

from __future__ import annotations

import os
import random
import sys
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np

from helpers._checks import check_int

if TYPE_CHECKING:
    import torch

__all__ = ["seed_everything", "device", "__version__"]
__version__ = "0.1.0"

# The course never plays sound; without this, pygame's renderer complains about audio on headless
# machines (containers, CI) even for render_mode="rgb_array".
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# On a Linux machine without a screen (Colab, a server, a container) SDL's video start-up prints
# "error: XDG_RUNTIME_DIR is invalid or not set" under every rendered frame. rgb_array rendering
# needs no screen, so use SDL's dummy driver there; a desktop keeps its own (render_mode="human").
if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

_ENVS = {
    "helpers/GridWorld-v0": "helpers.gridworld:GridWorldEnv",
    "helpers/MovingObstacles-v0": "helpers.moving_grid:MovingObstaclesEnv",
    "helpers/CartPoleNoVelocity-v0": "helpers.pomdp:make_cartpole_no_velocity",
    "helpers/CartPoleNoVelocityStack4-v0": "helpers.pomdp:make_cartpole_no_velocity_stack",
    "helpers/Pong-v0": "helpers.atari:make_pong",
}
for _env_id, _entry_point in _ENVS.items():
    if _env_id not in gym.registry:
        gym.register(id=_env_id, entry_point=_entry_point)


def seed_everything(seed: int, *, threads: int | None = 1) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch, for repeatable notebooks.

    Parameters
    ----------
    seed : int
        Any non-negative integer. The same seed gives the same numbers on the same machine.
    threads : int or None
        Number of CPU threads torch may use. The course's networks are tiny, so one thread is
        fastest and keeps results identical run to run; pass ``None`` to leave torch's default.

    Environments are seeded separately, once, with ``env.reset(seed=seed)`` and
    ``env.action_space.seed(seed)``.
    """
    import torch

    seed = check_int(seed, "seed", minimum=0, hint="e.g. seed_everything(0)")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if threads is not None:
        torch.set_num_threads(threads)


def device() -> torch.device:
    """The best available torch device: CUDA, then Apple's MPS, then the CPU.

    The course's notebooks are sized to train on a laptop CPU; a GPU is used when present but
    never needed.
    """
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
