"""CartPole with the velocities hidden: a partially observed MDP (부분관찰 마르코프 결정과정, POMDP).

CartPole-v1's observation ``(x, ẋ, θ, θ̇)`` is a Markov state: the next state depends only on it and
the action. Drop the two velocities and the observation ``(x, θ)`` no longer says where the pole is
going — the same picture can belong to a pole falling left or one swinging back. Stacking the last
few observations puts the motion back in (two positions give a velocity), which is what the
*Chapter.8 DQN* notes do with four Atari frames.

Registered on ``import helpers``:

=====================================  ==========================================================
id                                     observation
=====================================  ==========================================================
``helpers/CartPoleNoVelocity-v0``      ``(x, θ)``, float32, shape ``(2,)``
``helpers/CartPoleNoVelocityStack4-v0``  the last 4 of those, oldest first, flattened: shape ``(8,)``
                                        ``(x₋₃, θ₋₃, x₋₂, θ₋₂, x₋₁, θ₋₁, x, θ)``; after a reset the
                                        stack repeats the first observation (gymnasium's "reset" padding)
=====================================  ==========================================================

Actions, rewards, start, termination and truncation (500 steps) are CartPole-v1's.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import FlattenObservation, FrameStackObservation

__all__ = ["HideVelocity", "make_cartpole_no_velocity", "make_cartpole_no_velocity_stack"]

POSITION_FEATURES = (0, 2)  # x and θ in CartPole's (x, ẋ, θ, θ̇)


class HideVelocity(gym.ObservationWrapper):
    """Keep only CartPole's positions ``(x, θ)``; the velocities ``ẋ`` and ``θ̇`` are dropped."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or space.shape != (4,):
            raise ValueError(f"HideVelocity expects CartPole's 4-number observation, got {space}")
        keep = list(POSITION_FEATURES)
        self.observation_space = gym.spaces.Box(space.low[keep], space.high[keep], dtype=np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        return np.asarray(observation, dtype=np.float32)[list(POSITION_FEATURES)]


def make_cartpole_no_velocity(**kwargs: Any) -> gym.Env:
    """CartPole-v1 observed through :class:`HideVelocity` (keyword arguments go to ``gym.make``)."""
    return HideVelocity(gym.make("CartPole-v1", **kwargs))


def make_cartpole_no_velocity_stack(stack_size: int = 4, **kwargs: Any) -> gym.Env:
    """The last ``stack_size`` hidden-velocity observations, flattened to one vector (oldest first)."""
    return FlattenObservation(FrameStackObservation(make_cartpole_no_velocity(**kwargs), stack_size))
