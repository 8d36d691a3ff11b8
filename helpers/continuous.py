"""Continuous actions: the Gaussian policy head and the pieces of a PPO-style actor-critic (notebook 18).

For an action space of real numbers the policy network outputs the parameters of a Gaussian,
``μ_θ(s)`` and ``log σ_θ(s)`` (the *7강 Deep Q-learning* lecture's "μθ(St), σθ(St) … Gaussian
Distribution"), and the agent samples ``a ~ N(μ, σ²)``. These are the references notebook 18's
exercises fall back on (through :func:`helpers.fallback.yours_or_reference`)::

    log_pi = gaussian_log_prob(actions, mean, log_std)       # log N(a; μ, σ²), summed over action dims
    h = gaussian_entropy(log_std)                            # entropy of N(μ, σ²), summed over dims
    loss = clipped_policy_loss(log_pi, old_log_pi, advantages, clip)   # PPO's clipped surrogate

and the lesson's own building blocks: :class:`GaussianActorCritic` (the network),
:func:`gae_advantages` (generalised advantage estimation over a vector-environment rollout) and
:func:`evaluate_mean_action` (the deterministic policy ``a = μ_θ(s)``, played by :func:`helpers.evaluation.evaluate`).

Shapes: a batch of ``B`` states with ``d``-dimensional actions gives ``mean`` and ``log_std`` of shape
``(B, d)`` and one log-probability and one entropy per state, shape ``(B,)``.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn

__all__ = [
    "gaussian_log_prob", "gaussian_entropy", "clipped_policy_loss",
    "GaussianActorCritic", "gae_advantages", "evaluate_mean_action",
]

_LOG_2PI = math.log(2 * math.pi)


def gaussian_log_prob(actions: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """``log N(a; μ, σ²)`` of a diagonal Gaussian, summed over the action dimensions.

    Per dimension ``−(a − μ)² / (2σ²) − log σ − ½ log 2π``; the dimensions are independent, so their
    log-densities add up.

    Parameters
    ----------
    actions, mean : tensors of shape (B, d)
    log_std : tensor broadcastable to (B, d)
        ``log σ`` (the network outputs the log so that ``σ = exp(log σ)`` is always positive).

    Returns
    -------
    torch.Tensor of shape (B,)
    """
    z = (actions - mean) * torch.exp(-log_std)
    per_dim = -0.5 * z**2 - log_std - 0.5 * _LOG_2PI
    return per_dim.sum(-1)


def gaussian_entropy(log_std: torch.Tensor) -> torch.Tensor:
    """Entropy of a diagonal Gaussian, ``Σ_d (log σ_d + ½ log(2πe))``: shape (B, d) in, (B,) out.

    It does not depend on the mean: only the width of the bell decides how uncertain the policy is.
    """
    return (log_std + 0.5 * (1.0 + _LOG_2PI)).sum(-1)


def clipped_policy_loss(log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor,
                        clip: float) -> torch.Tensor:
    """PPO's clipped surrogate policy loss, a scalar to minimise.

    ``ρ = exp(log π_new − log π_old)``; the loss is ``−mean(min(ρ A, clip(ρ, 1 − ε, 1 + ε) A))``.
    At ``ρ = 1`` (the first step on fresh data) its gradient is the actor-critic gradient
    ``−mean(∇ log π · A)`` of notebook 16.

    Parameters
    ----------
    log_probs : tensor (B,)
        ``log π_θ(a|s)`` under the current parameters (with gradient).
    old_log_probs, advantages : tensors (B,)
        The log-probabilities when the actions were sampled, and the advantages: data (no gradient).
    clip : float
        ``ε``, e.g. 0.2.
    """
    ratio = torch.exp(log_probs - old_log_probs.detach())
    advantages = advantages.detach()
    return -torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages).mean()


class GaussianActorCritic(nn.Module):
    """Actor ``s → (μ_θ(s), log σ)`` and critic ``s → V(s)``: two tanh MLPs and one learned log-std.

    The mean is the actor network's output; ``log σ`` is one learned number per action dimension
    (``log_std``, initialised to 0, i.e. σ = 1), the same in every state — the usual choice for PPO.
    Pass ``state_dependent_std=True`` for the lecture's μθ(St), σθ(St): the actor network then outputs
    ``log σ`` as well, clamped to ``log_std_bounds``.
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = 64, *, state_dependent_std: bool = False,
                 log_std_bounds: tuple[float, float] = (-5.0, 1.0)):
        super().__init__()

        def mlp(n_out: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, n_out))

        self.act_dim, self.log_std_bounds = act_dim, log_std_bounds
        self.state_dependent_std = state_dependent_std
        self.actor = mlp(2 * act_dim if state_dependent_std else act_dim)
        self.log_std = None if state_dependent_std else nn.Parameter(torch.zeros(act_dim))
        self.critic = mlp(1)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(mean, log_std, value)`` of shapes (B, d), (B, d), (B,)."""
        out = self.actor(obs)
        if self.state_dependent_std:
            mean, log_std = out[..., : self.act_dim], out[..., self.act_dim :].clamp(*self.log_std_bounds)
        else:
            mean, log_std = out, self.log_std.expand_as(out)
        return mean, log_std, self.critic(obs).squeeze(-1)


def gae_advantages(rewards: np.ndarray, values: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                   final_values: np.ndarray, last_values: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    """Generalised advantage estimates of a vector-environment rollout (``SAME_STEP`` autoreset).

    ``δ_t = r_t + γ V(s_{t+1}) − V(s_t)`` with ``V(s_{t+1}) = 0`` where the episode terminated at ``t``,
    ``final_values[t]`` where it was truncated, ``last_values`` after the last step; then backwards
    ``A_t = δ_t + γλ A_{t+1}``, cut at every episode end. ``λ = 0`` gives the TD error, ``λ = 1`` the
    n-step return minus ``V(s_t)`` (notebook 16's advantage).

    Parameters
    ----------
    rewards, values, terminated, truncated, final_values : arrays (n_steps, n_envs)
    last_values : array (n_envs,)
    gamma, lam : float

    Returns
    -------
    np.ndarray (n_steps, n_envs), float32
    """
    rewards = np.asarray(rewards, dtype=np.float32)
    if rewards.ndim != 2:
        raise ValueError(f"rewards must have shape (n_steps, n_envs), got {rewards.shape}")
    for name, a in (("values", values), ("terminated", terminated), ("truncated", truncated),
                    ("final_values", final_values)):
        if np.shape(a) != rewards.shape:
            raise ValueError(f"{name} must have the rewards' shape {rewards.shape}, got {np.shape(a)}")
    if np.shape(last_values) != rewards.shape[1:]:
        raise ValueError(f"last_values must have shape (n_envs,) = {rewards.shape[1:]}, got {np.shape(last_values)}")
    terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
    advantages = np.zeros_like(rewards)
    next_values, next_adv = np.asarray(last_values, np.float32), np.zeros(rewards.shape[1], np.float32)
    for t in reversed(range(len(rewards))):
        bootstrap = np.where(terminated[t], 0.0, np.where(truncated[t], final_values[t], next_values))
        delta = rewards[t] + gamma * bootstrap - values[t]
        next_adv = delta + gamma * lam * np.where(terminated[t] | truncated[t], 0.0, next_adv)
        advantages[t] = next_adv
        next_values = values[t]
    return advantages


def evaluate_mean_action(model: GaussianActorCritic, env_id: str = "Pendulum-v1", n_episodes: int = 10, *,
                         seed: int = 10_000) -> np.ndarray:
    """Returns of ``n_episodes`` episodes played with the mean action ``a = μ_θ(s)`` (clipped to the
    action space): :func:`helpers.evaluation.evaluate` with that deterministic policy (episode ``i``
    starts from ``reset(seed=seed + i)``)."""
    from helpers.evaluation import evaluate

    probe = gym.make(env_id)
    low, high = probe.action_space.low, probe.action_space.high
    probe.close()

    def mean_action(obs_batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.clip(model(torch.as_tensor(obs_batch, dtype=torch.float32))[0].numpy(), low, high)

    return evaluate(mean_action, env_id, n_episodes, seed=seed)
