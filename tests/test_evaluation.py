"""helpers.evaluation: batched evaluation and the confirmed-solve rule."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from helpers.evaluation import confirmed_solve, evaluate, greedy, mean_at_most


def balance(obs):
    """A hand-made controller that balances CartPole well."""
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(int)


def left(obs):
    return np.zeros(len(obs), dtype=int)


def test_vectorised_and_plain_paths_agree_on_a_deterministic_policy():
    fast = evaluate(left, "CartPole-v1", 5, seed=0)
    slow = evaluate(left, lambda: gym.make("CartPole-v1"), 5, seed=0)
    assert fast.shape == slow.shape == (5,)
    assert np.all((fast > 5) & (fast < 20)) and np.all((slow > 5) & (slow < 20))


def test_evaluation_is_reproducible_and_batched():
    calls = []

    def policy(obs):
        calls.append(len(obs))
        return balance(obs)

    a = evaluate(policy, n_episodes=20, seed=1)
    assert np.array_equal(a, evaluate(balance, n_episodes=20, seed=1))
    assert max(calls) == 20 and len(calls) <= 500
    assert a.mean() > 400


def test_max_steps_caps_episodes():
    assert evaluate(balance, n_episodes=3, max_steps=50).max() == 50


def test_greedy_takes_the_argmax():
    net = torch.nn.Linear(4, 2)
    with torch.no_grad():
        net.weight.zero_()
        net.bias.copy_(torch.tensor([0.0, 1.0]))
    assert greedy(net)(np.zeros((3, 4), np.float32)).tolist() == [1, 1, 1]


def test_confirmed_solve_needs_both_evaluations():
    weak = confirmed_solve(left)
    assert not weak.solved and weak.confirm_mean is None and weak.quick_mean < 50
    strong = confirmed_solve(balance)
    assert strong.quick_mean >= 475 and strong.confirm_mean is not None
    assert strong.solved == (strong.confirm_mean >= 475)


def drifting(c: float):
    """Balances, but a velocity term makes some episodes run off the track early (returns 50-500)."""
    return lambda obs: (obs[:, 2] + 0.5 * obs[:, 3] + c * obs[:, 1] > 0).astype(int)


@pytest.mark.parametrize(
    "make_env", ["CartPole-v1", lambda: gym.make("CartPole-v1")], ids=["vector", "plain"]
)
def test_early_stop_gives_the_full_evaluations_verdict(make_env):
    policies = [
        left,
        balance,
        drifting(-0.3),
        drifting(-1.0),
        lambda obs: (obs[:, 2] + 0.5 * obs[:, 3] + 0.2 * obs[:, 0] > 0).astype(int),
    ]
    for threshold in [100.0, 300.0, 475.0]:
        for policy in policies:
            full = evaluate(policy, make_env, 10, seed=10_000)
            quick = evaluate(policy, make_env, 10, seed=10_000, stop_below=threshold, max_return=500.0)
            assert (mean_at_most(quick, 500.0) >= threshold) == (full.mean() >= threshold)
            assert mean_at_most(quick, 500.0) >= full.mean()  # an upper bound ...
            done = ~np.isnan(quick)
            assert np.array_equal(quick[done], full[done])  # ... and finished episodes are exact
            if np.isnan(quick).any():
                assert mean_at_most(quick, 500.0) < threshold


def test_early_stop_saves_policy_calls_on_a_foregone_failure():
    calls = []

    def counted(obs):
        calls.append(1)
        return drifting(-1.0)(obs)

    full = evaluate(counted, n_episodes=10, seed=10_000)
    n_full, calls[:] = len(calls), []
    quick = evaluate(counted, n_episodes=10, seed=10_000, stop_below=475.0, max_return=500.0)
    assert full.mean() < 475 and np.isnan(quick).any()
    assert len(calls) < n_full / 4  # stopped around step 80 instead of playing to 500
    check = confirmed_solve(drifting(-1.0), max_return=500.0)
    assert check.stopped_early and not check.solved and check.confirm_mean is None
    assert full.mean() <= check.quick_mean < 475
    assert not confirmed_solve(drifting(-1.0)).stopped_early  # without max_return: the full evaluation


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="positive integer"):
        evaluate(left, n_episodes=0)
    with pytest.raises(ValueError, match="one per row"):
        evaluate(lambda obs: 0, n_episodes=2)
    with pytest.raises(TypeError, match="environment id"):
        evaluate(left, 42, 1)
    with pytest.raises(ValueError, match="give both"):
        evaluate(left, n_episodes=2, stop_below=475.0)


def test_continuous_actions_are_passed_as_arrays():
    # Pendulum's action is a Box of shape (1,): a scalar would break its step
    returns = evaluate(lambda obs: np.zeros((len(obs), 1), dtype=np.float32), "Pendulum-v1", n_episodes=2, seed=0)
    assert returns.shape == (2,) and np.all(returns < 0)
