"""helpers.dp: policy improvement, policy iteration and value iteration against the DP ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.dp import greedy_policy, policy_improvement, policy_iteration, value_iteration
from helpers.gridworld import LAYOUT_5X5, GridWorldEnv, optimal_actions, optimal_q
from helpers.mdp import gridworld_mdp, policy_evaluation, solve_bellman, uniform_policy

CUSTOM = "S . . .\n. # B .\n. . . G"


@pytest.mark.parametrize("layout, gamma", [(None, 0.9), (LAYOUT_5X5, 0.8), (CUSTOM, 0.95)])
def test_both_methods_reach_optimal_q(layout, gamma):
    env = GridWorldEnv(layout=layout)
    mdp = gridworld_mdp(env, gamma=gamma)
    truth = optimal_q(env, gamma).max(axis=1)
    best = optimal_actions(env, gamma)
    result = policy_iteration(mdp)
    v, sweeps = value_iteration(mdp)
    assert np.max(np.abs(result.v - truth)) <= 1e-6 and np.max(np.abs(v - truth)) <= 1e-6
    for pi in (result.pi, policy_improvement(mdp, v)):
        assert all(best[s, pi[s].argmax()] for s in np.flatnonzero(mdp.acting))
    assert sweeps >= 1 and result.iterations == len(result.policies) == len(result.values)
    assert result.total_sweeps == sum(result.eval_sweeps) and result.iterations >= 2


def test_the_3x4_counts_the_notebook_prints():
    mdp = gridworld_mdp(gamma=0.9)
    result = policy_iteration(mdp)
    assert result.eval_sweeps[0] == 148  # the uniform random policy, as in helpers.mdp
    assert value_iteration(mdp)[1] >= result.iterations


def test_policy_improvement_never_lowers_a_value():
    mdp = gridworld_mdp(LAYOUT_5X5, gamma=0.9)
    exact = [solve_bellman(mdp, pi) for pi in policy_iteration(mdp).policies]
    for before, after in zip(exact, exact[1:]):
        assert np.all(after >= before - 1e-12) and np.max(after - before) > 1e-9


def test_greedy_policy_is_one_hot_everywhere_and_greedy():
    mdp = gridworld_mdp(gamma=0.9)
    v = policy_evaluation(mdp, uniform_policy(mdp))[0]
    pi = policy_improvement(mdp, v)
    assert pi.shape == (12, 4) and np.all(pi.sum(axis=1) == 1) and set(np.unique(pi)) == {0.0, 1.0}
    q = mdp.R + mdp.gamma * mdp.P @ v
    acting = mdp.acting
    assert np.allclose(q[acting][pi[acting] == 1], q[acting].max(axis=1))
    assert np.array_equal(greedy_policy(np.array([[1.0, 1.0, 0.0]])), np.array([[1.0, 0.0, 0.0]]))  # first tie


def test_value_iteration_counts_like_policy_evaluation_and_honours_tol():
    mdp = gridworld_mdp(LAYOUT_5X5, gamma=0.9)
    v, sweeps = value_iteration(mdp)
    v_coarse, sweeps_coarse = value_iteration(mdp, tol=0.5)
    assert sweeps_coarse < sweeps
    assert np.all(v[~mdp.acting] == 0)


def test_bad_input_is_explained():
    mdp = gridworld_mdp()
    with pytest.raises(ValueError, match="one value per state"):
        policy_improvement(mdp, np.zeros(5))
    with pytest.raises(ValueError, match="n_states, n_actions"):
        greedy_policy(np.zeros(4))
    with pytest.raises(RuntimeError, match="gamma"):
        value_iteration(gridworld_mdp(gamma=1.0), max_sweeps=3)
