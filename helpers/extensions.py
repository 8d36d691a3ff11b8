"""Double DQN's TD target and the dueling Q-network, lifted from ``13_dqn_extensions``.

Each is one plug-in piece of :func:`helpers.dqn.train_dqn`:

* :func:`double_td_target` replaces the ``td_target`` (TD 목표): the online network *chooses* the
  next action, the target network (목표 신경망) *values* it (van Hasselt et al., 2016)

  .. math::

      y = r + \\gamma\\,(1 - \\text{terminated})\\,
          \\hat q\\big(s', \\arg\\max_{a'} \\hat q(s', a' \\mid \\theta) \\,\\big|\\, \\theta^-\\big);

* :class:`DuelingQNet` replaces ``make_q_net``: a shared trunk and a :class:`DuelingHead` with a
  value stream :math:`V(s)` and an advantage stream :math:`A(s, \\cdot)`, recombined as
  :math:`Q(s, a) = V(s) + A(s, a) - \\frac{1}{|\\mathcal A|}\\sum_{a'} A(s, a')` (Wang et al., 2016).

Notebook 13 has the student write both (its exercises q2 and q3); these are the references its
lessons fall back on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from helpers.replay import Batch

__all__ = ["double_td_target", "DuelingHead", "DuelingQNet"]


def double_td_target(q_net: nn.Module, target_net: nn.Module, batch: Batch, gamma: float) -> torch.Tensor:
    """Double DQN's TD target: the online network picks :math:`a'`, the target network values it.

    Parameters
    ----------
    q_net : nn.Module
        The online network :math:`\\theta`; only its argmax over actions is used.
    target_net : nn.Module
        The target network :math:`\\theta^-` that values the chosen action.
    batch : Batch
        A :class:`~helpers.replay.Batch` of tensors (``rewards``, ``next_obs``, ``terminated``).
    gamma : float
        The discount factor.

    Returns
    -------
    torch.Tensor
        ``(B,)`` targets, computed without gradient. Terminated rows are just ``r``; truncated rows
        (stored with ``terminated = 0``) bootstrap as usual. Never larger than
        :func:`helpers.dqn.td_target`'s, since :math:`\\hat q(s', a' \\mid \\theta^-) \\le \\max_{a'}
        \\hat q(s', a' \\mid \\theta^-)` for any :math:`a'`.

    Examples
    --------
    >>> from helpers.replay import Batch
    >>> fixed = lambda table: (lambda x: torch.tensor(table))  # "networks" returning fixed Q-values
    >>> batch = Batch(obs=None, actions=None, rewards=torch.tensor([1.0, 1.0]), next_obs=torch.zeros(2, 4),
    ...               terminated=torch.tensor([0.0, 1.0]), indices=None)
    >>> double_td_target(fixed([[5.0, 1.0], [0.0, 2.0]]), fixed([[3.0, 4.0], [7.0, 6.0]]), batch, 0.5).tolist()
    [2.5, 1.0]
    """
    with torch.no_grad():
        best_next = q_net(batch.next_obs).argmax(dim=1, keepdim=True)  # a' = argmax_a' Q_θ(s', a')
        next_q = target_net(batch.next_obs).gather(1, best_next).squeeze(1)  # Q_θ⁻(s', a')
        return batch.rewards + gamma * (1.0 - batch.terminated) * next_q


class DuelingHead(nn.Module):
    """The dueling head: a value stream and an advantage stream, recombined into Q-values.

    ``value``: ``in_features → width → ReLU → 1`` gives :math:`V(s)`; ``advantage``:
    ``in_features → width → ReLU → n_actions`` gives :math:`A(s, \\cdot)`; the output is
    :math:`V(s) + A(s, a) - \\operatorname{mean}_{a'} A(s, a')`, so :math:`V(s)` is the mean of
    :math:`Q(s, \\cdot)` over actions (the mean-subtracted advantages average 0: identifiable).

    Parameters
    ----------
    in_features : int
        Width of the features the head reads (the trunk's output).
    n_actions : int
        Number of actions (Q-values per state).
    width : int
        Hidden width of each stream.
    """

    def __init__(self, in_features: int, n_actions: int, width: int = 64) -> None:
        super().__init__()
        self.value = nn.Sequential(nn.Linear(in_features, width), nn.ReLU(), nn.Linear(width, 1))
        self.advantage = nn.Sequential(nn.Linear(in_features, width), nn.ReLU(), nn.Linear(width, n_actions))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, in_features)`` features to ``(B, n_actions)`` Q-values."""
        v = self.value(features)  # (B, 1)
        a = self.advantage(features)  # (B, n_actions)
        return v + (a - a.mean(dim=1, keepdim=True))


class DuelingQNet(nn.Module):
    """A dueling Q-network: an MLP trunk, then a dueling head.

    The factory signature of :func:`helpers.dqn.make_q_net`, ``(obs_dim, n_actions, hidden)``, so it
    plugs into :func:`helpers.dqn.train_dqn` as ``make_q_net=DuelingQNet``. The trunk has the hidden
    layers but the last (``obs_dim → hidden[0] → ReLU → …``); each stream of the head gets its own last
    hidden layer of width ``hidden[-1]``.

    Parameters
    ----------
    obs_dim : int
        Size of one observation.
    n_actions : int
        Number of actions.
    hidden : sequence of int
        Hidden widths, as for :func:`~helpers.dqn.make_q_net`.
    head : callable
        ``(in_features, n_actions, width) -> nn.Module``, the head class (default :class:`DuelingHead`;
        notebook 13 passes the student's).

    Examples
    --------
    >>> net = DuelingQNet(4, 2, hidden=(64, 64))
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 2])
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int] = (64, 64),
                 head: Callable[[int, int, int], nn.Module] = DuelingHead) -> None:
        super().__init__()
        *trunk_widths, stream_width = hidden
        layers: list[nn.Module] = []
        width = obs_dim
        for h in trunk_widths:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.trunk = nn.Sequential(*layers)
        self.head = head(width, n_actions, stream_width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, obs_dim)`` observations to ``(B, n_actions)`` Q-values."""
        return self.head(self.trunk(x))
