"""The Q-network and Deep SARSA pieces that notebooks 08 and 09 have the student write, lifted once.

The notebooks train whatever the student wrote (see :mod:`helpers.fallback`); these are the
references they fall back on, and the exercises' solutions:

* notebook 08 (Q-network, one-step Q-learning with a network):
  :func:`td_target` — :math:`T = r + \\gamma (1 - \\text{terminated}) \\max_{a'} Q(s', a')` without
  gradient; :func:`td_loss` — the mean squared error on the taken actions only; :func:`update` — one
  gradient step (zero_grad, backward, step) that returns the loss;
* notebook 09 (Deep SARSA): :func:`epsilon_greedy` — batched ε-greedy actions from a seeded NumPy
  generator; :func:`sarsa_targets` — :math:`r + \\gamma\\,Q(s', a')` with the action actually taken next;
  :func:`sarsa_update` — the same gradient step with the SARSA target; :func:`sarsa_episode` — one
  on-policy episode (choose A′ *before* learning, carry it over).

Every batch is a set of tensors with a leading batch axis ``B``: states ``(B, n_features)`` float,
actions ``(B,)`` integer, rewards ``(B,)`` float, and the termination flags ``(B,)`` — ``terminated``,
never ``terminated or truncated``: a truncated episode still has a future to bootstrap from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "td_target",
    "td_loss",
    "update",
    "epsilon_greedy",
    "sarsa_targets",
    "sarsa_update",
    "sarsa_episode",
    "table_net",
]


# --- notebook 08: one-step Q-learning with a network ---------------------------------------------
def td_target(q_net: nn.Module, rewards: torch.Tensor, next_states: torch.Tensor, terminated: torch.Tensor,
              gamma: float) -> torch.Tensor:
    """The Q-learning TD target :math:`r + \\gamma (1 - \\text{terminated}) \\max_{a'} Q(s', a')`.

    Parameters
    ----------
    q_net : nn.Module
        Maps states ``(B, n_features)`` to Q-values ``(B, n_actions)``.
    rewards : torch.Tensor
        ``(B,)`` float rewards.
    next_states : torch.Tensor
        ``(B, n_features)`` float next states.
    terminated : torch.Tensor
        ``(B,)`` 1.0 where the episode terminated (no future), 0.0 otherwise (bool also accepted).
    gamma : float
        The discount factor.

    Returns
    -------
    torch.Tensor
        ``(B,)`` targets, computed under ``torch.no_grad()`` (a fixed label for the regression).
    """
    with torch.no_grad():
        next_q = q_net(next_states).max(dim=1).values
        return rewards + gamma * (1.0 - terminated.float()) * next_q


def td_loss(q_net: nn.Module, states: torch.Tensor, actions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error between :math:`Q(s, a)` of the *taken* actions and the targets.

    ``states`` ``(B, n_features)``, ``actions`` ``(B,)`` integer, ``targets`` ``(B,)``; returns a scalar
    tensor that carries gradients into ``q_net``'s parameters.
    """
    q_taken = q_net(states).gather(1, actions.long()[:, None]).squeeze(1)
    return F.mse_loss(q_taken, targets)


def update(q_net: nn.Module, optimizer: torch.optim.Optimizer, states: torch.Tensor, actions: torch.Tensor,
           rewards: torch.Tensor, next_states: torch.Tensor, terminated: torch.Tensor, gamma: float, *,
           target: Callable[..., torch.Tensor] = td_target,
           loss: Callable[..., torch.Tensor] = td_loss) -> float:
    """One gradient step of Q-learning on a batch; returns the loss before the step as a float.

    ``target`` and ``loss`` default to :func:`td_target` and :func:`td_loss` (a notebook passes the
    student's own).
    """
    targets = target(q_net, rewards, next_states, terminated, gamma)
    value = loss(q_net, states, actions, targets)
    optimizer.zero_grad()
    value.backward()
    optimizer.step()
    return value.item()


# --- notebook 09: Deep SARSA ---------------------------------------------------------------------
def epsilon_greedy(q_values: torch.Tensor, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """ε-greedy actions for a batch of Q-values.

    Parameters
    ----------
    q_values : torch.Tensor
        ``(B, n_actions)`` Q-values, one row per state.
    epsilon : float
        Probability of a uniformly random action (any of the ``n_actions``, the greedy one included).
    rng : np.random.Generator
        The only source of randomness, so that a seeded generator repeats the same actions.

    Returns
    -------
    np.ndarray
        ``(B,)`` int64 actions: the row's argmax, or with probability ε a random action.
    """
    q = torch.as_tensor(q_values).detach()
    batch, n_actions = q.shape
    explore = rng.random(batch) < epsilon
    random_actions = rng.integers(n_actions, size=batch)
    return np.where(explore, random_actions, q.argmax(dim=1).cpu().numpy()).astype(np.int64)


def sarsa_targets(q_net: nn.Module, rewards: torch.Tensor, next_obs: torch.Tensor, next_actions: torch.Tensor,
                  terminated: torch.Tensor, gamma: float) -> torch.Tensor:
    """The SARSA target :math:`r + \\gamma\\,Q(s', a')` with ``a'`` the action taken next, 0 future where terminated.

    ``rewards`` ``(B,)`` float, ``next_obs`` ``(B, n_features)``, ``next_actions`` ``(B,)`` integer,
    ``terminated`` ``(B,)`` bool (True only at a real ending, not at truncation). Returns ``(B,)``
    targets computed without gradient.
    """
    with torch.no_grad():
        next_q = q_net(next_obs).gather(1, next_actions.long()[:, None]).squeeze(1)
        return rewards + gamma * next_q * (~terminated.bool()).float()


def sarsa_update(q_net: nn.Module, optimizer: torch.optim.Optimizer, obs: torch.Tensor, actions: torch.Tensor,
                 rewards: torch.Tensor, next_obs: torch.Tensor, next_actions: torch.Tensor,
                 terminated: torch.Tensor, gamma: float, *,
                 targets: Callable[..., torch.Tensor] = sarsa_targets) -> float:
    """One gradient step on the mean of :math:`(r + \\gamma Q(s', a') - Q(s, a))^2`; returns the loss.

    The same step as notebook 08's :func:`update`, with the SARSA target ``targets`` (the student's,
    or :func:`sarsa_targets`).
    """
    target_values = targets(q_net, rewards, next_obs, next_actions, terminated, gamma)
    loss = td_loss(q_net, obs, actions, target_values)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def sarsa_episode(env: Any, obs: Any, act: Callable[[Any], int],
                  learn: Callable[[Any, int, float, Any, int, bool], Any]) -> tuple[float, dict[str, Any]]:
    """Play one on-policy SARSA episode from ``obs`` (the observation ``env.reset`` returned).

    ``act(obs)`` returns the policy's action; ``learn(obs, action, reward, next_obs, next_action,
    terminated)`` does one update. A′ is chosen for the next state *before* learning, and that same
    action is the one played next. The episode ends on ``terminated or truncated``; ``learn`` gets
    ``terminated`` only. Returns ``(undiscounted return, info of the last step)``.
    """
    action = act(obs)
    episode_return, done, info = 0.0, False, {}
    while not done:
        next_obs, reward, terminated, truncated, info = env.step(action)
        next_action = act(next_obs)
        learn(obs, action, reward, next_obs, next_action, terminated)
        obs, action = next_obs, next_action
        episode_return += float(reward)
        done = terminated or truncated
    return episode_return, info


# --- training with the student's code, or the reference --------------------------------------------
def table_net(table: Any) -> nn.Linear:
    """A linear network whose output for the one-hot row of state ``s`` is ``table[s]`` (for worked examples).

    ``table`` is ``(n_states, n_actions)``; the result maps ``(B, n_states)`` one-hot rows to
    ``(B, n_actions)`` Q-values and has trainable weights (so gradients can be inspected).
    """
    values = torch.as_tensor(np.asarray(table, dtype=np.float32))
    if values.ndim != 2:
        raise ValueError(f"table must be 2-D (n_states, n_actions), got shape {tuple(values.shape)}")
    net = nn.Linear(values.shape[0], values.shape[1], bias=False)
    with torch.no_grad():
        net.weight.copy_(values.T)
    return net
