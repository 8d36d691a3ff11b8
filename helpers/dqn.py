"""Deep Q-Network (DQN) building blocks, lifted from ``11_dqn`` once taught there.

Everything notebook 11 builds step by step lives here once, so ``13_dqn_extensions`` can show each
extension as the small change it is:

* :class:`DQNConfig` — every hyperparameter in one place (CleanRL style);
* :func:`make_q_net` — the Q-network :math:`\\hat q(s, \\cdot \\mid \\theta)`, one output per action;
* :class:`ObsScale` and :func:`build_q_net` — the fixed input scaling in front of it (every feature
  about unit size) and the network :func:`train_dqn` actually trains;
* :func:`td_target` — the batched TD target (TD 목표)
  :math:`y = r + \\gamma\\,(1 - \\text{terminated})\\,\\max_{a'} \\hat q(s', a' \\mid \\theta^-)`;
* :func:`q_loss` — Huber (default) or MSE loss, optionally importance-weighted;
* :func:`linear_epsilon` — the ε-greedy exploration schedule;
* :func:`soft_update` — :math:`\\theta^- \\leftarrow \\tau\\theta + (1-\\tau)\\theta^-` (τ = 1: hard sync);
* :func:`train_dqn` — the training loop with the course's confirmed-solve rule;
  the network factory, the TD-target function and the replay buffer are pluggable.

The termination / truncation rule
---------------------------------
The buffer stores ``terminated``, never ``done = terminated or truncated``. When CartPole-v1 stops
at 500 steps (a *truncation*), the pole is still up and the state is as good as any: the TD target
bootstraps from :math:`s'` there. Only a real termination (pole fell, cart left the track) has
value 0 after it. The lecture notes' ``(1 - done)`` mask conflates the two.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from helpers._checks import check_int
from helpers.replay import Batch, ReplayBuffer

__all__ = [
    "DQNConfig",
    "DQNResult",
    "make_q_net",
    "ObsScale",
    "build_q_net",
    "td_target",
    "td_targets",
    "q_loss",
    "linear_epsilon",
    "soft_update",
    "train_dqn",
]

TDTarget = Callable[[nn.Module, nn.Module, Batch, float], torch.Tensor]
NetFactory = Callable[[int, int, Sequence[int]], nn.Module]


@dataclass
class DQNConfig:
    """Every DQN hyperparameter, named in one place.

    The defaults are the ones ``11_dqn`` settles on for CartPole-v1 (the notebook explains each).
    Steps are environment steps unless said otherwise.
    """

    env_id: str = "CartPole-v1"
    total_steps: int = 30_000  # budget of environment steps (training stops earlier once solved)
    gamma: float = 0.99  # discount factor γ (할인율)
    learning_rate: float = 2e-3  # Adam step size
    buffer_size: int = 50_000  # replay capacity (경험 재생 버퍼 크기)
    batch_size: int = 128  # transitions per gradient step (미니배치 크기)
    hidden: tuple[int, ...] = (64, 64)  # hidden layer widths of the Q-network
    obs_scale: tuple[float, ...] | None = (2.4, 2.0, 0.21, 2.0)  # divide each observation feature by
    #   this first (CartPole: x limit 2.4, θ limit 0.21 rad, velocities ~2), so all inputs are ~unit size
    learning_starts: int = 500  # random-action steps collected before the first update
    train_frequency: int = 1  # do gradient steps every this many env steps
    gradient_steps: int = 2  # gradient steps each time (replay ratio = gradient_steps / train_frequency)
    target_update_interval: int = 100  # update the target network every this many env steps ...
    tau: float = 1.0  # ... by θ⁻ ← τθ + (1−τ)θ⁻ (τ = 1.0 is the classic hard copy, `sync_qnet`)
    epsilon_start: float = 1.0  # ε-greedy: exploration probability at the start ...
    epsilon_end: float = 0.05  # ... and after the decay
    exploration_steps: int = 1_500  # length of the linear ε decay, in env steps
    loss: str = "huber"  # "huber" (smooth L1) or "mse"
    max_grad_norm: float | None = None  # gradient-norm clip (None: no clipping; Huber already bounds it)
    eval_interval: int = 64  # greedy evaluation every this many steps (the course's rule: at most 256)
    eval_episodes: int = 10  # quick greedy evaluation size
    eval_max_return: float | None = 500.0  # bound on one episode's return: stop a quick evaluation once
    #   it cannot reach solve_threshold (same verdict, less time; None: always play every episode)
    confirm_episodes: int = 100  # confirmation size
    solve_threshold: float = 475.0  # CartPole-v1's "solved" mean return
    eval_seed: int = 10_000  # evaluation episodes use reset seeds eval_seed, eval_seed + 1, ...
    stop_when_solved: bool = True  # stop at the confirmed solve (those weights are kept); False: run the
    #   whole total_steps budget past the first solve (evaluations go on; the solving weights are still kept)
    # Ablation switches (notebook 12 breaks DQN on purpose; the defaults are DQN as notebook 11 teaches it):
    replay: bool = True  # False: no experience replay, learn from the newest transition only (a batch of 1)
    target_network: bool = True  # False: no target network, the TD target uses the online network itself
    bootstrap_mask: str = "terminated"  # "done": mask the bootstrap with terminated OR truncated (the bug)

    def __post_init__(self) -> None:
        positive_ints = [
            "total_steps", "buffer_size", "batch_size", "train_frequency", "gradient_steps",
            "target_update_interval", "eval_interval", "eval_episodes", "confirm_episodes",
        ]  # fmt: skip
        for name in positive_ints:
            check_int(getattr(self, name), f"DQNConfig.{name}")
        for name in ["learning_starts", "exploration_steps"]:
            check_int(getattr(self, name), f"DQNConfig.{name}", minimum=0)
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"DQNConfig.gamma must lie in [0, 1], got {self.gamma!r}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"DQNConfig.tau must lie in (0, 1] (1.0 = hard target copy), got {self.tau!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"DQNConfig.learning_rate must be positive, got {self.learning_rate!r}")
        for name in ["epsilon_start", "epsilon_end"]:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"DQNConfig.{name} must lie in [0, 1], got {getattr(self, name)!r}")
        if self.bootstrap_mask not in ("terminated", "done"):
            raise ValueError(
                f"DQNConfig.bootstrap_mask must be 'terminated' (correct) or 'done' (terminated or truncated, "
                f"the classic bug), got {self.bootstrap_mask!r}"
            )
        if self.loss not in ("huber", "mse"):
            raise ValueError(f"DQNConfig.loss must be 'huber' or 'mse', got {self.loss!r}")
        if self.eval_max_return is not None and not self.eval_max_return >= self.solve_threshold:
            raise ValueError(
                f"DQNConfig.eval_max_return ({self.eval_max_return!r}) must bound one episode's return, so it "
                f"cannot be below solve_threshold ({self.solve_threshold!r}); use None to switch early stopping off"
            )
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"DQNConfig.max_grad_norm must be positive or None, got {self.max_grad_norm!r}")
        if self.obs_scale is not None:
            self.obs_scale = tuple(float(v) for v in self.obs_scale)
            if not self.obs_scale or not all(math.isfinite(v) and v > 0 for v in self.obs_scale):
                raise ValueError(
                    f"DQNConfig.obs_scale must list positive finite numbers or be None, got {self.obs_scale!r}"
                )
        self.hidden = tuple(int(h) for h in self.hidden)
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"DQNConfig.hidden must list positive layer widths, got {self.hidden!r}")

    @property
    def replay_ratio(self) -> float:
        """Gradient steps per environment step."""
        return self.gradient_steps / self.train_frequency

    def to_dict(self) -> dict[str, Any]:
        """The configuration as a plain dict (for JSON metrics)."""
        return asdict(self)


def make_q_net(obs_dim: int, n_actions: int, hidden: Sequence[int] = (64, 64)) -> nn.Sequential:
    """A multilayer perceptron mapping a state to one Q-value per action.

    ``obs_dim → hidden[0] → ReLU → … → n_actions`` (no activation on the output: Q-values can be
    any real number).

    Examples
    --------
    >>> net = make_q_net(4, 2, hidden=(32, 32))
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 2])
    """
    width = check_int(obs_dim, "obs_dim", hint="the length of one observation, e.g. 4 for CartPole")
    n_actions = check_int(n_actions, "n_actions", hint="e.g. 2 for CartPole")
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(width, int(h)), nn.ReLU()]
        width = int(h)
    layers.append(nn.Linear(width, n_actions))
    return nn.Sequential(*layers)


class ObsScale(nn.Module):
    """Divide each observation feature by a fixed scale: ``x / scale``.

    CartPole's features live on very different scales (the pole angle within ±0.21 rad, the cart
    position within ±2.4); dividing by those sizes hands the first linear layer inputs of about unit
    size. The scale is a registered buffer, so it is saved in the ``state_dict`` with the weights.

    Examples
    --------
    >>> ObsScale((2.0, 0.5))(torch.tensor([[1.0, 1.0]]))
    tensor([[0.5000, 2.0000]])
    """

    scale: torch.Tensor

    def __init__(self, scale: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(tuple(scale), dtype=torch.float32))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.shape[-1] != self.scale.shape[0]:
            raise ValueError(
                f"observations have {obs.shape[-1]} features but ObsScale has {self.scale.shape[0]} scales; "
                "give DQNConfig.obs_scale one number per observation feature (or None)"
            )
        return obs / self.scale

    def extra_repr(self) -> str:
        return f"scale={tuple(round(v, 4) for v in self.scale.tolist())}"


def build_q_net(
    config: DQNConfig, obs_dim: int, n_actions: int, factory: NetFactory | None = None
) -> nn.Module:
    """The network :func:`train_dqn` trains: ``factory(obs_dim, n_actions, config.hidden)`` (default
    :func:`make_q_net`), behind an :class:`ObsScale` when ``config.obs_scale`` is set.

    Use it to rebuild a trained network before ``load_state_dict``.
    """
    net = (factory or make_q_net)(obs_dim, n_actions, config.hidden)
    if config.obs_scale is None:
        return net
    if len(config.obs_scale) != obs_dim:
        raise ValueError(
            f"DQNConfig.obs_scale has {len(config.obs_scale)} numbers but {config.env_id} observations have "
            f"{obs_dim} features; give one scale per feature, or obs_scale=None"
        )
    return nn.Sequential(ObsScale(config.obs_scale), net)


def td_targets(
    rewards: torch.Tensor, next_q: torch.Tensor, terminated: torch.Tensor, truncated: torch.Tensor, gamma: float
) -> torch.Tensor:
    """TD targets from the target network's outputs: :math:`r + \\gamma (1 - \\text{terminated}) \\max_{a'} q'`.

    Notebook 11's exercise q1. ``rewards``, ``terminated`` and ``truncated`` are ``(B,)`` float
    tensors (1.0 = true), ``next_q`` the ``(B, n_actions)`` target-network values of the next states.
    ``truncated`` is accepted and deliberately unused: a time-limit truncation still bootstraps.

    Examples
    --------
    >>> one, zero = torch.ones(1), torch.zeros(1)
    >>> td_targets(one, torch.tensor([[1.0, 2.0]]), zero, one, 0.5)  # truncated: bootstraps
    tensor([2.])
    >>> td_targets(one, torch.tensor([[1.0, 2.0]]), one, zero, 0.5)  # terminated: r only
    tensor([1.])
    """
    return rewards + gamma * (1.0 - terminated) * next_q.max(dim=1).values


def td_target(q_net: nn.Module, target_net: nn.Module, batch: Batch, gamma: float) -> torch.Tensor:
    """The DQN TD target :math:`r + \\gamma (1 - \\text{terminated}) \\max_{a'} \\hat q(s', a' \\mid \\theta^-)`.

    Parameters
    ----------
    q_net : nn.Module
        The online network (unused by vanilla DQN; Double DQN uses it to pick :math:`a'`).
    target_net : nn.Module
        The target network :math:`\\theta^-` that evaluates :math:`s'`.
    batch : Batch
        A :class:`~helpers.replay.Batch` of tensors (``rewards``, ``next_obs``, ``terminated``).
    gamma : float
        The discount factor.

    Returns
    -------
    torch.Tensor
        ``(B,)`` targets, computed without gradient. Rows with ``terminated = 1`` are just ``r``;
        truncated rows (stored with ``terminated = 0``) bootstrap as usual.
    """
    with torch.no_grad():
        next_q = target_net(batch.next_obs).max(dim=1).values
        return batch.rewards + gamma * (1.0 - batch.terminated) * next_q


def q_loss(
    q_pred: torch.Tensor, target: torch.Tensor, kind: str = "huber", weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean regression loss between predicted Q-values and TD targets.

    ``kind="huber"`` is the smooth-L1 loss (quadratic for errors below 1, linear above, so one huge
    TD error cannot blow up a step); ``"mse"`` is the squared error the lecture notes use.
    ``weights`` (e.g. prioritized replay's importance-sampling weights) scale each row's loss before
    the mean.
    """
    if q_pred.shape != target.shape:
        raise ValueError(f"q_pred has shape {tuple(q_pred.shape)} but target has {tuple(target.shape)}")
    if kind == "huber":
        per_row = F.smooth_l1_loss(q_pred, target, reduction="none")
    elif kind == "mse":
        per_row = F.mse_loss(q_pred, target, reduction="none")
    else:
        raise ValueError(f"kind must be 'huber' or 'mse', got {kind!r}")
    if weights is not None:
        per_row = per_row * weights
    return per_row.mean()


def linear_epsilon(step: int, start: float, end: float, duration: int) -> float:
    """ε for ε-greedy: linear from ``start`` at step 0 to ``end`` at ``duration``, then constant."""
    if duration <= 0:
        return float(end)
    frac = min(1.0, max(0, step) / duration)
    return float(start + frac * (end - start))


def soft_update(target_net: nn.Module, q_net: nn.Module, tau: float) -> None:
    """Move the target network towards the online one: θ⁻ ← τθ + (1−τ)θ⁻ (τ = 1: copy)."""
    with torch.no_grad():
        if tau >= 1.0:
            target_net.load_state_dict(q_net.state_dict())
            return
        for tp, p in zip(target_net.parameters(), q_net.parameters()):
            tp.lerp_(p, tau)


@dataclass
class DQNResult:
    """What :func:`train_dqn` returns.

    Attributes
    ----------
    solved_at : int or None
        Environment steps at the confirmed solve, or ``None`` if the budget ran out first.
    wall_s : float
        Seconds of training until the confirmed solve (evaluation included), or until the end.
    cpu_s : float
        CPU seconds this process spent over the same span (``time.process_time``). With torch on one
        thread this is what ``wall_s`` would be on an idle machine; on a shared, busy machine
        ``wall_s`` is inflated and ``cpu_s`` is the fairer figure.
    steps : int
        Environment steps actually taken.
    q_net : nn.Module
        The trained online network holding the kept weights (the solving ones; else those with the
        best complete quick evaluation; else the last ones).
    state_dict : dict[str, torch.Tensor]
        A copy of those weights (``torch.save`` it).
    episode_returns, episode_lengths, episode_end_steps : list
        One entry per finished training (ε-greedy) episode.
    episode_q0, episode_discounted_returns : list[float]
        Per training episode: the online net's predicted :math:`\\max_a \\hat q(s_0, a)` at its start,
        and the discounted return :math:`\\sum_t \\gamma^t r_{t+1}` it then obtained (to study
        overestimation).
    evals : list[dict[str, Any]]
        One dict per greedy evaluation: ``step``, ``mean`` (quick, 10 episodes; ``None`` when it
        stopped early because it could no longer reach the threshold), ``mean_at_most`` (the mean,
        or for a stopped evaluation an upper bound on it, below the threshold), ``confirm_mean``
        (100 episodes, or ``None`` when not run).
    config : DQNConfig or None
        The configuration used.
    """

    solved_at: int | None
    wall_s: float
    steps: int
    q_net: nn.Module
    state_dict: dict[str, torch.Tensor]
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    episode_end_steps: list[int] = field(default_factory=list)
    episode_q0: list[float] = field(default_factory=list)
    episode_discounted_returns: list[float] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    config: DQNConfig | None = None
    cpu_s: float = 0.0

    @property
    def solved(self) -> bool:
        return self.solved_at is not None


# train_dqn's keywords are named after the pieces they replace (``make_q_net=``, ``td_target=``), so
# inside it those names are the arguments; this one keeps notebook 11's TD target reachable there.
_DQN_TD_TARGET = td_target


def train_dqn(
    config: DQNConfig | None = None,
    *,
    seed: int = 0,
    make_q_net: NetFactory | None = None,
    td_target: TDTarget | None = None,
    buffer: Any = None,
    progress: bool = True,
) -> DQNResult:
    """Train a DQN agent and stop at the course's confirmed solve.

    The loop, per environment step: ε-greedy action → store ``(s, a, r, s', terminated)`` →
    every ``train_frequency`` steps (after ``learning_starts``) ``gradient_steps`` updates on
    sampled mini-batches → target-network update → every ``eval_interval`` steps a 10-episode
    greedy evaluation; when its mean reaches ``solve_threshold``, a 100-episode greedy evaluation of
    the same weights confirms it (:func:`helpers.evaluation.confirmed_solve`) and training stops
    (``stop_when_solved=False``: it runs the whole budget; the solving weights are still the ones kept).

    Three switches of :class:`DQNConfig` take one of DQN's ideas out, for ablations (notebook 12):
    ``replay=False`` learns from the newest transition only (each gradient step uses a batch of 1, the
    transition just taken; nothing is sampled), ``target_network=False`` computes the TD target with
    the online network (no copy is made or updated), ``bootstrap_mask="done"`` stores ``terminated or
    truncated`` as the mask, so time-limit truncations stop the bootstrap too. The defaults leave
    training exactly as it is without these switches.

    Parameters
    ----------
    config : DQNConfig or None
        Hyperparameters (:class:`DQNConfig`; ``None``: the defaults).
    seed : int
        Seeds the network initialisation (``torch.manual_seed``), the environment
        (``reset(seed=seed)``, ``action_space.seed(seed)``), ε-greedy and the buffer's sampling.
    make_q_net : callable or None
        Network factory ``(obs_dim, n_actions, hidden) -> nn.Module`` (default: :func:`make_q_net`;
        a dueling network plugs in here). With ``config.obs_scale`` set, an :class:`ObsScale` goes in
        front of it (:func:`build_q_net`).
    td_target : callable or None
        ``(q_net, target_net, batch, gamma) -> (B,) targets`` (default: :func:`td_target`; Double
        DQN plugs in here). ``batch`` holds tensors.
    buffer : ReplayBuffer-like or None
        (Not with ``config.replay=False``.) Anything with ``add(obs, action, reward, next_obs, terminated)``, ``sample(batch_size) ->
        Batch`` and ``len()`` (default: a :class:`~helpers.replay.ReplayBuffer` of
        ``config.buffer_size``). When the batch has ``weights``, they scale the per-row loss; when the
        buffer has ``update_priorities(indices, td_errors)``, it is called after every gradient step
        with the absolute TD errors (prioritized replay plugs in here).
    progress : bool
        Show a ``tqdm.auto`` progress bar.

    Returns
    -------
    DQNResult
    """
    from tqdm.auto import tqdm

    from helpers.evaluation import confirmed_solve, greedy

    cfg = config if config is not None else DQNConfig()
    if not isinstance(cfg, DQNConfig):
        raise TypeError(f"config must be a DQNConfig, got {type(cfg).__name__}")
    target_fn = td_target if td_target is not None else _DQN_TD_TARGET

    env = gym.make(cfg.env_id)
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise ValueError(f"DQN needs a discrete action space; {cfg.env_id} has {env.action_space}")
    obs_shape = env.observation_space.shape
    obs_dim = int(np.prod(obs_shape))
    n_actions = int(env.action_space.n)

    torch.manual_seed(seed)
    q_net = build_q_net(cfg, obs_dim, n_actions, make_q_net)  # None: the MLP of make_q_net
    if cfg.target_network:
        target_net = copy.deepcopy(q_net)
        for p in target_net.parameters():
            p.requires_grad_(False)
    else:  # ablation: the TD target reads the online network itself (computed without gradient)
        target_net = q_net
    try:  # the fused kernel is ~25% faster for these tiny networks on a CPU
        optimizer = torch.optim.Adam(q_net.parameters(), lr=cfg.learning_rate, fused=True)
    except (RuntimeError, TypeError, ValueError):
        optimizer = torch.optim.Adam(q_net.parameters(), lr=cfg.learning_rate)
    if not cfg.replay and buffer is not None:
        raise ValueError("DQNConfig.replay=False learns from the newest transition only: pass no buffer")
    if buffer is None:  # without replay, a one-slot buffer holds just the newest transition
        buffer = ReplayBuffer(cfg.buffer_size if cfg.replay else 1, obs_shape, seed=seed)
    min_size = cfg.batch_size if cfg.replay else 1
    newest = np.zeros(1, dtype=np.int64)  # replay=False: the batch is slot 0, no sampling
    has_priorities = hasattr(buffer, "update_priorities")
    mask_done = cfg.bootstrap_mask == "done"  # ablation: store terminated OR truncated (the classic bug)
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)
    policy = greedy(q_net)

    result = DQNResult(solved_at=None, wall_s=0.0, steps=0, q_net=q_net, state_dict={}, config=cfg)
    best_mean, best_state = -math.inf, None

    def q0_of(obs: np.ndarray) -> float:
        with torch.no_grad():
            return float(q_net(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)).max())

    start, cpu_start = time.perf_counter(), time.process_time()
    obs, _ = env.reset(seed=seed)
    ep_return, ep_len, ep_disc, ep_q0 = 0.0, 0, 0.0, q0_of(obs)
    bar = tqdm(total=cfg.total_steps, desc="DQN", unit="step", disable=not progress, mininterval=0.5)
    stop = False
    step = 0
    while step < cfg.total_steps and not stop:
        # 1. act ε-greedily
        eps = linear_epsilon(step, cfg.epsilon_start, cfg.epsilon_end, cfg.exploration_steps)
        if step < cfg.learning_starts or rng.random() < eps:
            action = int(rng.integers(n_actions))
        else:
            with torch.no_grad():
                action = int(q_net(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)).argmax())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        step += 1
        # 2. store terminated (not done): truncation still bootstraps
        buffer.add(obs, action, reward, next_obs, terminated or (mask_done and truncated))
        ep_disc += (cfg.gamma**ep_len) * float(reward)
        ep_return += float(reward)
        ep_len += 1
        obs = next_obs
        if terminated or truncated:
            result.episode_returns.append(ep_return)
            result.episode_lengths.append(ep_len)
            result.episode_end_steps.append(step)
            result.episode_q0.append(ep_q0)
            result.episode_discounted_returns.append(ep_disc)
            bar.set_postfix(ret=f"{ep_return:.0f}", eps=f"{eps:.2f}", refresh=False)
            obs, _ = env.reset()
            ep_return, ep_len, ep_disc, ep_q0 = 0.0, 0, 0.0, q0_of(obs)

        # 3. learn from replayed mini-batches
        if step >= cfg.learning_starts and step % cfg.train_frequency == 0 and len(buffer) >= min_size:
            for _ in range(cfg.gradient_steps):
                batch = (buffer.sample(cfg.batch_size) if cfg.replay else buffer.gather(newest)).to_torch()
                q_pred = q_net(batch.obs).gather(1, batch.actions.unsqueeze(1)).squeeze(1)
                targets = target_fn(q_net, target_net, batch, cfg.gamma)
                loss = q_loss(q_pred, targets, cfg.loss, batch.weights)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.max_grad_norm is not None:
                    nn.utils.clip_grad_norm_(q_net.parameters(), cfg.max_grad_norm)
                optimizer.step()
                if has_priorities:
                    buffer.update_priorities(batch.indices, (targets - q_pred.detach()).abs().numpy())

        # 4. move the target network
        if cfg.target_network and step % cfg.target_update_interval == 0:
            soft_update(target_net, q_net, cfg.tau)

        # 5. greedy evaluation (the confirmed-solve rule)
        if step % cfg.eval_interval == 0 and step >= cfg.learning_starts:
            check = confirmed_solve(
                policy,
                cfg.env_id,
                threshold=cfg.solve_threshold,
                quick_episodes=cfg.eval_episodes,
                confirm_episodes=cfg.confirm_episodes,
                seed=cfg.eval_seed,
                max_return=cfg.eval_max_return,
            )
            record = {
                "step": step,
                "mean": None if check.stopped_early else float(check.quick_mean),
                "mean_at_most": float(check.quick_mean),
                "confirm_mean": check.confirm_mean,
            }
            result.evals.append(record)
            if not check.stopped_early and check.quick_mean > best_mean:
                best_mean, best_state = check.quick_mean, copy.deepcopy(q_net.state_dict())
            if check.solved and result.solved_at is None:
                result.solved_at = step
                result.wall_s = time.perf_counter() - start
                result.cpu_s = time.process_time() - cpu_start
                best_state = copy.deepcopy(q_net.state_dict())
                best_mean = math.inf  # the solving weights are the ones kept
                stop = cfg.stop_when_solved
            shown = f"<{check.quick_mean:.0f}" if check.stopped_early else f"{check.quick_mean:.0f}"
            bar.set_postfix(eval=shown, eps=f"{eps:.2f}", refresh=False)
        bar.update(1)
    bar.close()
    env.close()

    if result.solved_at is None:
        result.wall_s = time.perf_counter() - start
        result.cpu_s = time.process_time() - cpu_start
    result.steps = step
    if best_state is None:  # no complete evaluation: keep the last weights
        best_state = copy.deepcopy(q_net.state_dict())
    q_net.load_state_dict(best_state)
    result.state_dict = copy.deepcopy(best_state)
    return result
