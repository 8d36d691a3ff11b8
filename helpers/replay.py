"""Experience replay (경험 재생): a preallocated NumPy ring buffer, lifted from ``11_dqn``.

Notebook 11 first builds the *Chapter.8 DQN* notes' ``deque`` buffer, then this one, and measures
both: the ring buffer keeps every field in one preallocated array, so adding a transition is a
handful of array writes and sampling a mini-batch is one fancy-indexing gather per field (no Python
loop over the batch, no ``np.stack`` of many small arrays).

The buffer stores ``terminated`` (the episode really ended: the pole fell or the cart left the track),
**not** ``done = terminated or truncated``. A time-limit truncation is not a property of the state,
so the TD target still bootstraps from ``next_obs`` there (see :func:`helpers.dqn.td_target`).

Example
-------
>>> import numpy as np
>>> buf = ReplayBuffer(capacity=3, obs_shape=(4,), seed=0)
>>> for t in range(5):
...     buf.add(np.full(4, t), t % 2, 1.0, np.full(4, t + 1), terminated=False)
>>> len(buf)  # the two oldest transitions were overwritten
3
>>> batch = buf.sample(2)
>>> batch.obs.shape, batch.obs.dtype, batch.actions.dtype
((2, 4), dtype('float32'), dtype('int64'))
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from helpers._checks import check_int

__all__ = ["Batch", "ConsecutiveBuffer", "ReplayBuffer"]


@dataclass(frozen=True)
class Batch:
    """A mini-batch of transitions ``(s, a, r, s', terminated)``, one row per transition.

    Attributes
    ----------
    obs : np.ndarray or torch.Tensor
        ``(B, *obs_shape)`` float32 — the states :math:`S_t`.
    actions : np.ndarray or torch.Tensor
        ``(B,)`` int64 — the actions :math:`A_t`.
    rewards : np.ndarray or torch.Tensor
        ``(B,)`` float32 — the rewards :math:`R_{t+1}`.
    next_obs : np.ndarray or torch.Tensor
        ``(B, *obs_shape)`` float32 — the next states :math:`S_{t+1}`.
    terminated : np.ndarray or torch.Tensor
        ``(B,)`` float32, 1.0 where :math:`S_{t+1}` is terminal (no bootstrapping), else 0.0.
        Time-limit truncations are stored as 0.0.
    indices : np.ndarray
        ``(B,)`` int64 — where each row lives in the buffer (used by prioritized replay to update
        priorities; harmless otherwise).
    weights : np.ndarray, torch.Tensor or None
        ``(B,)`` float32 importance-sampling weights for the loss, or ``None`` for uniform sampling.

    The fields are NumPy arrays as sampled; :meth:`to_torch` gives the same batch as tensors.
    """

    obs: Any
    actions: Any
    rewards: Any
    next_obs: Any
    terminated: Any
    indices: Any
    weights: Any = None

    def __len__(self) -> int:
        return len(self.actions)

    def to_torch(self, device: Any = None) -> Batch:
        """The same batch with every array turned into a ``torch.Tensor`` (``indices`` stay NumPy).

        Parameters
        ----------
        device : torch.device, str or None
            Where the tensors go (``None``: the CPU).
        """
        import torch

        def conv(value: Any) -> Any:
            if value is None or isinstance(value, torch.Tensor):
                return value
            return torch.as_tensor(value, device=device)

        # a new Batch rather than dataclasses.replace (slower): this runs before every gradient step
        return Batch(**{f.name: getattr(self, f.name) if f.name == "indices" else conv(getattr(self, f.name))
                        for f in fields(self)})


def check_sample_size(batch_size: int, size: int) -> None:
    """Raise a clear ``ValueError`` unless ``batch_size`` transitions can be drawn from ``size``."""
    check_int(batch_size, "batch_size")
    if size < batch_size:
        raise ValueError(
            f"cannot sample {batch_size} transitions from a buffer holding {size}; "
            "collect more experience first (DQN waits `learning_starts` steps before learning)"
        )


class ReplayBuffer:
    """A fixed-size ring buffer of transitions with uniform random sampling.

    Parameters
    ----------
    capacity : int
        How many transitions it holds; once full, each new one overwrites the oldest.
    obs_shape : tuple[int, ...] or int
        Shape of one observation, e.g. ``(4,)`` for CartPole.
    seed : int or None
        Seed of the buffer's own random generator (``numpy.random.default_rng``), so sampling is
        reproducible independently of any other random numbers drawn.

    Notes
    -----
    Memory is allocated once, up front: ``2 * capacity * prod(obs_shape)`` float32 numbers plus
    three small arrays. For CartPole and ``capacity=50_000`` that is 1.6 MB.
    """

    def __init__(self, capacity: int, obs_shape: tuple[int, ...] | int, *, seed: int | None = None) -> None:
        capacity = check_int(capacity, "capacity", hint="e.g. 50_000 transitions")
        if isinstance(obs_shape, (int, np.integer)):
            obs_shape = (int(obs_shape),)
        obs_shape = tuple(int(d) for d in obs_shape)
        if not obs_shape or any(d < 1 for d in obs_shape):
            raise ValueError(f"obs_shape must be a non-empty tuple of positive sizes, got {obs_shape!r}")
        self.capacity = capacity
        self.obs_shape = obs_shape
        self.obs = np.zeros((self.capacity, *obs_shape), dtype=np.float32)
        self.next_obs = np.zeros((self.capacity, *obs_shape), dtype=np.float32)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.pos = 0  # where the next transition is written
        self.size = 0  # how many slots hold data
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"ReplayBuffer(capacity={self.capacity}, obs_shape={self.obs_shape}, size={self.size})"

    def add(self, obs: Any, action: int, reward: float, next_obs: Any, terminated: bool) -> None:
        """Store one transition, overwriting the oldest one when the buffer is full.

        Parameters
        ----------
        obs, next_obs : array-like
            Observations of shape ``obs_shape``.
        action : int
            The integer action taken in ``obs``.
        reward : float
            The reward received.
        terminated : bool
            ``True`` only when ``next_obs`` is a terminal state (the episode really ended). Pass
            ``False`` for a time-limit truncation, so the TD target still bootstraps there.
        """
        if np.shape(obs) != self.obs_shape or np.shape(next_obs) != self.obs_shape:
            name, shape = ("obs", np.shape(obs)) if np.shape(obs) != self.obs_shape else ("next_obs", np.shape(next_obs))
            raise ValueError(
                f"{name} has shape {shape}, but this buffer stores observations of shape {self.obs_shape}; "
                "pass one observation at a time (not a batch) of the shape given to ReplayBuffer(...)"
            )
        i = self.pos
        self.obs[i] = obs
        self.next_obs[i] = next_obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.terminated[i] = bool(terminated)
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def push(self, obs: Any, action: int, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> None:
        """Store one step as ``env.step`` reports it: ``terminated`` is kept, ``truncated`` is not.

        Notebook 11's exercise asks for this signature (the student's ring buffer receives both flags
        and must keep only ``terminated``); it is :meth:`add` with ``truncated`` dropped, because a
        time-limit truncation still bootstraps.
        """
        self.add(obs, action, reward, next_obs, terminated)

    def sample(self, batch_size: int) -> Batch:
        """Draw ``batch_size`` stored transitions uniformly at random (with replacement).

        Sampling with replacement is what DQN implementations do (it is the cheapest way to draw
        from a large buffer); with a buffer much larger than the batch, duplicates are rare.

        Raises
        ------
        ValueError
            When the buffer holds fewer than ``batch_size`` transitions, or ``batch_size < 1``.
        """
        check_sample_size(batch_size, self.size)
        return self.gather(self.rng.integers(0, self.size, size=batch_size))

    def gather(self, indices: np.ndarray, weights: np.ndarray | None = None) -> Batch:
        """The stored transitions at ``indices`` as a :class:`Batch` (with optional per-row weights)."""
        return Batch(
            obs=self.obs[indices],
            actions=self.actions[indices],
            rewards=self.rewards[indices],
            next_obs=self.next_obs[indices],
            terminated=self.terminated[indices],
            indices=indices,
            weights=weights,
        )


class ConsecutiveBuffer(ReplayBuffer):
    """A :class:`ReplayBuffer` whose ``sample(n)`` hands out the ``n`` newest transitions, newest first.

    Experience replay without its shuffle: the same stored data, batch size and number of updates, but
    each mini-batch is a run of consecutive, correlated transitions, as online Q-learning sees them.
    Notebook 12 (exercise q3) trains DQN with it to separate the two things ``replay=False`` changes at
    once: the batch's size and its order. Sampling draws no random numbers.
    """

    def sample(self, batch_size: int) -> Batch:
        """The ``batch_size`` most recently added transitions, newest first (``indices`` say where they lie).

        Raises
        ------
        ValueError
            When the buffer holds fewer than ``batch_size`` transitions, or ``batch_size < 1``.
        """
        check_sample_size(batch_size, self.size)
        return self.gather((self.pos - 1 - np.arange(batch_size)) % self.capacity)
