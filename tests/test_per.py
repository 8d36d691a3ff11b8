"""Tests for helpers/per.py: the sum-tree and the prioritized replay buffer."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.per import PrioritizedReplayBuffer, SumTree
from helpers.replay import ReplayBuffer

# ---------------------------------------------------------------- SumTree


def _chi2_critical(df: int, z: float = 3.09) -> float:
    """Upper 0.999 quantile of the chi-square distribution (Wilson-Hilferty, within 1 % for df >= 2)."""
    h = 2.0 / (9.0 * df)
    return df * (1.0 - h + z * np.sqrt(h)) ** 3


def _chi2(counts: np.ndarray, expected: np.ndarray) -> float:
    return float(np.sum((counts - expected) ** 2 / expected))


def test_total_and_leaves_after_update():
    tree = SumTree(5)
    tree.update([0, 1, 2, 3, 4], [1.0, 2.0, 3.0, 4.0, 5.0])
    assert tree.total == pytest.approx(15.0)
    np.testing.assert_allclose(tree.priorities, [1, 2, 3, 4, 5])
    assert tree[3] == pytest.approx(4.0)
    np.testing.assert_allclose(tree[[4, 0]], [5.0, 1.0])


def test_update_changes_total_and_later_updates_win():
    tree = SumTree(8)
    tree.update(np.arange(8), np.ones(8))
    tree.update(3, 5.0)
    assert tree.total == pytest.approx(12.0)
    tree.update([2, 2, 2], [7.0, 0.0, 4.0])  # a repeated index: the last value wins
    assert tree[2] == pytest.approx(4.0)
    assert tree.total == pytest.approx(15.0)
    tree.update([0, 1], 0.0)  # one scalar for several leaves
    assert tree.total == pytest.approx(13.0)


@pytest.mark.parametrize("capacity", [1, 2, 3, 7, 8, 100])
def test_inner_nodes_hold_sums_after_random_updates(capacity):
    rng = np.random.default_rng(capacity)
    tree = SumTree(capacity)
    reference = np.zeros(capacity)
    for _ in range(50):
        idx = rng.integers(0, capacity, size=rng.integers(1, 5))
        prio = rng.random(idx.size) * 10
        tree.update(idx, prio)
        for i, p in zip(idx, prio):
            reference[i] = p
        assert tree.total == pytest.approx(reference.sum())
    inner = tree._tree  # every inner node is the sum of its two children
    size = len(inner) // 2
    np.testing.assert_allclose(inner[1:size], inner[2 : 2 * size : 2] + inner[3 : 2 * size : 2])


def test_find_follows_prefix_sums():
    tree = SumTree(4)
    tree.update([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0])
    # intervals: 0 -> [0, 1), 1 -> [1, 3), 2 -> [3, 6), 3 -> [6, 10)
    values = [0.0, 0.999, 1.0, 2.5, 3.0, 5.999, 6.0, 9.999]
    assert tree.find(values).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_find_never_returns_zero_priority_leaves():
    tree = SumTree(6)
    tree.update([0, 2, 5], [1.0, 0.5, 2.0])  # leaves 1, 3, 4 stay at 0
    values = np.linspace(0, tree.total, 1001)  # includes the right edge itself
    found = tree.find(values)
    assert set(found.tolist()) <= {0, 2, 5}
    assert set(tree.sample(3000, np.random.default_rng(0)).tolist()) == {0, 2, 5}


@pytest.mark.parametrize("capacity", [4, 13])
def test_sampling_frequencies_match_priorities(capacity):
    """Chi-square goodness of fit: counts of 60k draws vs. p_i / sum(p)."""
    rng = np.random.default_rng(123)
    tree = SumTree(capacity)
    priorities = rng.uniform(0.1, 5.0, size=capacity)
    priorities[1] = 0.0  # never drawn
    tree.update(np.arange(capacity), priorities)
    draws = np.concatenate([tree.sample(64, rng) for _ in range(1000)])
    counts = np.bincount(draws, minlength=capacity)
    assert counts[1] == 0
    expected = priorities / priorities.sum() * draws.size
    nonzero = expected > 0
    critical = _chi2_critical(int(nonzero.sum()) - 1)
    chi2 = _chi2(counts[nonzero], expected[nonzero])
    assert chi2 < critical, f"frequencies {counts / draws.size} do not match {priorities / priorities.sum()}"
    # the test has power: the same counts are far from what uniform sampling would give
    uniform = np.full(int(nonzero.sum()), draws.size / nonzero.sum())
    assert _chi2(counts[nonzero], uniform) > 10 * critical


def test_sampling_frequencies_follow_an_update():
    rng = np.random.default_rng(7)
    tree = SumTree(3)
    tree.update([0, 1, 2], [1.0, 1.0, 1.0])
    tree.update(2, 8.0)  # leaf 2 now carries 80 % of the mass
    draws = np.concatenate([tree.sample(50, rng) for _ in range(400)])
    freq = np.bincount(draws, minlength=3) / draws.size
    np.testing.assert_allclose(freq, [0.1, 0.1, 0.8], atol=0.01)


def test_stratified_sample_covers_each_segment():
    tree = SumTree(4)
    tree.update([0, 1, 2, 3], [1.0, 1.0, 1.0, 1.0])
    # four equal priorities and a batch of four: stratification draws each leaf exactly once
    for seed in range(20):
        assert sorted(tree.sample(4, np.random.default_rng(seed)).tolist()) == [0, 1, 2, 3]


def test_single_leaf_tree():
    tree = SumTree(1)
    tree.update(0, 2.0)
    assert tree.total == pytest.approx(2.0)
    assert tree.sample(5, np.random.default_rng(0)).tolist() == [0] * 5


def test_update_and_find_are_logarithmic():
    """One update touches one node per level: the depth of a 2**20-leaf tree is 20."""
    tree = SumTree(2**20)
    assert tree._depth == 20
    tree.update(12345, 1.0)
    assert np.count_nonzero(tree._tree) == 21  # the leaf and its 20 ancestors, nothing else
    assert tree.find([0.5]).tolist() == [12345]


@pytest.mark.parametrize("capacity, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError),
                                             ("8", TypeError)])
def test_bad_capacity(capacity, error):
    with pytest.raises(error, match="capacity must be a positive integer"):
        SumTree(capacity)


def test_bad_updates():
    tree = SumTree(4)
    with pytest.raises(IndexError, match="out of range"):
        tree.update([4], [1.0])
    with pytest.raises(IndexError, match="out of range"):
        tree.update([-1], [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        tree.update([0], [-1.0])
    with pytest.raises(ValueError, match="finite"):
        tree.update([0], [np.nan])
    with pytest.raises(ValueError, match="one per index"):
        tree.update([0, 1, 2], [1.0, 2.0])
    with pytest.raises(TypeError, match="integers"):
        tree.update([0.5], [1.0])
    with pytest.raises(IndexError, match="out of range"):
        tree[9]


def test_bad_sampling():
    tree = SumTree(4)
    with pytest.raises(ValueError, match="every priority is 0"):
        tree.sample(2, np.random.default_rng(0))
    tree.update([0], [1.0])
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        tree.sample(0)
    with pytest.raises(ValueError, match="non-negative"):
        tree.find([-0.1])


# ---------------------------------------------------------------- PrioritizedReplayBuffer


def _filled(n: int = 10, capacity: int = 16, **kwargs) -> PrioritizedReplayBuffer:
    buf = PrioritizedReplayBuffer(capacity, (4,), seed=0, **kwargs)
    for t in range(n):
        buf.add(np.full(4, t), t % 2, float(t), np.full(4, t + 1), terminated=(t == n - 1))
    return buf


def test_is_a_replay_buffer_with_the_same_batch_layout():
    buf = _filled(10)
    assert isinstance(buf, ReplayBuffer) and len(buf) == 10
    batch = buf.sample(8)
    assert batch.obs.shape == (8, 4) and batch.obs.dtype == np.float32
    assert batch.actions.dtype == np.int64 and batch.indices.shape == (8,)
    # each row is the transition its index points at
    np.testing.assert_array_equal(batch.obs[:, 0], batch.indices)
    np.testing.assert_array_equal(batch.rewards, batch.indices)
    np.testing.assert_array_equal(batch.next_obs[:, 0], batch.indices + 1)
    assert batch.weights.shape == (8,) and batch.weights.dtype == np.float32


def test_new_transitions_get_the_max_priority():
    buf = _filled(4, alpha=1.0)
    np.testing.assert_allclose(buf.tree.priorities[:4], 1.0)  # max_priority starts at 1
    buf.update_priorities([0, 1], [4.0, -9.0])  # |δ| is used
    assert buf.max_priority == pytest.approx(9.0 + buf.eps)
    buf.add(np.zeros(4), 0, 0.0, np.zeros(4), False)
    assert buf.tree[4] == pytest.approx(9.0 + buf.eps)


def test_sampling_follows_td_errors():
    buf = _filled(4, alpha=1.0, eps=1e-6)
    buf.update_priorities([0, 1, 2, 3], [1.0, 1.0, 2.0, 6.0])
    draws = np.concatenate([buf.sample(3).indices for _ in range(2000)])
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, [0.1, 0.1, 0.2, 0.6], atol=0.02)


def test_alpha_zero_is_uniform_and_weights_are_one():
    buf = _filled(4, alpha=0.0)
    buf.update_priorities([0, 1, 2, 3], [0.0, 1.0, 10.0, 100.0])
    batch = buf.sample(4)
    assert sorted(batch.indices.tolist()) == [0, 1, 2, 3]  # stratified over equal priorities
    np.testing.assert_allclose(batch.weights, 1.0)


def test_importance_weights_match_the_formula():
    buf = _filled(4, alpha=1.0, beta_start=0.5, eps=1e-6)
    buf.update_priorities([0, 1, 2, 3], [1.0, 1.0, 2.0, 6.0])
    while True:
        beta = buf.beta  # the β this sample uses (each call advances the schedule)
        batch = buf.sample(4)
        if {0, 3} <= set(batch.indices.tolist()):
            break
    assert 0.5 <= beta < 0.51
    probs = np.array([0.1, 0.1, 0.2, 0.6])[batch.indices]
    expected = (4 * probs) ** -beta
    np.testing.assert_allclose(batch.weights, expected / expected.max(), rtol=1e-4)
    # rarely drawn transitions get the larger weight, and the largest is 1
    assert batch.weights.max() == pytest.approx(1.0)
    assert batch.weights[batch.indices == 0].min() > batch.weights[batch.indices == 3].max()


def test_beta_is_annealed_to_one():
    buf = _filled(8, beta_start=0.4, beta_steps=10)
    assert buf.beta == pytest.approx(0.4)
    for _ in range(5):
        buf.sample(2)
    assert buf.beta == pytest.approx(0.7)
    for _ in range(20):
        buf.sample(2)
    assert buf.beta == pytest.approx(1.0)


def test_update_priorities_accepts_torch_tensors_with_grad():
    torch = pytest.importorskip("torch")
    buf = _filled(4, alpha=1.0, eps=1e-6)
    batch = buf.sample(4)
    td = torch.tensor([0.5, -0.5, 2.0, 3.0], requires_grad=True) * 2
    buf.update_priorities(batch.indices, td)
    last = {}
    for i, d in zip(batch.indices, td.detach().numpy()):
        last[int(i)] = abs(d) + 1e-6
    for i, p in last.items():
        assert buf.tree[i] == pytest.approx(p)


def test_overwriting_the_oldest_keeps_priorities_of_the_slot():
    buf = _filled(6, capacity=4, alpha=1.0)  # slots 0 and 1 were overwritten by t = 4, 5
    assert len(buf) == 4
    assert buf.tree.total == pytest.approx(4.0)
    buf.update_priorities([0], [3.0])
    buf.add(np.zeros(4), 0, 0.0, np.zeros(4), False)  # overwrites slot 2 with the max priority
    assert buf.tree[2] == pytest.approx(3.0 + buf.eps)


def test_buffer_errors():
    with pytest.raises(ValueError, match="alpha"):
        PrioritizedReplayBuffer(8, 4, alpha=-0.1)
    with pytest.raises(ValueError, match="beta_start"):
        PrioritizedReplayBuffer(8, 4, beta_start=1.5)
    with pytest.raises(ValueError, match="beta_steps"):
        PrioritizedReplayBuffer(8, 4, beta_steps=0)
    with pytest.raises(ValueError, match="eps"):
        PrioritizedReplayBuffer(8, 4, eps=0.0)
    with pytest.raises(ValueError, match="capacity"):
        PrioritizedReplayBuffer(0, 4)
    buf = PrioritizedReplayBuffer(8, 4, seed=0)
    with pytest.raises(ValueError, match="cannot sample 2 transitions from a buffer holding 0"):
        buf.sample(2)
    buf = _filled(4)
    with pytest.raises(ValueError, match="batch_size"):
        buf.sample(0)
    with pytest.raises(ValueError, match="one TD error per row"):
        buf.update_priorities([0, 1], [1.0])
    with pytest.raises(ValueError, match="finite"):
        buf.update_priorities([0], [np.inf])
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        buf.update_priorities([5], [1.0])
    with pytest.raises(ValueError, match="shape"):
        buf.add(np.zeros(3), 0, 0.0, np.zeros(4), False)


def test_reproducible_with_a_seed():
    a, b = _filled(10), _filled(10)
    for buf in (a, b):
        buf.update_priorities(np.arange(10), np.arange(10.0))
    np.testing.assert_array_equal(a.sample(8).indices, b.sample(8).indices)


def test_buffer_takes_another_tree_class():
    made = []

    class CountingTree(SumTree):
        def __init__(self, capacity):
            super().__init__(capacity)
            made.append(capacity)
            self.updates = 0

        def update(self, indices, priorities):
            self.updates += 1
            super().update(indices, priorities)

    buf = PrioritizedReplayBuffer(16, (4,), seed=0, tree=CountingTree)
    assert made == [16] and isinstance(buf.tree, CountingTree)
    for t in range(8):
        buf.add(np.full(4, t), 0, 1.0, np.zeros(4), False)
    batch = buf.sample(4)
    buf.update_priorities(batch.indices, np.ones(4))
    assert buf.tree.updates == 9
    # the same draws as the default tree, since the class only counts
    ref = _filled(8, capacity=16)
    np.testing.assert_array_equal(_filled(8, capacity=16, tree=CountingTree).sample(8).indices, ref.sample(8).indices)
