"""Atari Pong from pixels: the environment protocol, frame preprocessing, the Nature CNN and an image
replay buffer that stores each frame once (notebook 14).

* :func:`make_pong` — ``ALE/Pong-v5`` with ``frameskip=1`` under gymnasium's ``AtariPreprocessing``
  (the agent acts every 4th frame, the observation is the max of the last two frames, up to 30 no-op
  starts, 84×84 grayscale) and ``FrameStackObservation(4)``; sticky actions stated explicitly.
  Registered as ``helpers/Pong-v0``.
* :func:`preprocess_steps` / :func:`preprocess_frame` — the *Chapter.8 DQN* notes' four steps on one RGB
  frame: crop, grayscale, resize to 84×84, normalise to [0, 1] (notebook 14's exercise q1).
* :func:`conv_output_size`, :func:`conv_shapes` — sizes after convolutions (exercise q2); :class:`NatureCNN` —
  the Q-network of Mnih et al. (2015): 32×8×8/4, 64×4×4/2, 64×3×3/1, 512, one output per action.
* :class:`FrameReplayBuffer` — experience replay (경험 재생) for stacked frames: every frame is stored
  once, as ``uint8``, and each transition keeps the indices of its frames; stacks are rebuilt from the
  indices when a mini-batch is sampled.

``ale-py`` (whose PyPI wheel ships the Atari ROMs) and ``opencv-python`` (gymnasium's resize) are needed
only here; they are imported when an Atari function is called, not on ``import helpers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from helpers._checks import check_int
from helpers.replay import Batch, check_sample_size

__all__ = [
    "PONG_ID",
    "make_pong",
    "preprocess_steps",
    "preprocess_frame",
    "conv_output_size",
    "conv_shapes",
    "NATURE_CONVS",
    "NatureCNN",
    "FrameReplayBuffer",
]

PONG_ID = "ALE/Pong-v5"
PONG_CROP = (34, 194)  # Pong's playing field: rows 34..193 (the score above, the white borders below)
GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma, what the ALE's grayscale screen uses


def make_pong(*, repeat_action_probability: float = 0.25, frame_skip: int = 4, noop_max: int = 30,
              screen_size: int = 84, stack_size: int = 4, **kwargs: Any) -> gym.Env:
    """Pong as DQN sees it: four stacked, preprocessed 84×84 grayscale frames, shape ``(4, 84, 84)`` uint8.

    Parameters
    ----------
    repeat_action_probability : float
        Sticky actions: with this probability the emulator repeats the previous action instead of the
        new one, every frame. 0.25 is ``ALE/Pong-v5``'s default (Machado et al., 2018); the older
        ``PongNoFrameskip-v4`` protocol that the DQN papers and CleanRL report uses 0.
    frame_skip, noop_max, screen_size : int
        Passed to gymnasium's ``AtariPreprocessing``: the agent picks an action every ``frame_skip``
        frames (the reward is summed, the observation is the pixel-wise max of the last two frames, which
        removes the Atari's flicker), each episode starts with 1 to ``noop_max`` no-op actions (so
        starts differ), frames are grayscale and resized to ``screen_size``².
    stack_size : int
        ``FrameStackObservation``: the observation is the last ``stack_size`` frames, oldest first
        (after a reset, the first frame repeated).
    **kwargs
        Passed to ``gym.make("ALE/Pong-v5", ...)`` (e.g. ``render_mode="rgb_array"``).

    The base environment is made with ``frameskip=1``, so that frame skipping happens once, in the
    wrapper (v5's own default would skip 4 frames *and* the wrapper 4 more).
    """
    import ale_py
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    gym.register_envs(ale_py)
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no start-up banner in notebook outputs
    if not 0.0 <= repeat_action_probability <= 1.0:
        raise ValueError(f"repeat_action_probability must lie in [0, 1], got {repeat_action_probability!r}")
    env = gym.make(PONG_ID, frameskip=1, repeat_action_probability=repeat_action_probability, **kwargs)
    env = AtariPreprocessing(env, noop_max=noop_max, frame_skip=frame_skip, screen_size=screen_size,
                             grayscale_obs=True, scale_obs=False)
    return FrameStackObservation(env, check_int(stack_size, "stack_size"))


def preprocess_steps(frame: np.ndarray, crop: tuple[int, int] | None = PONG_CROP, size: int = 84) -> list[np.ndarray]:
    """The *Chapter.8 DQN* notes' four preprocessing steps on one RGB Atari frame, each step's image.

    Returns ``[cropped, gray, resized, normalised]``:

    1. **crop** rows ``crop[0]:crop[1]`` (``None``: keep all rows) — ``(h, 160, 3)`` uint8;
    2. **grayscale** ``0.299 R + 0.587 G + 0.114 B``, rounded to whole gray levels as the ALE does —
       ``(h, 160)`` uint8;
    3. **resize** to ``size × size`` with OpenCV's area interpolation (each output pixel averages the
       input pixels it covers), as gymnasium's ``AtariPreprocessing`` does — ``(size, size)`` uint8;
    4. **normalise** to [0, 1]: divide by 255 — ``(size, size)`` float32.

    With ``crop=None`` the result equals gymnasium's ``AtariPreprocessing`` observation / 255 on the
    same (single, un-pooled) frame. Notebook 14's exercise q1.
    """
    import cv2

    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected one RGB frame of shape (height, width, 3), got shape {frame.shape}")
    cropped = frame if crop is None else frame[crop[0]:crop[1]]
    gray = np.rint(cropped @ np.array(GRAY_WEIGHTS)).astype(np.uint8)
    resized = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
    return [cropped, gray, resized, resized.astype(np.float32) / 255.0]


def preprocess_frame(frame: np.ndarray, crop: tuple[int, int] | None = PONG_CROP, size: int = 84) -> np.ndarray:
    """One RGB Atari frame → an ``(size, size)`` float32 image in [0, 1] (the last of :func:`preprocess_steps`)."""
    return preprocess_steps(frame, crop, size)[-1]


def conv_output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Side length after a convolution: ``⌊(size + 2·padding − kernel) / stride⌋ + 1``.

    >>> conv_output_size(84, 8, 4)
    20
    """
    return (size + 2 * padding - kernel) // stride + 1


def conv_shapes(in_shape: Sequence[int], convs: Sequence[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The ``(channels, height, width)`` after each convolution of ``convs`` (no padding).

    ``in_shape`` is ``(C, H, W)``; each conv is ``(out_channels, kernel, stride)``. Notebook 14's
    exercise q2.

    >>> conv_shapes((4, 84, 84), [(32, 8, 4), (64, 4, 2), (64, 3, 1)])
    [(32, 20, 20), (64, 9, 9), (64, 7, 7)]
    """
    _, h, w = (int(d) for d in in_shape)
    shapes = []
    for out_channels, kernel, stride in convs:
        h, w = conv_output_size(h, kernel, stride), conv_output_size(w, kernel, stride)
        shapes.append((int(out_channels), h, w))
    return shapes


NATURE_CONVS = [(32, 8, 4), (64, 4, 2), (64, 3, 1)]  # (filters, kernel, stride) of Mnih et al. (2015)


class NatureCNN(nn.Module):
    """The DQN Q-network of Mnih et al. (2015), *Human-level control through deep reinforcement learning*.

    ``(B, 4, 84, 84)`` stacked frames → conv 32 filters 8×8 stride 4 → ReLU → conv 64 4×4/2 → ReLU →
    conv 64 3×3/1 → ReLU → flatten (64·7·7 = 3136) → 512 → ReLU → ``n_actions`` Q-values.

    ``uint8`` input (the replay buffer's frames, 0–255) is divided by 255 here, the notes' normalisation
    step, so frames stay 1 byte each until they reach the network; float input is used as it is.
    """

    def __init__(self, n_actions: int, in_channels: int = 4) -> None:
        super().__init__()
        n_actions = check_int(n_actions, "n_actions", hint="e.g. 6 for Pong")
        in_channels = check_int(in_channels, "in_channels", hint="the number of stacked frames, e.g. 4")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(64 * 7 * 7, 512), nn.ReLU(), nn.Linear(512, n_actions))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = x.float() / 255.0
        if x.shape[-2:] != (84, 84):
            raise ValueError(f"NatureCNN expects (B, C, 84, 84) frames, got shape {tuple(x.shape)}")
        return self.head(self.features(x))


class FrameReplayBuffer:
    """Experience replay for stacked frames that stores every frame once.

    Consecutive observations of a frame stack share all but one frame: ``next_obs`` is ``obs`` shifted by
    one, plus one new frame. Storing both stacks for every transition keeps each frame ``2 × stack``
    times; this buffer keeps it once (``uint8``) and gives each transition the indices of its
    ``stack + 1`` frames (``obs`` = the first ``stack``, ``next_obs`` = the last ``stack``).

    Episode boundaries need no flag: when ``obs`` is not the stack the previous transition ended in, a
    new episode has started, and its frames are stored (consecutive repeats once: after a reset,
    ``FrameStackObservation`` repeats the first frame). A stack is therefore never mixed from two episodes.

    Parameters
    ----------
    capacity : int
        Transitions held. The frame store holds ``capacity + stack`` frames; each new episode uses one
        extra frame (its first), so with many short episodes slightly fewer than ``capacity`` transitions
        remain (the oldest go once one of their frames is overwritten).
    frame_shape : tuple[int, int]
        Shape of one frame, e.g. ``(84, 84)``.
    stack : int
        Frames per observation, e.g. 4.
    seed : int or None
        Seed of the buffer's own sampling generator.

    Sampled batches hold ``uint8`` stacks ``(B, stack, *frame_shape)``; :class:`NatureCNN` scales them.
    """

    def __init__(self, capacity: int, frame_shape: Sequence[int] = (84, 84), stack: int = 4, *,
                 seed: int | None = None) -> None:
        self.capacity = check_int(capacity, "capacity", hint="e.g. 100_000 transitions")
        self.stack = check_int(stack, "stack", hint="e.g. 4 frames")
        self.frame_shape = tuple(int(d) for d in frame_shape)
        self.n_frames = self.capacity + self.stack
        self.frames = np.zeros((self.n_frames, *self.frame_shape), dtype=np.uint8)
        self.frame_ids = np.zeros((self.capacity, self.stack + 1), dtype=np.int64)  # ever-growing ids
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.frames_added = 0  # id of the next frame written
        self.first = 0  # number of the oldest transition still held
        self.added = 0  # number of the next transition written
        self._current: np.ndarray | None = None  # frame ids of the stack the last transition ended in
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.added - self.first

    def __repr__(self) -> str:
        return (f"FrameReplayBuffer(capacity={self.capacity}, frame_shape={self.frame_shape}, "
                f"stack={self.stack}, size={len(self)})")

    @property
    def nbytes(self) -> int:
        """Bytes of all its arrays (frames, frame indices, actions, rewards, terminated flags)."""
        return sum(a.nbytes for a in (self.frames, self.frame_ids, self.actions, self.rewards, self.terminated))

    def _push_frame(self, frame: np.ndarray) -> int:
        fid = self.frames_added
        self.frames[fid % self.n_frames] = frame
        self.frames_added += 1
        oldest_kept = self.frames_added - self.n_frames  # frames with smaller ids are overwritten
        while self.first < self.added and self.frame_ids[self.first % self.capacity, 0] < oldest_kept:
            self.first += 1
        return fid

    def _continues(self, obs: np.ndarray) -> bool:
        if self._current is None or self._current[0] < self.frames_added - self.n_frames:
            return False
        return bool(np.array_equal(self.frames[self._current % self.n_frames], obs))

    def add(self, obs: Any, action: int, reward: float, next_obs: Any, terminated: bool) -> None:
        """Store one transition; ``obs`` and ``next_obs`` are ``(stack, *frame_shape)`` frame stacks.

        ``next_obs`` must be ``obs`` shifted by one frame (what ``FrameStackObservation`` returns).
        ``terminated`` as in :class:`~helpers.replay.ReplayBuffer`: ``True`` only when the episode
        really ended (not for a time-limit truncation).
        """
        obs, next_obs = np.asarray(obs), np.asarray(next_obs)
        shape = (self.stack, *self.frame_shape)
        if obs.shape != shape or next_obs.shape != shape:
            raise ValueError(f"obs and next_obs must be frame stacks of shape {shape}, got {obs.shape} and "
                             f"{next_obs.shape}")
        if not np.array_equal(obs[1:], next_obs[:-1]):
            raise ValueError("next_obs must be obs shifted by one frame plus a new one (FrameStackObservation's "
                             "stacks); this buffer rebuilds both from shared frames")
        if not self._continues(obs):  # a new episode: store its frames, repeats once
            ids = []
            for k in range(self.stack):
                if k == 0 or not np.array_equal(obs[k], obs[k - 1]):
                    ids.append(self._push_frame(obs[k]))
                else:
                    ids.append(ids[-1])
            current = np.array(ids, dtype=np.int64)
        else:
            current = self._current
        new = self._push_frame(next_obs[-1])
        ids = np.append(current, new)
        if ids[0] < self.frames_added - self.n_frames:  # capacity below one stack's frames: cannot happen
            raise RuntimeError("FrameReplayBuffer is too small for one stack")
        i = self.added % self.capacity
        self.frame_ids[i] = ids
        self.actions[i] = action
        self.rewards[i] = reward
        self.terminated[i] = bool(terminated)
        self.added += 1
        if self.added - self.first > self.capacity:
            self.first = self.added - self.capacity
        self._current = ids[1:]

    def gather(self, numbers: np.ndarray) -> Batch:
        """The transitions with the given numbers (``first <= n < added``) as a :class:`Batch` of uint8 stacks."""
        slots = np.asarray(numbers) % self.capacity
        ids = self.frame_ids[slots] % self.n_frames  # (B, stack + 1)
        return Batch(
            obs=self.frames[ids[:, :-1]],
            actions=self.actions[slots],
            rewards=self.rewards[slots],
            next_obs=self.frames[ids[:, 1:]],
            terminated=self.terminated[slots],
            indices=slots,
        )

    def sample(self, batch_size: int) -> Batch:
        """``batch_size`` transitions drawn uniformly (with replacement), stacks rebuilt from the frame store."""
        check_sample_size(batch_size, len(self))
        return self.gather(self.rng.integers(self.first, self.added, size=batch_size))
