"""Policy-gradient building blocks lifted from notebooks 15 (REINFORCE) and 16 (A2C).

These are the references the two notebooks' exercises fall back on (through
:func:`helpers.fallback.yours_or_reference`), so "Run All" trains an agent even before the exercises
are written, and :func:`helpers.fallback.train_with_fallback` keeps a training run going when a
student's piece fails inside it.

REINFORCE (notebook 15)::

    returns = discounted_returns(rewards, gamma)          # G_t = r_{t+1} + γ G_{t+1}
    weights = normalise_returns(returns)                  # (G_t − mean) / (std + ε)
    loss = reinforce_loss(logits, actions, weights)       # −Σ_t w_t log π(a_t|s_t)

A2C (notebook 16)::

    returns = n_step_returns(rewards, terminated, truncated, final_values, last_values, gamma)
    loss = a2c_loss(logits, values, actions, returns, value_coef, entropy_coef)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "discounted_returns", "normalise_returns", "reinforce_loss",
    "n_step_returns", "a2c_loss", "a2c_loss_terms",

]


def _check_gamma(gamma: float) -> float:
    gamma = float(gamma)
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be a discount factor in [0, 1], got {gamma}")
    return gamma


# -- REINFORCE (notebook 15) ------------------------------------------------------------------


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """Returns-to-go of one episode: ``G_t = r_{t+1} + γ G_{t+1}``, computed backwards.

    Parameters
    ----------
    rewards : array of shape (T,)
        ``rewards[t]`` is the reward received after the action of step ``t``.
    gamma : float
        Discount factor in [0, 1].

    Returns
    -------
    np.ndarray of shape (T,), float32
        ``G[t] = rewards[t] + γ rewards[t+1] + γ² rewards[t+2] + …``; the last step's is its own reward.
    """
    rewards = np.asarray(rewards, dtype=np.float32)
    if rewards.ndim != 1:
        raise ValueError(f"rewards must be one episode, a 1-D array; got shape {rewards.shape}")
    gamma = _check_gamma(gamma)
    returns = np.zeros_like(rewards)
    g = 0.0
    for t in reversed(range(len(rewards))):
        g = rewards[t] + gamma * g
        returns[t] = g
    return returns


def normalise_returns(returns: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """The episode's returns centred on their mean (the baseline) and scaled to unit standard deviation.

    ``(G − mean(G)) / (std(G) + eps)`` with NumPy's ``std`` (ddof 0); ``eps`` keeps an episode of
    equal returns finite (all zeros).
    """
    returns = np.asarray(returns, dtype=np.float32)
    return (returns - returns.mean()) / (returns.std() + eps)


def reinforce_loss(logits: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The REINFORCE loss of one episode, ``−Σ_t w_t log π_θ(a_t|s_t)``: a scalar to minimise.

    Parameters
    ----------
    logits : tensor (T, n_actions)
        The policy network's output for the episode's observations.
    actions : int64 tensor (T,)
        The actions taken.
    weights : tensor (T,)
        The per-step weights (``G_t`` or normalised returns); data, so no gradient flows into them.
    """
    log_pi = torch.log_softmax(logits, dim=-1).gather(1, actions.long().unsqueeze(1)).squeeze(1)
    return -(weights.detach() * log_pi).sum()


# -- A2C (notebook 16) ------------------------------------------------------------------------


def n_step_returns(rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                   final_values: np.ndarray, last_values: np.ndarray, gamma: float) -> np.ndarray:
    """n-step returns of a vector-environment rollout, shape ``(n_steps, n_envs)``.

    Backwards from ``G = last_values`` (``V`` of the observation after the rollout):
    ``G_t = r_t`` where the episode terminated at step ``t``; ``G_t = r_t + γ final_values[t]`` where it
    was truncated (``V`` of the real last observation); else ``G_t = r_t + γ G_{t+1}``. With gymnasium's
    ``SAME_STEP`` autoreset every step is a real transition, so an episode end simply cuts the sum.

    Parameters
    ----------
    rewards, terminated, truncated, final_values : arrays (n_steps, n_envs)
    last_values : array (n_envs,)
    gamma : float
    """
    rewards = np.asarray(rewards, dtype=np.float32)
    if rewards.ndim != 2:
        raise ValueError(f"rewards must have shape (n_steps, n_envs), got {rewards.shape}")
    for name, a in (("terminated", terminated), ("truncated", truncated), ("final_values", final_values)):
        if np.shape(a) != rewards.shape:
            raise ValueError(f"{name} must have the rewards' shape {rewards.shape}, got {np.shape(a)}")
    if np.shape(last_values) != rewards.shape[1:]:
        raise ValueError(f"last_values must have shape (n_envs,) = {rewards.shape[1:]}, got {np.shape(last_values)}")
    gamma = _check_gamma(gamma)
    returns = np.zeros_like(rewards)
    g = np.asarray(last_values, dtype=np.float32)
    for t in reversed(range(len(rewards))):
        bootstrap = np.where(truncated[t], final_values[t], g)
        g = rewards[t] + gamma * np.where(terminated[t], 0.0, bootstrap)
        returns[t] = g
    return returns


def a2c_loss_terms(logits: torch.Tensor, values: torch.Tensor, actions: torch.Tensor,
                   returns: torch.Tensor) -> dict[str, torch.Tensor]:
    """The three terms of the A2C loss, each a mean over the batch of transitions.

    ``actor``: mean of ``−log π(a|s) · A`` with the advantage ``A = G − V(s)`` detached;
    ``critic``: mean of ``(G − V(s))²``; ``entropy``: mean entropy of ``π(·|s)``.
    """
    log_probs = torch.log_softmax(logits, dim=-1)
    log_pi = log_probs.gather(1, actions.long().unsqueeze(1)).squeeze(1)
    advantages = (returns - values).detach()  # the critic's verdict, a constant for the actor
    return {
        "actor": -(log_pi * advantages).mean(),
        "critic": F.mse_loss(values, returns),
        "entropy": -(log_probs.exp() * log_probs).sum(-1).mean(),
    }


def a2c_loss(logits: torch.Tensor, values: torch.Tensor, actions: torch.Tensor, returns: torch.Tensor,
             value_coef: float, entropy_coef: float) -> torch.Tensor:
    """``actor + value_coef · critic − entropy_coef · entropy`` (see :func:`a2c_loss_terms`).

    Parameters
    ----------
    logits : tensor (B, n_actions)
    values : tensor (B,)
        The critic's ``V(s)`` (with gradient).
    actions : int64 tensor (B,)
    returns : tensor (B,)
        The n-step returns (data).
    value_coef, entropy_coef : float
    """
    terms = a2c_loss_terms(logits, values, actions, returns)
    return terms["actor"] + value_coef * terms["critic"] - entropy_coef * terms["entropy"]


# -- training the student's pieces ------------------------------------------------------------
