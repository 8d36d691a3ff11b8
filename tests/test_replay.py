"""Tests for helpers/replay.py: the preallocated NumPy ring buffer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.replay import Batch, ConsecutiveBuffer, ReplayBuffer


def fill(buf: ReplayBuffer, n: int) -> None:
    for t in range(n):
        buf.add(np.full(4, t), t % 2, float(t), np.full(4, t + 1), terminated=(t % 3 == 0))


def test_add_and_len():
    buf = ReplayBuffer(10, (4,), seed=0)
    assert len(buf) == 0
    fill(buf, 3)
    assert len(buf) == 3
    assert buf.obs[2].tolist() == [2, 2, 2, 2]
    assert buf.next_obs[2].tolist() == [3, 3, 3, 3]
    assert buf.actions[:3].tolist() == [0, 1, 0]
    assert buf.rewards[:3].tolist() == [0.0, 1.0, 2.0]
    assert buf.terminated[:3].tolist() == [1.0, 0.0, 0.0]


def test_ring_wraparound_overwrites_oldest():
    buf = ReplayBuffer(4, 4, seed=0)  # an int obs_shape is accepted
    fill(buf, 6)  # transitions 0..5; 0 and 1 are overwritten by 4 and 5
    assert len(buf) == 4
    assert buf.pos == 2
    assert sorted(buf.rewards.tolist()) == [2.0, 3.0, 4.0, 5.0]
    assert buf.rewards[0] == 4.0 and buf.rewards[1] == 5.0
    # every sampled transition is one of the four kept, with consistent fields
    batch = buf.sample(4)
    for _ in range(50):
        more = buf.sample(4)
        batch = Batch(*(np.concatenate([getattr(batch, f), getattr(more, f)]) for f in
                        ["obs", "actions", "rewards", "next_obs", "terminated", "indices"]))
    assert len(batch) == 204
    assert set(batch.rewards.tolist()) <= {2.0, 3.0, 4.0, 5.0}
    assert np.all(batch.obs[:, 0] == batch.rewards)
    assert np.all(batch.next_obs[:, 0] == batch.rewards + 1)
    assert np.all(batch.actions == batch.rewards.astype(int) % 2)


def test_sample_shapes_and_dtypes():
    buf = ReplayBuffer(100, (4,), seed=1)
    fill(buf, 50)
    batch = buf.sample(32)
    assert isinstance(batch, Batch) and len(batch) == 32
    assert batch.obs.shape == (32, 4) and batch.obs.dtype == np.float32
    assert batch.next_obs.shape == (32, 4) and batch.next_obs.dtype == np.float32
    assert batch.actions.shape == (32,) and batch.actions.dtype == np.int64
    assert batch.rewards.shape == (32,) and batch.rewards.dtype == np.float32
    assert batch.terminated.shape == (32,) and batch.terminated.dtype == np.float32
    assert batch.indices.shape == (32,) and batch.indices.max() < 50
    assert batch.weights is None
    # rows are whole transitions, not fields shuffled independently
    np.testing.assert_array_equal(batch.obs, buf.obs[batch.indices])
    np.testing.assert_array_equal(batch.rewards, buf.rewards[batch.indices])


def test_sample_is_reproducible_and_uniform():
    a, b = ReplayBuffer(20, (4,), seed=7), ReplayBuffer(20, (4,), seed=7)
    fill(a, 20)
    fill(b, 20)
    np.testing.assert_array_equal(a.sample(16).indices, b.sample(16).indices)
    counts = np.bincount(np.concatenate([a.sample(20).indices for _ in range(1000)]), minlength=20)
    assert counts.min() > 800 and counts.max() < 1200  # ~1000 each


def test_to_torch():
    buf = ReplayBuffer(10, (4,), seed=0)
    fill(buf, 10)
    t = buf.sample(5).to_torch()
    assert isinstance(t.obs, torch.Tensor) and t.obs.dtype == torch.float32
    assert t.actions.dtype == torch.int64 and t.terminated.dtype == torch.float32
    assert isinstance(t.indices, np.ndarray)
    assert t.weights is None
    w = buf.gather(np.array([1, 2]), weights=np.array([0.5, 1.0], dtype=np.float32)).to_torch()
    assert isinstance(w.weights, torch.Tensor) and w.weights.tolist() == [0.5, 1.0]
    assert isinstance(w.indices, np.ndarray) and w.indices.tolist() == [1, 2]
    assert w.to_torch().obs is w.obs  # tensors pass through


def test_errors_are_clear():
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0, (4,))
    with pytest.raises(ValueError, match="obs_shape"):
        ReplayBuffer(10, ())
    buf = ReplayBuffer(10, (4,))
    with pytest.raises(ValueError, match="cannot sample 4 transitions from a buffer holding 0"):
        buf.sample(4)
    with pytest.raises(ValueError, match="batch_size"):
        buf.sample(0)
    with pytest.raises(ValueError, match=r"obs has shape \(2, 4\)"):
        buf.add(np.zeros((2, 4)), 0, 1.0, np.zeros(4), False)
    with pytest.raises(ValueError, match="next_obs has shape"):
        buf.add(np.zeros(4), 0, 1.0, np.zeros(3), False)


def test_push_keeps_terminated_and_drops_truncated():
    buf = ReplayBuffer(4, (4,), seed=0)
    buf.push(np.zeros(4), 1, 1.0, np.ones(4), terminated=False, truncated=True)  # time limit: bootstraps
    buf.push(np.zeros(4), 0, 1.0, np.ones(4), terminated=True, truncated=False)
    assert buf.terminated[:2].tolist() == [0.0, 1.0] and len(buf) == 2


def test_consecutive_buffer_hands_out_the_newest_transitions_newest_first():
    buf = ConsecutiveBuffer(capacity=3, obs_shape=(1,), seed=0)
    with pytest.raises(ValueError, match="cannot sample 1 transitions from a buffer holding 0"):
        buf.sample(1)
    for t in range(5):  # wraps: slots hold 3, 4, 2
        buf.add([t], t % 2, float(t), [t + 1], terminated=t == 4)
    state = buf.rng.bit_generator.state
    batch = buf.sample(3)
    assert list(batch.obs[:, 0]) == [4, 3, 2] and list(batch.next_obs[:, 0]) == [5, 4, 3]
    assert list(batch.rewards) == [4, 3, 2] and list(batch.terminated) == [1, 0, 0]
    assert list(batch.indices) == [1, 0, 2]
    assert list(buf.sample(1).obs[:, 0]) == [4]
    assert buf.rng.bit_generator.state == state, "sampling draws no random numbers"
    with pytest.raises(ValueError, match="cannot sample 4"):
        buf.sample(4)
