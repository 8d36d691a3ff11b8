"""Dynamic programming (동적 프로그래밍) on a known MDP: policy iteration and value iteration.

The reference implementations that notebook 06 (Dynamic programming) teaches, on the arrays of
:class:`helpers.mdp.TabularMDP` (``P (S, A, S)``, ``R (S, A)``, ``acting (S,)``, ``gamma``):

* :func:`policy_improvement` (정책 발전): the greedy policy of ``Q(s, a) = R(s, a) + γ Σ_s' P(s'|s, a) V(s')``;
* :func:`policy_iteration` (정책 이터레이션): evaluate, improve, repeat until the policy is greedy for
  its own values;
* :func:`value_iteration` (가치 이터레이션): the Bellman optimality backup ``V ← max_a Q`` until it settles.

Values of states where the agent does not act (walls, the goal) stay 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from helpers.mdp import TabularMDP, policy_evaluation, q_from_v, uniform_policy

__all__ = ["PolicyIterationResult", "greedy_policy", "policy_improvement", "policy_iteration", "value_iteration"]


def _lookahead(mdp: TabularMDP, pi: np.ndarray, v: np.ndarray) -> np.ndarray:
    """One step of ``pi``, then ``v``: ``r_π + γ P_π v`` (= ``Σ_a π(a|s) Q(s, a)``)."""
    P_pi, r_pi = mdp.policy_model(pi)
    return r_pi + mdp.gamma * P_pi @ v


def greedy_policy(q: np.ndarray) -> np.ndarray:
    """The deterministic greedy policy of a Q table ``(S, A)``: a one-hot row on ``argmax_a Q[s, a]``.

    Ties go to the first best action (NumPy's ``argmax``); rows of states where nobody acts (all-zero
    Q rows) are one-hot too, which is harmless: their values are 0 whatever the policy says.
    """
    q = np.asarray(q, dtype=float)
    if q.ndim != 2:
        raise ValueError(f"q must be a table (n_states, n_actions), got shape {q.shape}")
    return np.eye(q.shape[1])[q.argmax(axis=1)]


def policy_improvement(mdp: TabularMDP, v: np.ndarray) -> np.ndarray:
    """Policy improvement (정책 발전): the greedy policy ``(S, A)`` with respect to the values ``v``."""
    v = np.asarray(v, dtype=float)
    if v.shape != (mdp.n_states,):
        raise ValueError(f"v must hold one value per state, shape ({mdp.n_states},), got {v.shape}")
    return greedy_policy(q_from_v(mdp, v))


@dataclass
class PolicyIterationResult:
    """What :func:`policy_iteration` returns.

    Attributes
    ----------
    pi : np.ndarray
        The final policy ``(S, A)`` (greedy for its own values, so optimal).
    v : np.ndarray
        Its values ``(S,)``.
    policies : list of np.ndarray
        Every policy evaluated, from the uniform random one to ``pi``.
    values : list of np.ndarray
        The values of each policy in ``policies`` (iterative evaluation).
    eval_sweeps : list of int
        The sweeps each evaluation took; ``len(eval_sweeps)`` is the number of outer iterations.
    """

    pi: np.ndarray
    v: np.ndarray
    policies: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    eval_sweeps: list[int] = field(default_factory=list)

    @property
    def iterations(self) -> int:
        """Outer iterations: evaluations (the last one confirms that the policy is stable)."""
        return len(self.eval_sweeps)

    @property
    def total_sweeps(self) -> int:
        """Evaluation sweeps summed over all outer iterations."""
        return int(sum(self.eval_sweeps))


def policy_iteration(mdp: TabularMDP, improve: Callable[[TabularMDP, np.ndarray], np.ndarray] = policy_improvement,
                     tol: float = 1e-10, max_iterations: int = 1_000) -> PolicyIterationResult:
    """Policy iteration (정책 이터레이션) = policy evaluation (정책 평가) + policy improvement (정책 발전).

    From the uniform random policy: evaluate ``π`` (:func:`helpers.mdp.policy_evaluation`, to ``tol``),
    improve it, ``π' = improve(mdp, V_π)``; stop when ``π'`` gains nothing over ``π`` in one step
    (``r_π' + γ P_π' V_π ≤ r_π + γ P_π V_π + 1e-9`` in every state: ``π`` is already greedy for its own
    values), else ``π ← π'`` and repeat. Comparing the two policies' one-step values rather than the
    arrays keeps two equally good actions from swapping back and forth forever.

    Parameters
    ----------
    mdp : TabularMDP
        The model.
    improve : callable
        ``improve(mdp, v) -> pi``, e.g. :func:`policy_improvement` or the student's own.
    tol : float
        Tolerance of each policy evaluation.
    max_iterations : int
        Give up after this many evaluations.

    Returns
    -------
    PolicyIterationResult
    """
    pi = uniform_policy(mdp)
    result = PolicyIterationResult(pi=pi, v=np.zeros(mdp.n_states))
    for _ in range(max_iterations):
        v, sweeps = policy_evaluation(mdp, pi, tol=tol)
        result.policies.append(pi)
        result.values.append(v)
        result.eval_sweeps.append(sweeps)
        new_pi = np.asarray(improve(mdp, v), dtype=float)
        gain = _lookahead(mdp, new_pi, v) - _lookahead(mdp, pi, v)
        if np.all(gain <= 1e-9):  # π is already greedy for V_π: stable, hence optimal
            result.pi, result.v = pi, v
            return result
        pi = new_pi
    raise RuntimeError(f"policy iteration did not settle within {max_iterations} iterations")


def value_iteration(mdp: TabularMDP, tol: float = 1e-10, max_sweeps: int = 100_000) -> tuple[np.ndarray, int]:
    """Value iteration (가치 이터레이션): the Bellman optimality backup ``V ← max_a (R + γ P V)``.

    Synchronous sweeps from ``V = 0``, counted like :func:`helpers.mdp.policy_evaluation`: the sweep
    in which no value moves by more than ``tol`` is the last one counted.

    Returns
    -------
    (V, sweeps) : the optimal values ``(S,)`` and the number of sweeps it took.
    """
    v = np.zeros(mdp.n_states)
    for sweep in range(1, max_sweeps + 1):
        new = q_from_v(mdp, v).max(axis=1)
        if np.max(np.abs(new - v)) < tol:
            return new, sweep
        v = new
    raise RuntimeError(f"value iteration did not settle within {max_sweeps} sweeps (is gamma < 1?)")
