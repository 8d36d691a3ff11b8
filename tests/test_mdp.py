"""helpers.mdp: the GridWorld as arrays, and the Bellman expectation equation solved two ways."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.gridworld import LAYOUT_5X5, GridWorldEnv, optimal_q
from helpers.mdp import gridworld_mdp, policy_evaluation, q_from_v, solve_bellman, uniform_policy


def test_arrays_match_the_environment_step_by_step():
    env = GridWorldEnv()
    mdp = gridworld_mdp(env)
    assert mdp.P.shape == (12, 4, 12) and mdp.R.shape == (12, 4) and mdp.gamma == 0.9
    assert np.allclose(mdp.P[mdp.acting].sum(axis=2), 1.0)
    assert not mdp.acting[env.to_index(env.goal)] and not mdp.acting[env.to_index((1, 1))]
    for cell in env.nonterminal_states():
        for a in range(4):
            env.reset(options={"start": cell})
            s2, r, *_ = env.step(a)
            s = env.to_index(cell)
            assert mdp.P[s, a, s2] == 1.0 and mdp.R[s, a] == r


@pytest.mark.parametrize("layout, gamma", [(None, 0.9), (LAYOUT_5X5, 0.8)])
def test_iterative_evaluation_equals_the_linear_solve(layout, gamma):
    mdp = gridworld_mdp(layout, gamma=gamma)
    pi = uniform_policy(mdp)
    v, sweeps = policy_evaluation(mdp, pi)
    assert np.allclose(v, solve_bellman(mdp, pi), atol=1e-8) and sweeps > 10


def test_greedy_policy_of_q_star_has_value_v_star():
    mdp = gridworld_mdp()
    q = optimal_q(gamma=0.9)
    pi = np.eye(4)[q.argmax(axis=1)]
    assert np.allclose(solve_bellman(mdp, pi)[mdp.acting], q.max(axis=1)[mdp.acting])


@pytest.mark.parametrize("layout, gamma", [(None, 0.9), (LAYOUT_5X5, 0.7)])
def test_q_from_v_averages_back_to_v_and_gives_q_star(layout, gamma):
    mdp = gridworld_mdp(layout, gamma=gamma)
    pi = uniform_policy(mdp)
    v = solve_bellman(mdp, pi)
    q = q_from_v(mdp, v)
    assert q.shape == (mdp.n_states, mdp.n_actions) and np.all(q[~mdp.acting] == 0)
    assert np.allclose((pi * q).sum(axis=1), v)
    q_star = optimal_q(layout, gamma=gamma)
    assert np.allclose(q_from_v(mdp, q_star.max(axis=1)), q_star, atol=1e-9)


def test_bad_input_is_explained():
    mdp = gridworld_mdp()
    with pytest.raises(ValueError, match="n_states, n_actions"):
        policy_evaluation(mdp, np.ones((3, 4)) / 4)
    with pytest.raises(ValueError, match="sum to 1"):
        solve_bellman(mdp, np.ones((12, 4)))
    with pytest.raises(ValueError, match="gamma"):
        gridworld_mdp(gamma=1.5)
    with pytest.raises(ValueError, match="one value per state"):
        q_from_v(mdp, np.zeros(11))
    with pytest.raises(TypeError, match="GridWorldEnv"):
        gridworld_mdp(42)
