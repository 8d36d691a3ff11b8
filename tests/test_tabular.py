"""helpers.tabular: the four updates by hand, prediction against the exact V_π, control against Q*."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from helpers.gridworld import GridWorldEnv, optimal_q, policy_accuracy
from helpers.mdp import gridworld_mdp, solve_bellman, uniform_policy
from helpers.tabular import (
    Episode,
    epsilon_greedy,
    mc_prediction,
    mc_update,
    q_learning,
    q_learning_update,
    sample_episode,
    sarsa,
    sarsa_update,
    td0_update,
    td_prediction,
)


def test_mc_update_walks_backwards_and_counts_every_visit():
    V = np.zeros(3)
    assert mc_update(V, [0, 1], [0.0, 1.0], 1.0, 0.9) is V
    assert np.allclose(V, [0.9, 1.0, 0.0])
    # state 0 twice: the later visit (G = 1) first, then G_0 = 0 + 0.5 * 1
    assert np.allclose(mc_update(np.zeros(1), [0, 0], [0.0, 1.0], 0.5, 0.5), [0.5])


def test_td0_update_masks_the_bootstrap_on_termination_and_handles_self_loops():
    assert np.allclose(td0_update(np.array([0.0, 1.0]), 0, 0.5, 1, False, 0.5, 0.9), [0.7, 1.0])
    assert np.allclose(td0_update(np.array([0.0, 1.0]), 0, 0.5, 1, True, 0.5, 0.9), [0.25, 1.0])
    assert np.allclose(td0_update(np.array([2.0]), 0, -1.0, 0, False, 0.5, 0.9), [1.4])


def test_sarsa_uses_the_next_action_and_q_learning_the_best_one():
    Q = np.array([[0.0, 0.0], [1.0, 5.0]])
    assert np.isclose(sarsa_update(Q.copy(), 0, 0, 1.0, 1, 0, False, 0.5, 0.9)[0, 0], 0.95)
    assert np.isclose(q_learning_update(Q.copy(), 0, 0, 1.0, 1, False, 0.5, 0.9)[0, 0], 2.75)
    assert np.isclose(sarsa_update(Q.copy(), 0, 0, 1.0, 1, 1, True, 0.5, 0.9)[0, 0], 0.5)
    assert np.isclose(q_learning_update(Q.copy(), 0, 0, 1.0, 1, True, 0.5, 0.9)[0, 0], 0.5)
    negative = np.array([[0.0, 0.0], [-3.0, -1.0]])
    assert np.isclose(q_learning_update(negative, 0, 1, -1.0, 1, False, 1.0, 0.9)[0, 1], -1.9)


def test_epsilon_greedy_breaks_ties_at_random_and_explores():
    rng = np.random.default_rng(0)
    Q = np.array([[1.0, 1.0, 0.0]])
    greedy = {epsilon_greedy(Q, 0, 0.0, rng) for _ in range(50)}
    assert greedy == {0, 1}
    assert {epsilon_greedy(Q, 0, 1.0, rng) for _ in range(200)} == {0, 1, 2}


def _episodes(n, seed=0):
    env = GridWorldEnv(max_steps=None)
    env.action_space.seed(seed)
    return [sample_episode(env, lambda s: env.action_space.sample(), seed=seed if i == 0 else None) for i in range(n)]


def test_sample_episode_records_a_complete_episode():
    ep = _episodes(1)[0]
    assert isinstance(ep, Episode) and len(ep) == len(ep.rewards) == len(ep.next_states)
    assert ep.terminated[-1] and not any(ep.terminated[:-1])
    assert ep.states[1:] == ep.next_states[:-1]


def test_mc_and_td_prediction_approach_the_exact_v_pi():
    mdp = gridworld_mdp(gamma=0.9)
    v = solve_bellman(mdp, uniform_policy(mdp))
    eps = _episodes(300)
    v_mc, rms_mc = mc_prediction(eps, 12, 0.005, 0.9, v_true=v, mask=mdp.acting)
    v_td, rms_td = td_prediction(eps, 12, 0.02, 0.9, v_true=v, mask=mdp.acting)
    assert len(rms_mc) == len(rms_td) == 300
    assert rms_mc[-1] < 0.15 and rms_td[-1] < 0.15
    assert rms_mc[-1] < rms_mc[0] / 2 and rms_td[-1] < rms_td[0] / 2


def test_mc_prediction_refuses_a_cut_off_episode():
    cut = Episode(states=[0], actions=[0], rewards=[0.0], next_states=[1], terminated=[False])
    with pytest.raises(ValueError, match="complete episodes"):
        mc_prediction([cut], 12, 0.1, 0.9)


def test_the_update_argument_is_called():
    calls = []

    def spy(V, *args):
        calls.append(args)
        return V

    eps = _episodes(2)
    td_prediction(eps, 12, 0.1, 0.9, update=spy)
    assert len(calls) == sum(len(ep) for ep in eps)


def test_q_learning_with_random_behaviour_finds_the_optimal_policy():
    env = GridWorldEnv()
    Q, returns = q_learning(env, 200, 0.1, 0.9, 1.0, seed=0)
    assert len(returns) == 200
    assert policy_accuracy(Q, env, 0.9) == 1.0
    assert np.allclose(Q[gridworld_mdp().acting], optimal_q(env, 0.9)[gridworld_mdp().acting], atol=0.05)


def test_cliff_walking_sarsa_earns_more_while_exploring_q_learning_walks_the_edge():
    env = gym.make("CliffWalking-v1")
    Qs, ret_s = sarsa(env, 500, 0.1, 1.0, 0.1, seed=0)
    Qq, ret_q = q_learning(env, 500, 0.1, 1.0, 0.1, seed=0)
    assert np.mean(ret_s[-100:]) > np.mean(ret_q[-100:])
    walker = gym.make("CliffWalking-v1")
    s, _ = walker.reset(seed=0)
    path = [s]
    for _ in range(13):
        s, _, terminated, _, _ = walker.step(int(np.argmax(Qq[s])))
        path.append(s)
    assert terminated and all(24 <= p <= 35 for p in path[1:-1])  # 13 steps along row 2, above the cliff


def test_bad_arguments_raise_helpful_errors():
    env = GridWorldEnv()
    with pytest.raises(ValueError, match="epsilon"):
        sarsa(env, 1, 0.1, 0.9, 1.5)
    with pytest.raises(ValueError):
        q_learning(env, 0, 0.1, 0.9, 0.1)
    with pytest.raises(TypeError, match="Discrete"):
        q_learning(gym.make("CartPole-v1"), 1, 0.1, 0.9, 0.1)
