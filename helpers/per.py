"""Prioritized experience replay (우선순위 경험 재생, PER) on a sum-tree.

Taught in ``13_dqn_extensions``. Uniform experience replay draws every stored transition with the
same probability; prioritized replay (Schaul et al., 2016, "proportional" variant) draws transition
*i* with probability

.. math::

    P(i) = \\frac{p_i^\\alpha}{\\sum_k p_k^\\alpha}, \\qquad p_i = |\\delta_i| + \\varepsilon,

where :math:`\\delta_i` is its last TD error (TD 오차). Because the sampled data no longer follow the
replay distribution, each sample's loss is multiplied by an importance-sampling weight

.. math::

    w_i = \\left(\\frac{1}{N \\, P(i)}\\right)^\\beta \\Big/ \\max_j w_j ,

with :math:`\\beta` annealed from ``beta_start`` to 1 so the correction is complete by the end of
training. Drawing from :math:`P` naively costs O(n) per sample; :class:`SumTree` makes both drawing
and changing a priority O(log n).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from helpers._checks import check_int
from helpers.replay import Batch, ReplayBuffer, check_sample_size

__all__ = ["SumTree", "PrioritizedReplayBuffer"]


def _as_index_array(indices: Any) -> np.ndarray:
    """``indices`` (an int or a sequence of ints; empty is fine) as a flat int64 array."""
    arr = np.asarray(indices)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"indices must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64).reshape(-1)


class SumTree:
    """A binary tree whose leaves hold non-negative priorities and whose inner nodes hold sums.

    The root is the total of all priorities. To draw leaf *i* with probability
    ``priority[i] / total``, pick a number ``v`` uniformly in ``[0, total)`` and walk down from the
    root: go left when ``v`` is smaller than the left child's sum, otherwise subtract that sum and go
    right. Both that walk (:meth:`find`) and changing one priority (:meth:`update`, which refreshes
    the sums on the leaf's path to the root) touch one node per level: O(log n).

    Parameters
    ----------
    capacity : int
        Number of leaves (priorities). Internally rounded up to a power of two; the extra leaves
        stay at priority 0 and are never drawn.

    Examples
    --------
    >>> tree = SumTree(4)
    >>> tree.update([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0])
    >>> tree.total
    10.0
    >>> tree.find([0.5, 1.5, 9.9]).tolist()   # prefix sums: [0,1) -> 0, [1,3) -> 1, [6,10) -> 3
    [0, 1, 3]
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = check_int(capacity, "capacity")
        self._size = 1
        while self._size < self.capacity:
            self._size *= 2
        self._depth = self._size.bit_length() - 1  # levels below the root
        # tree[1] is the root, tree[k] has children 2k and 2k+1, leaves live at [size, 2 * size).
        self._tree = np.zeros(2 * self._size, dtype=np.float64)

    def __len__(self) -> int:
        return self.capacity

    def __repr__(self) -> str:
        return f"SumTree(capacity={self.capacity}, total={self.total:.6g})"

    @property
    def total(self) -> float:
        """The sum of all priorities (the root)."""
        return float(self._tree[1])

    @property
    def priorities(self) -> np.ndarray:
        """A copy of the leaf priorities, shape ``(capacity,)``."""
        return self._tree[self._size : self._size + self.capacity].copy()

    def __getitem__(self, indices: Any) -> np.ndarray | float:
        idx = _as_index_array(indices)
        self._check_indices(idx)
        values = self._tree[self._size + idx]
        return float(values[0]) if np.ndim(indices) == 0 else values

    def _check_indices(self, idx: np.ndarray) -> None:
        if idx.size and (idx.min() < 0 or idx.max() >= self.capacity):
            bad = idx[(idx < 0) | (idx >= self.capacity)][0]
            raise IndexError(f"leaf index {bad} is out of range for a SumTree of capacity {self.capacity}")

    def update(self, indices: Any, priorities: Any) -> None:
        """Set the priorities of the given leaves and refresh the sums above them.

        Parameters
        ----------
        indices : int or array-like of int
            Leaf indices in ``[0, capacity)`` (an int or a sequence). When an index repeats, its
            last priority wins.
        priorities : float or array-like of float
            Non-negative finite numbers, one per index (or a single number for all of them).
        """
        idx = _as_index_array(indices)
        prio = np.asarray(priorities, dtype=np.float64).reshape(-1)
        if prio.size not in (1, idx.size):
            raise ValueError(f"got {idx.size} indices but {prio.size} priorities; pass one per index")
        prio = np.broadcast_to(prio, idx.shape)
        if idx.size == 0:
            return
        self._check_indices(idx)
        if not np.all(np.isfinite(prio)) or np.any(prio < 0):
            raise ValueError("priorities must be finite and non-negative (use |TD error| + eps)")
        tree = self._tree
        if idx.size == 1:  # one leaf (every `add`): walk up its path, one node per level
            node = int(idx[0]) + self._size
            tree[node] = prio[0]
            for _ in range(self._depth):
                node //= 2
                tree[node] = tree[2 * node] + tree[2 * node + 1]
            return
        # Keep the last occurrence of each index, so repeated indices behave like sequential updates.
        _, last = np.unique(idx[::-1], return_index=True)
        keep = idx.size - 1 - last
        nodes = idx[keep] + self._size
        tree[nodes] = prio[keep]
        for _ in range(self._depth):
            # Shared ancestors appear several times; each copy writes the same (recomputed) sum.
            nodes //= 2
            left = 2 * nodes
            tree[nodes] = tree[left] + tree[left + 1]

    def find(self, values: Any) -> np.ndarray:
        """For each value in ``[0, total)``, the leaf whose prefix-sum interval contains it.

        Leaf *i* owns the interval ``[sum(p[:i]), sum(p[:i+1]))``, so a value drawn uniformly from
        ``[0, total)`` lands on leaf *i* with probability ``p[i] / total``. Leaves with priority 0 are
        never returned, even under floating-point round-off at interval edges.
        """
        if self.total <= 0:
            raise ValueError("cannot search an empty SumTree: every priority is 0")
        v = np.asarray(values, dtype=np.float64).reshape(-1).copy()
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError("values to find must be finite and non-negative")
        tree = self._tree
        nodes = np.ones(v.shape, dtype=np.int64)
        for _ in range(self._depth):
            nodes *= 2  # the left child
            left_sum = tree[nodes]
            go_right = (v >= left_sum) & (tree[nodes + 1] > 0)
            v -= left_sum * go_right
            nodes += go_right
        return nodes - self._size

    def sample(self, batch_size: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Draw ``batch_size`` leaf indices with probability proportional to priority.

        Stratified, as in the PER paper: ``[0, total)`` is cut into ``batch_size`` equal segments and
        one value is drawn uniformly in each, which lowers the variance of a batch while keeping every
        draw's marginal probability ``p[i] / total``.
        """
        check_int(batch_size, "batch_size")
        rng = np.random.default_rng() if rng is None else rng
        segment = self.total / batch_size
        values = (np.arange(batch_size) + rng.random(batch_size)) * segment
        return self.find(np.minimum(values, np.nextafter(self.total, 0.0)))


class PrioritizedReplayBuffer(ReplayBuffer):
    """A :class:`~helpers.replay.ReplayBuffer` that samples by TD error (proportional PER).

    Storage, ``add`` and the batch layout are the uniform buffer's; only *which* transitions a batch
    holds changes, and the batch gains importance-sampling ``weights`` and the ``indices`` to pass
    back to :meth:`update_priorities` after the loss is computed.

    Parameters
    ----------
    capacity : int
        Maximum number of transitions kept (oldest are overwritten).
    obs_shape : tuple[int, ...] or int
        Shape of one observation, e.g. ``(4,)`` for CartPole.
    alpha : float
        How strongly priorities shape sampling: 0 is uniform replay, 1 fully proportional.
    beta_start : float
        Importance-sampling exponent at the first ``sample`` call, in ``[0, 1]``.
    beta_steps : int
        Number of ``sample`` calls over which β grows linearly from ``beta_start`` to 1 (then stays).
    eps : float
        Added to ``|δ|`` so no transition's priority is ever 0 and every one can be replayed again.
    seed : int or None
        Seed of the buffer's own random generator.
    tree : callable
        ``capacity -> tree``, the sum-tree class (default :class:`SumTree`). Any class with this
        one's ``update(indices, priorities)``, ``sample(batch_size, rng)``, ``total`` and
        ``tree[indices]`` works (notebook 13 plugs in the student's).

    New transitions get the largest priority seen so far, so each is likely replayed at least once
    before its TD error is known.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...] | int,
        *,
        alpha: float = 0.6,
        beta_start: float = 0.4,
        beta_steps: int = 10_000,
        eps: float = 1e-3,
        seed: int | None = None,
        tree: Callable[[int], Any] = SumTree,
    ) -> None:
        if not (np.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be a finite number >= 0 (0 = uniform replay), got {alpha!r}")
        if not (np.isfinite(beta_start) and 0 <= beta_start <= 1):
            raise ValueError(f"beta_start must lie in [0, 1], got {beta_start!r}")
        check_int(beta_steps, "beta_steps", hint="the number of sample() calls over which beta reaches 1")
        if not (np.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be a positive number (it keeps priorities above 0), got {eps!r}")
        super().__init__(capacity, obs_shape, seed=seed)
        self.alpha = float(alpha)
        self.beta_start = float(beta_start)
        self.beta_steps = int(beta_steps)
        self.eps = float(eps)
        self.tree = tree(capacity)
        self.max_priority = 1.0  # in |δ| + eps units, before the exponent alpha
        self.sample_calls = 0

    @property
    def beta(self) -> float:
        """The importance-sampling exponent for the next ``sample`` call (annealed to 1)."""
        frac = min(1.0, self.sample_calls / self.beta_steps)
        return self.beta_start + frac * (1.0 - self.beta_start)

    def __repr__(self) -> str:
        return (
            f"PrioritizedReplayBuffer(capacity={self.capacity}, obs_shape={self.obs_shape}, size={self.size}, "
            f"alpha={self.alpha}, beta={self.beta:.3f})"
        )

    def add(self, obs: Any, action: int, reward: float, next_obs: Any, terminated: bool) -> None:
        """Store one transition (see :meth:`ReplayBuffer.add`) with the largest priority seen so far."""
        i = self.pos
        super().add(obs, action, reward, next_obs, terminated)
        self.tree.update(i, self.max_priority**self.alpha)

    def sample(self, batch_size: int) -> Batch:
        """Draw ``batch_size`` transitions with probability ``p_i^α / Σ p^α`` (with replacement).

        The batch's ``weights`` are the importance-sampling weights ``(N·P(i))^(-β)`` divided by the
        batch's largest weight (so they lie in ``(0, 1]`` and only ever shrink a step); ``indices``
        identify the rows for :meth:`update_priorities`. Each call advances the β schedule.

        Raises
        ------
        ValueError
            When the buffer holds fewer than ``batch_size`` transitions, or ``batch_size < 1``.
        """
        check_sample_size(batch_size, self.size)
        idx = self.tree.sample(batch_size, self.rng)
        probs = self.tree[idx] / self.tree.total
        weights = (self.size * probs) ** (-self.beta)
        weights = (weights / weights.max()).astype(np.float32)
        self.sample_calls += 1
        return self.gather(idx, weights)

    def update_priorities(self, indices: Any, td_errors: Any) -> None:
        """Set the priorities of sampled transitions to ``(|δ| + eps)^α`` from their new TD errors.

        Parameters
        ----------
        indices : array-like of int
            ``batch.indices`` of the batch the TD errors were computed on.
        td_errors : array-like or torch.Tensor
            One TD error per index (NumPy array, list or torch tensor; gradients are ignored).
        """
        if hasattr(td_errors, "detach"):  # a torch tensor
            td_errors = td_errors.detach().cpu().numpy()
        idx = _as_index_array(indices)
        delta = np.asarray(td_errors, dtype=np.float64).reshape(-1)
        if delta.size != idx.size:
            raise ValueError(
                f"got {idx.size} indices but {delta.size} TD errors; pass batch.indices and one TD error per row"
            )
        if not np.all(np.isfinite(delta)):
            raise ValueError("TD errors must be finite; a NaN or inf usually means the loss has diverged")
        if idx.size and (idx.min() < 0 or idx.max() >= self.size):
            raise IndexError(
                f"indices must point at stored transitions, in [0, {self.size}); got {idx.min()}..{idx.max()}"
            )
        priority = np.abs(delta) + self.eps
        self.tree.update(idx, priority**self.alpha)
        if priority.size:
            self.max_priority = max(self.max_priority, float(priority.max()))
