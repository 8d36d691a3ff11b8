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

A2C's training loop (notebook 16's cells ``collect_rollout``, ``EpisodeReturns``, ``rollout_loss``,
``train_a2c``, lifted once; notebook 17 reuses it to compare A2C with A3C)::

    model, history = train_a2c(seed, pieces, total_steps)   # pieces: the student's two functions
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "discounted_returns", "normalise_returns", "reinforce_loss",
    "n_step_returns", "a2c_loss", "a2c_loss_terms",
    "A2CConfig", "ActorCritic", "EpisodeReturns", "collect_rollout", "rollout_loss", "REFERENCE_PIECES",
    "train_a2c",
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


# -- A2C's training loop (notebook 16) ---------------------------------------------------------


@dataclass(frozen=True)
class A2CConfig:
    """Notebook 16's hyperparameter cell (``N_ENVS``, ``N_STEPS``, ``GAMMA``, …), as one value.

    ``timeout`` (seconds, ``None`` = no limit) stops a run that takes too long, whatever the budget
    says (notebook 17 sets it; notebook 16's loop has none).
    """

    n_envs: int = 8  # synchronous environments (parallel actors)
    n_steps: int = 16  # steps per environment between updates: n_envs × n_steps transitions per update
    gamma: float = 0.99
    lr: float = 1e-3
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    max_grad_norm: float = 0.5
    hidden: int = 64
    eval_every: int = 256  # environment steps between solve checks (the course's rule)
    timeout: float | None = None

    def __post_init__(self) -> None:
        for name in ("n_envs", "n_steps", "hidden", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        _check_gamma(self.gamma)
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"timeout must be positive seconds or None, got {self.timeout}")


class ActorCritic(nn.Module):
    """Notebook 16's two networks: the actor π_θ(a|s) (policy network, logits out) and the critic V_v(s)
    (value network), each ``obs → hidden → hidden → out`` with tanh."""

    def __init__(self, obs_dim: int = 4, n_actions: int = 2, hidden: int = 64):
        super().__init__()

        def mlp(n_out: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, n_out))

        self.actor = mlp(n_actions)
        self.critic = mlp(1)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.actor(obs), self.critic(obs).squeeze(-1)  # logits, V(s)


def collect_rollout(model: ActorCritic, envs: EpisodeReturns, obs: np.ndarray,
                    n_steps: int) -> tuple[dict[str, np.ndarray], np.ndarray, list[float]]:
    """Step all environments ``n_steps`` times with actions sampled from the actor. Returns a dict of
    arrays ``(n_steps, n_envs, ...)``, the observation to continue from, and the returns of episodes that
    ended."""
    n_envs = envs.num_envs
    batch: dict[str, list[Any]] = {k: [] for k in ("obs", "actions", "rewards", "terminated", "truncated",
                                                   "final_values")}
    finished: list[float] = []
    for _ in range(n_steps):
        with torch.no_grad():
            logits, _ = model(torch.as_tensor(obs, dtype=torch.float32))
            actions = torch.multinomial(torch.softmax(logits, -1), 1).squeeze(1).numpy()
        next_obs, rewards, terminated, truncated, info = envs.step(actions)
        final_values = np.zeros(n_envs, np.float32)
        if truncated.any():  # bootstrap value of the real last observation (SAME_STEP: in info)
            final_obs = np.stack([info["final_obs"][i] if truncated[i] else next_obs[i] for i in range(n_envs)])
            with torch.no_grad():
                final_values = model(torch.as_tensor(final_obs, dtype=torch.float32))[1].numpy()
        for key, value in zip(batch, (obs, actions, rewards, terminated, truncated, final_values)):
            batch[key].append(value)
        obs = next_obs
        finished += envs.episode_returns(terminated | truncated)
    return {k: np.array(v) for k, v in batch.items()}, obs, finished


class EpisodeReturns(gym.vector.VectorWrapper):
    """Adds up each sub-environment's rewards; ``episode_returns(done)`` hands back the finished ones."""

    def reset(self, **kwargs: Any) -> Any:
        self._sums = np.zeros(self.num_envs)
        return self.env.reset(**kwargs)

    def step(self, actions: Any) -> Any:
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        self._sums += rewards
        return obs, rewards, terminated, truncated, info

    def episode_returns(self, done: np.ndarray) -> list[float]:
        out = self._sums[done].tolist()
        self._sums[done] = 0.0
        return out


def rollout_loss(model: ActorCritic, batch: dict[str, np.ndarray], last_obs: np.ndarray,
                 pieces: Mapping[str, Callable[..., Any]],
                 config: A2CConfig = A2CConfig()) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of one rollout from ``pieces["n_step_returns"]`` and ``pieces["a2c_loss"]``, and its three
    terms (for the plot)."""
    with torch.no_grad():
        last_values = model(torch.as_tensor(last_obs, dtype=torch.float32))[1].numpy()
    returns = pieces["n_step_returns"](batch["rewards"], batch["terminated"], batch["truncated"],
                                       batch["final_values"], last_values, config.gamma)
    returns = torch.as_tensor(np.asarray(returns, dtype=np.float32)).reshape(-1)
    logits, values = model(torch.as_tensor(batch["obs"], dtype=torch.float32).reshape(-1, last_obs.shape[-1]))
    actions = torch.as_tensor(batch["actions"]).reshape(-1)
    loss = pieces["a2c_loss"](logits, values, actions, returns, config.value_coef, config.entropy_coef)
    with torch.no_grad():
        terms = {k: v.item() for k, v in a2c_loss_terms(logits, values, actions, returns).items()}
    return loss, terms


#: The references of notebook 16's two exercises: what :func:`train_a2c` uses unless told otherwise.
REFERENCE_PIECES: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {"n_step_returns": n_step_returns, "a2c_loss": a2c_loss})


def train_a2c(seed: int, pieces: Mapping[str, Callable[..., Any]] | None = None, total_steps: int = 100_000,
              config: A2CConfig = A2CConfig(), progress: bool = True) -> tuple[ActorCritic, dict[str, Any]]:
    """Notebook 16's A2C loop: ``config.n_envs`` environments stepped in lock-step (``SAME_STEP``
    autoreset), one update per ``n_envs × n_steps`` transitions, a confirmed-solve check of the greedy
    actor every ``config.eval_every`` environment steps, stopping at the first confirmed solve.

    The same run as the notebook's cells for the same ``seed`` and ``pieces`` (the same random numbers
    in the same order: ``seed_everything(seed)``, then the network, then ``envs.reset(seed=seed)``).

    Parameters
    ----------
    seed : int
    pieces : mapping, optional
        ``{"n_step_returns": …, "a2c_loss": …}`` with notebook 16's signatures; a missing (or ``None``)
        piece, or ``pieces=None``, is the reference in :data:`REFERENCE_PIECES`.
    total_steps : int
        Environment-step budget, all environments together.
    config : A2CConfig
        The hyperparameters (notebook 16's by default) and an optional ``timeout`` in seconds.
    progress : bool
        Show a ``tqdm`` progress bar (it disappears when the run ends).

    Returns
    -------
    (model, history)
        The trained :class:`ActorCritic` (the confirmed weights when solved) and the notebook's history:
        ``episode_steps``, ``episode_returns``, ``eval_steps``, ``eval_mean``, ``losses`` (one dict of
        the three terms per update), ``solved_at`` (``None`` if not solved), ``check`` (the
        :class:`~helpers.evaluation.SolveCheck` of the solve), ``steps``; and, for notebook 17's
        comparison, ``eval_seconds`` (wall seconds at each check), ``seconds``, ``cpu_seconds`` (this
        process) and ``timed_out``.
    """
    from tqdm.auto import tqdm

    from helpers import seed_everything
    from helpers.evaluation import confirmed_solve, greedy

    unknown = set(pieces or {}) - set(REFERENCE_PIECES)
    if unknown:
        raise ValueError(f"unknown pieces {sorted(unknown)}: train_a2c takes {sorted(REFERENCE_PIECES)}")
    pieces = {name: (pieces or {}).get(name) or reference for name, reference in REFERENCE_PIECES.items()}
    cfg = config
    start, cpu_start = time.perf_counter(), time.process_time()
    seed_everything(seed)
    envs = EpisodeReturns(gym.make_vec("CartPole-v1", num_envs=cfg.n_envs, vectorization_mode="sync",
                                       vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}))
    model = ActorCritic(envs.single_observation_space.shape[0], int(envs.single_action_space.n), cfg.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    obs, _ = envs.reset(seed=seed)
    history: dict[str, Any] = {"episode_steps": [], "episode_returns": [], "eval_steps": [], "eval_mean": [],
                               "losses": [], "solved_at": None, "check": None, "eval_seconds": [],
                               "timed_out": False}
    steps, next_eval = 0, cfg.eval_every
    try:
        with tqdm(total=total_steps, desc=f"A2C seed {seed}", leave=False, disable=not progress) as bar:
            while steps < total_steps:
                if cfg.timeout is not None and time.perf_counter() - start > cfg.timeout:
                    history["timed_out"] = True
                    break
                batch, obs, finished = collect_rollout(model, envs, obs, cfg.n_steps)
                steps += cfg.n_envs * cfg.n_steps
                bar.update(cfg.n_envs * cfg.n_steps)
                history["episode_steps"] += [steps] * len(finished)
                history["episode_returns"] += finished
                loss, parts = rollout_loss(model, batch, obs, pieces, cfg)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                optimizer.step()
                history["losses"].append(parts)
                if steps >= next_eval:
                    next_eval += cfg.eval_every
                    check = confirmed_solve(greedy(model.actor))
                    history["eval_steps"].append(steps)
                    history["eval_mean"].append(check.quick_mean)
                    history["eval_seconds"].append(time.perf_counter() - start)
                    if check.solved:
                        history["solved_at"], history["check"] = steps, check
                        break
    finally:
        envs.close()
    history["steps"] = steps
    history["seconds"], history["cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu_start
    return model, history
