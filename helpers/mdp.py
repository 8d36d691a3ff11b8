"""A finite MDP as arrays, and the Bellman expectation equation solved two ways.

The five elements of a Markov decision process (MDP, 마르코프 결정 과정) — states S, actions A,
transition probabilities P, rewards R and the discount γ — become NumPy arrays, so every equation of
the foundations notebooks is one line of array code:

===========  ==============  ===========================================================
element      array           meaning
===========  ==============  ===========================================================
S, A         sizes           ``n_states`` (every cell, walls included) and ``n_actions``
P            ``(S, A, S)``   ``P[s, a, s']`` = probability that action ``a`` in ``s`` leads to ``s'``
R            ``(S, A)``      expected reward of taking ``a`` in ``s``
γ            ``gamma``       the discount factor
(terminal)   ``(S,)`` bool   ``acting[s]``: the agent acts in ``s`` (not a wall, not the goal)
===========  ==============  ===========================================================

A policy is an array ``pi[s, a]`` of action probabilities (rows sum to 1). Values of states where the
agent does not act (walls, the goal) are 0, and a step into the goal ends the episode, so nothing is
bootstrapped after it. Taught in notebook 05 (MDP and Bellman equations) and used by 06 and 07.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TabularMDP", "gridworld_mdp", "uniform_policy", "policy_evaluation", "solve_bellman", "q_from_v"]


@dataclass(frozen=True)
class TabularMDP:
    """A finite MDP ``(S, A, P, R, γ)`` as arrays (see the module docstring for the shapes)."""

    P: np.ndarray
    R: np.ndarray
    acting: np.ndarray
    gamma: float

    @property
    def n_states(self) -> int:
        """Number of states ``|S|``."""
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        """Number of actions ``|A|``."""
        return self.P.shape[1]

    def policy_model(self, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(P_π, r_π)``: the state-to-state transition matrix and expected reward under policy ``pi``.

        ``P_π[s, s'] = Σ_a π(a|s) P[s, a, s']`` and ``r_π[s] = Σ_a π(a|s) R[s, a]``, both zero in
        states where the agent does not act.
        """
        pi = _check_policy(pi, self)
        weights = pi * self.acting[:, None]
        return np.einsum("sa,sat->st", weights, self.P), np.einsum("sa,sa->s", weights, self.R)


def gridworld_mdp(env=None, gamma: float = 0.9) -> TabularMDP:
    """The course's GridWorld as a :class:`TabularMDP`, read off ``env.transition`` cell by cell.

    Parameters
    ----------
    env : GridWorldEnv, str or None
        A :class:`helpers.gridworld.GridWorldEnv`, a layout text map, or ``None`` for the 3×4 world.
    gamma : float
        The discount factor, in ``[0, 1]``.

    Moves are deterministic, so each ``P[s, a]`` row holds a single 1. A step that reaches the goal
    leads to the goal, where the agent no longer acts (``acting`` is False there and at walls).
    """
    from helpers.gridworld import GridWorldEnv

    if env is None or isinstance(env, str):
        env = GridWorldEnv(layout=env) if env is not None else GridWorldEnv()
    if not isinstance(env, GridWorldEnv):
        env = getattr(env, "unwrapped", env)
        if not isinstance(env, GridWorldEnv):
            raise TypeError(f"gridworld_mdp needs a GridWorldEnv (or a layout string), got {type(env).__name__}")
    if not 0.0 <= float(gamma) <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    n, n_a = env.n_states, env.n_actions
    P = np.zeros((n, n_a, n))
    R = np.zeros((n, n_a))
    acting = np.zeros(n, dtype=bool)
    for cell in env.nonterminal_states():
        s = env.to_index(cell)
        acting[s] = True
        for a in range(n_a):
            next_cell, reward, _ = env.transition(cell, a)
            P[s, a, env.to_index(next_cell)] = 1.0
            R[s, a] = reward
    return TabularMDP(P=P, R=R, acting=acting, gamma=float(gamma))


def uniform_policy(mdp: TabularMDP) -> np.ndarray:
    """The uniform random policy: every action with probability ``1 / |A|`` in every state."""
    return np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)


def policy_evaluation(mdp: TabularMDP, pi: np.ndarray, tol: float = 1e-10,
                      max_sweeps: int = 100_000) -> tuple[np.ndarray, int]:
    """Iterative policy evaluation (반복적 정책 평가): apply the Bellman expectation backup until it settles.

    ``V ← r_π + γ P_π V`` over all states at once (a synchronous sweep), from ``V = 0``, until no value
    moves by more than ``tol``.

    Returns
    -------
    (V, sweeps) : the values ``(S,)`` and the number of sweeps it took.
    """
    P_pi, r_pi = mdp.policy_model(pi)
    v = np.zeros(mdp.n_states)
    for sweep in range(1, max_sweeps + 1):
        new = r_pi + mdp.gamma * P_pi @ v
        if np.max(np.abs(new - v)) < tol:
            return new, sweep
        v = new
    raise RuntimeError(f"policy evaluation did not settle within {max_sweeps} sweeps (is gamma < 1?)")


def solve_bellman(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """The exact ``V_π`` from the linear system ``(I − γ P_π) V = r_π`` (the Bellman expectation equation)."""
    P_pi, r_pi = mdp.policy_model(pi)
    return np.linalg.solve(np.eye(mdp.n_states) - mdp.gamma * P_pi, r_pi)


def q_from_v(mdp: TabularMDP, v: np.ndarray) -> np.ndarray:
    """Action values from state values (큐함수 from 가치함수): one step of the model, then ``V``.

    ``Q[s, a] = R[s, a] + γ Σ_s' P[s, a, s'] V[s']``, and 0 in states where the agent does not act.
    With ``v = V_π`` this is ``Q_π``; with ``v = V*`` it is ``Q*``.

    Parameters
    ----------
    mdp : TabularMDP
        The model.
    v : array-like
        One value per state, shape ``(n_states,)``.

    Returns
    -------
    np.ndarray
        ``Q`` as an array ``(n_states, n_actions)``.
    """
    v = np.asarray(v, dtype=float)
    if v.shape != (mdp.n_states,):
        raise ValueError(f"v must hold one value per state, shape ({mdp.n_states},), got {v.shape}")
    return (mdp.R + mdp.gamma * mdp.P @ v) * mdp.acting[:, None]


def _check_policy(pi: np.ndarray, mdp: TabularMDP) -> np.ndarray:
    pi = np.asarray(pi, dtype=float)
    if pi.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"a policy is an array (n_states, n_actions) = {(mdp.n_states, mdp.n_actions)} of "
                         f"action probabilities, got shape {pi.shape}")
    rows = pi[mdp.acting].sum(axis=1)
    if np.any(pi < 0) or not np.allclose(rows, 1.0, atol=1e-6):
        raise ValueError("each row of a policy must be probabilities that sum to 1 (in states where the agent acts)")
    return pi
