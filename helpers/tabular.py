"""Learning from samples with tables: Monte Carlo and TD(0) prediction, SARSA and Q-learning control.

Dynamic programming (notebook 06) needs the model ``P`` and ``R``. The methods here only need
episodes: ``(state, action, reward, next state, terminated)`` as the environment hands them out.
Taught in notebook 07 (Monte Carlo, TD, SARSA and Q-learning), where the student writes each update;
the notebook's episode loops then call the student's function through their ``update=`` argument.

=====================  ===========================================================================
update                 rule (``α`` step size, ``γ`` discount, ``d`` = 1 if the step terminated)
=====================  ===========================================================================
:func:`mc_update`      ``G ← r_t + γ G`` backwards over the episode; ``V(s_t) ← V(s_t) + α (G − V(s_t))``
:func:`td0_update`     ``V(s) ← V(s) + α (r + γ (1 − d) V(s') − V(s))``
:func:`sarsa_update`   ``Q(s,a) ← Q(s,a) + α (r + γ (1 − d) Q(s',a') − Q(s,a))``  (on-policy)
:func:`q_learning_update`  ``Q(s,a) ← Q(s,a) + α (r + γ (1 − d) max_b Q(s',b) − Q(s,a))``  (off-policy)
=====================  ===========================================================================

Every update changes the table in place and returns it. States and actions are integer indices
(the observation of a ``Discrete`` gymnasium environment).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from helpers._checks import check_int

__all__ = [
    "Episode",
    "epsilon_greedy",
    "mc_prediction",
    "mc_update",
    "q_learning",
    "q_learning_update",
    "sample_episode",
    "sarsa",
    "sarsa_update",
    "td0_update",
    "td_prediction",
]


# --------------------------------------------------------------------------------------------------
# The four updates
# --------------------------------------------------------------------------------------------------
def mc_update(V: np.ndarray, states: Sequence[int], rewards: Sequence[float], alpha: float,
              gamma: float) -> np.ndarray:
    """Every-visit constant-α Monte Carlo: move ``V(s_t)`` towards the return ``G_t`` of each visit.

    Parameters
    ----------
    V : np.ndarray
        State values ``(n_states,)``, changed in place.
    states, rewards : sequences of equal length ``T``
        ``states[t]`` is ``S_t`` and ``rewards[t]`` is ``R_{t+1}``, the reward of the step out of it.
        The episode must be complete (it ended in a terminal state), so ``G_t`` needs no bootstrap.
    alpha, gamma : float
        Step size and discount.

    Returns
    -------
    np.ndarray
        ``V``. The episode is walked backwards (``t = T−1, …, 0``), so ``G`` is built in one pass.
    """
    g = 0.0
    for s, r in zip(reversed(states), reversed(rewards)):
        g = r + gamma * g
        V[s] += alpha * (g - V[s])
    return V


def td0_update(V: np.ndarray, s: int, r: float, s_next: int, terminated: bool, alpha: float,
               gamma: float) -> np.ndarray:
    """TD(0): move ``V(s)`` towards the TD target ``r + γ (1 − terminated) V(s')``."""
    target = r + gamma * (1.0 - float(terminated)) * V[s_next]
    V[s] += alpha * (target - V[s])
    return V


def sarsa_update(Q: np.ndarray, s: int, a: int, r: float, s_next: int, a_next: int, terminated: bool,
                 alpha: float, gamma: float) -> np.ndarray:
    """SARSA: move ``Q(s, a)`` towards ``r + γ (1 − terminated) Q(s', a')``, ``a'`` the action taken next."""
    target = r + gamma * (1.0 - float(terminated)) * Q[s_next, a_next]
    Q[s, a] += alpha * (target - Q[s, a])
    return Q


def q_learning_update(Q: np.ndarray, s: int, a: int, r: float, s_next: int, terminated: bool,
                      alpha: float, gamma: float) -> np.ndarray:
    """Q-learning: move ``Q(s, a)`` towards ``r + γ (1 − terminated) max_b Q(s', b)``, whatever is done next."""
    target = r + gamma * (1.0 - float(terminated)) * np.max(Q[s_next])
    Q[s, a] += alpha * (target - Q[s, a])
    return Q


# --------------------------------------------------------------------------------------------------
# Episodes and prediction
# --------------------------------------------------------------------------------------------------
@dataclass
class Episode:
    """One episode as parallel lists: step ``t`` went ``states[t]`` → ``next_states[t]``."""

    states: list[int] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    next_states: list[int] = field(default_factory=list)
    terminated: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.states)


def sample_episode(env, choose_action: Callable[[int], int], *, seed: int | None = None,
                   max_steps: int = 100_000) -> Episode:
    """Play one episode with ``choose_action(state) -> action`` and record it.

    ``seed`` is passed to ``env.reset`` (give it once, for the first episode). The episode ends when
    the environment terminates or truncates it, or after ``max_steps`` steps.
    """
    check_int(max_steps, "max_steps", minimum=1)
    episode = Episode()
    s, _ = env.reset(seed=seed)
    for _ in range(max_steps):
        a = choose_action(s)
        s_next, r, terminated, truncated, _ = env.step(a)
        episode.states.append(int(s))
        episode.actions.append(int(a))
        episode.rewards.append(float(r))
        episode.next_states.append(int(s_next))
        episode.terminated.append(bool(terminated))
        if terminated or truncated:
            break
        s = s_next
    return episode


def _rms(V: np.ndarray, v_true: np.ndarray | None, mask: np.ndarray | None) -> float:
    err = V - v_true
    return float(np.sqrt(np.mean(err[mask] ** 2 if mask is not None else err**2)))


def mc_prediction(episodes: Sequence[Episode], n_states: int, alpha: float, gamma: float, *,
                  update: Callable[..., np.ndarray] = mc_update, v_true: np.ndarray | None = None,
                  mask: np.ndarray | None = None, V: np.ndarray | None = None) -> tuple[np.ndarray, list[float]]:
    """Monte Carlo prediction: ``update(V, states, rewards, alpha, gamma)`` once per finished episode.

    Returns ``(V, rms)``: the values and, when ``v_true`` is given, the root-mean-square error
    over the states of ``mask`` after each episode (else an empty list).
    """
    V = np.zeros(n_states) if V is None else np.array(V, dtype=float)
    rms: list[float] = []
    for ep in episodes:
        if not ep.terminated or not ep.terminated[-1]:
            raise ValueError("Monte Carlo needs complete episodes: this one was cut off before it terminated")
        V = update(V, ep.states, ep.rewards, alpha, gamma)
        if v_true is not None:
            rms.append(_rms(V, v_true, mask))
    return V, rms


def td_prediction(episodes: Sequence[Episode], n_states: int, alpha: float, gamma: float, *,
                  update: Callable[..., np.ndarray] = td0_update, v_true: np.ndarray | None = None,
                  mask: np.ndarray | None = None, V: np.ndarray | None = None) -> tuple[np.ndarray, list[float]]:
    """TD(0) prediction: ``update(V, s, r, s', terminated, alpha, gamma)`` after every step.

    Returns ``(V, rms)`` as :func:`mc_prediction` does (the error is recorded at the end of each episode).
    """
    V = np.zeros(n_states) if V is None else np.array(V, dtype=float)
    rms: list[float] = []
    for ep in episodes:
        for s, r, s_next, done in zip(ep.states, ep.rewards, ep.next_states, ep.terminated):
            V = update(V, s, r, s_next, done, alpha, gamma)
        if v_true is not None:
            rms.append(_rms(V, v_true, mask))
    return V, rms


# --------------------------------------------------------------------------------------------------
# Control
# --------------------------------------------------------------------------------------------------
def epsilon_greedy(Q: np.ndarray, s: int, epsilon: float, rng: np.random.Generator) -> int:
    """With probability ``epsilon`` a random action, else a greedy one (ties broken at random)."""
    if rng.random() < epsilon:
        return int(rng.integers(Q.shape[1]))
    q = Q[s]
    best = np.flatnonzero(q == q.max())
    return int(best[0] if len(best) == 1 else rng.choice(best))


def _check_control(env, n_episodes: int, epsilon: float) -> tuple[int, int]:
    check_int(n_episodes, "n_episodes", minimum=1)
    if not 0.0 <= float(epsilon) <= 1.0:
        raise ValueError(f"epsilon is a probability in [0, 1], got {epsilon}")
    try:
        return int(env.observation_space.n), int(env.action_space.n)
    except AttributeError:
        raise TypeError("tabular control needs an environment with Discrete observations and actions") from None


def sarsa(env, n_episodes: int, alpha: float, gamma: float, epsilon: float, *, seed: int = 0,
          update: Callable[..., np.ndarray] = sarsa_update, Q: np.ndarray | None = None,
          max_steps: int = 10_000) -> tuple[np.ndarray, list[float]]:
    """SARSA with an ε-greedy policy: the action it bootstraps on is the action it takes next.

    Returns ``(Q, returns)``: the table and each episode's undiscounted return (what the ε-greedy
    agent really collected while learning). ``max_steps`` caps an episode that never ends.
    """
    n_s, n_a = _check_control(env, n_episodes, epsilon)
    Q = np.zeros((n_s, n_a)) if Q is None else Q
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)
    returns = []
    for episode in range(n_episodes):
        s, _ = env.reset(seed=seed if episode == 0 else None)
        a = epsilon_greedy(Q, s, epsilon, rng)
        total = 0.0
        for _ in range(max_steps):
            s_next, r, terminated, truncated, _ = env.step(a)
            a_next = epsilon_greedy(Q, s_next, epsilon, rng)
            Q = update(Q, s, a, r, s_next, a_next, terminated, alpha, gamma)
            total += r
            if terminated or truncated:
                break
            s, a = s_next, a_next
        returns.append(total)
    return Q, returns


def q_learning(env, n_episodes: int, alpha: float, gamma: float, epsilon: float, *, seed: int = 0,
               update: Callable[..., np.ndarray] = q_learning_update, Q: np.ndarray | None = None,
               max_steps: int = 10_000) -> tuple[np.ndarray, list[float]]:
    """Q-learning with an ε-greedy behaviour policy: it bootstraps on the greedy action instead.

    Returns ``(Q, returns)`` as :func:`sarsa` does. ``epsilon=1`` makes the behaviour uniformly
    random, and the greedy policy of ``Q`` still approaches the optimal one (off-policy learning).
    """
    n_s, n_a = _check_control(env, n_episodes, epsilon)
    Q = np.zeros((n_s, n_a)) if Q is None else Q
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)
    returns = []
    for episode in range(n_episodes):
        s, _ = env.reset(seed=seed if episode == 0 else None)
        total = 0.0
        for _ in range(max_steps):
            a = epsilon_greedy(Q, s, epsilon, rng)
            s_next, r, terminated, truncated, _ = env.step(a)
            Q = update(Q, s, a, r, s_next, terminated, alpha, gamma)
            total += r
            if terminated or truncated:
                break
            s = s_next
        returns.append(total)
    return Q, returns
