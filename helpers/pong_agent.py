"""The course's trained Pong agent: load the shipped weights and play with them (notebook 14).

The weights file (``helpers/data/pong_dqn.pt``, package data, so ``pip install`` and the Colab setup cell
bring it) holds a :class:`~helpers.atari.NatureCNN`'s ``state_dict`` and where it came from: agent steps,
wall and CPU seconds, the commit and command of the training run, its configuration, protocol and
learning curve. ``bench/dqn_pong.py`` trains, exports and evaluates it (see the README).

>>> q_net, info = load_pong_agent()                  # doctest: +SKIP
>>> games = play_pong(q_net, episodes=2)             # doctest: +SKIP
>>> [g["return"] for g in games]                     # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from helpers._checks import check_int
from helpers.atari import NatureCNN, make_pong

__all__ = ["WEIGHTS", "WEIGHTS_FORMAT", "EVAL_SEED", "STICKY", "load_pong_agent", "epsilon_greedy", "play_pong"]

WEIGHTS = Path(__file__).resolve().parent / "data" / "pong_dqn.pt"
WEIGHTS_FORMAT = "deep-q-workbook/pong-dqn/1"
EVAL_SEED = 10_000  # game i starts with env.reset(seed=EVAL_SEED + i), as helpers.dqn evaluates
STICKY = 0.25  # ALE/Pong-v5's default repeat_action_probability (Machado et al., 2018)


def load_pong_agent(path: str | Path = WEIGHTS, device: str | torch.device = "cpu") -> tuple[NatureCNN, dict[str, Any]]:
    """A :class:`~helpers.atari.NatureCNN` with the weights of ``path`` (default: the shipped file), in
    eval mode, and the file's information (everything but the weights).

    The file is read with ``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts
    only, never code.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no Pong weights at {path}. The course ships them as package data of helpers "
            "(helpers/data/pong_dqn.pt): reinstall the course package (`pip install -e .` in the course "
            "folder, or rerun the Colab setup cell), or pass the path of an exported file.")
    blob = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != WEIGHTS_FORMAT:
        raise ValueError(f"{path} is not a Pong DQN weights file of this course (format {WEIGHTS_FORMAT!r}); "
                         "a training checkpoint is exported with `python bench/dqn_pong.py --export RUN_DIR`")
    weights = blob["state_dict"]
    net = NatureCNN(int(weights["head.2.bias"].shape[0])).to(device)
    net.load_state_dict(weights)
    return net.eval(), {k: v for k, v in blob.items() if k != "state_dict"}


def epsilon_greedy(q_net: torch.nn.Module, n_actions: int, epsilon: float = 0.05, *, rng: np.random.Generator,
                   device: str | torch.device = "cpu") -> Callable[[np.ndarray], int]:
    """The policy ``obs -> action`` that acts at random with probability ``epsilon`` (a draw from ``rng``)
    and otherwise takes the action of highest Q-value; it plays :func:`play_pong`'s games and notebook
    14's video."""
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must lie in [0, 1], got {epsilon!r}")
    device = torch.device(device)

    def policy(obs: np.ndarray) -> int:
        if rng.random() < epsilon:
            return int(rng.integers(n_actions))
        with torch.no_grad():
            return int(q_net(torch.as_tensor(obs, device=device).unsqueeze(0)).argmax())

    return policy


def play_pong(q_net: torch.nn.Module, *, episodes: int = 10, epsilon: float = 0.05, sticky: bool = False,
              seed: int = EVAL_SEED, device: str | torch.device = "cpu",
              log: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Play ``episodes`` full games of Pong (to 21 points) with ε-greedy actions and return one dict per game
    (``return``: the agent's points minus the opponent's, −21 … +21; ``length`` in agent steps).

    ε = 0.05 is the DQN paper's and CleanRL's evaluation. ``sticky``: ``ALE/Pong-v5``'s sticky actions
    (0.25) instead of none, the protocol CleanRL reports. Game ``i`` starts with ``reset(seed=seed + i)``
    and the ε draws come from ``numpy.random.default_rng(seed)``, so a call is reproducible.
    """
    episodes = check_int(episodes, "episodes", minimum=1)
    env = make_pong(repeat_action_probability=STICKY if sticky else 0.0)
    results = []
    try:
        policy = epsilon_greedy(q_net, int(env.action_space.n), epsilon, rng=np.random.default_rng(seed),
                                device=device)
        for i in range(episodes):
            obs, _ = env.reset(seed=seed + i)
            ep_return, length, done = 0.0, 0, False
            start = time.perf_counter()
            while not done:
                obs, reward, terminated, truncated, _ = env.step(policy(obs))
                ep_return, length, done = ep_return + float(reward), length + 1, terminated or truncated
            row = {"episode": i, "reset_seed": seed + i, "return": ep_return, "length": length,
                   "wall_s": round(time.perf_counter() - start, 2)}
            results.append(row)
            if log is not None:
                log(row)
    finally:
        env.close()
    return results
