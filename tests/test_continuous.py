"""Unit tests of helpers.continuous (notebook 18's references)."""

import numpy as np
import pytest
import torch

from helpers import continuous, pg


def _batch(seed=0, b=32, d=3):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(b, d, generator=gen), torch.randn(b, d, generator=gen), torch.randn(b, d, generator=gen))


def test_log_prob_and_entropy_match_torch_normal():
    a, mu, ls = _batch()
    normal = torch.distributions.Normal(mu, ls.exp())
    assert torch.allclose(continuous.gaussian_log_prob(a, mu, ls), normal.log_prob(a).sum(-1), atol=1e-5)
    assert torch.allclose(continuous.gaussian_entropy(ls), normal.entropy().sum(-1), atol=1e-5)
    assert continuous.gaussian_log_prob(a, mu, ls).shape == (32,)


def test_log_prob_broadcasts_a_shared_log_std():
    a, mu, _ = _batch()
    ls = torch.tensor([[0.5, -1.0, 0.0]])
    want = torch.distributions.Normal(mu, ls.exp()).log_prob(a).sum(-1)
    assert torch.allclose(continuous.gaussian_log_prob(a, mu, ls), want, atol=1e-5)


def test_clipped_loss_is_a2c_gradient_on_fresh_data():
    lp = torch.tensor([-1.0, -0.5, -2.0], requires_grad=True)
    adv = torch.tensor([1.0, -2.0, 0.5])
    continuous.clipped_policy_loss(lp, lp.detach().clone(), adv, 0.2).backward()
    assert torch.allclose(lp.grad, -adv / 3)


def test_clipped_loss_clips_only_in_the_advantage_direction():
    lp = torch.tensor([np.log(1.5)], requires_grad=True)
    up = continuous.clipped_policy_loss(lp, torch.zeros(1), torch.tensor([2.0]), 0.2)
    up.backward()
    assert np.isclose(float(up.detach()), -2.4) and float(lp.grad) == 0.0
    against = continuous.clipped_policy_loss(torch.tensor([np.log(1.5)]), torch.zeros(1), torch.tensor([-2.0]), 0.2)
    assert np.isclose(float(against), 3.0)


def _rollout(seed=0):
    rng = np.random.default_rng(seed)
    r, v, fv, lv = rng.normal(size=(8, 3)), rng.normal(size=(8, 3)), rng.normal(size=(8, 3)), rng.normal(size=3)
    term, trunc = np.zeros((8, 3), bool), np.zeros((8, 3), bool)
    term[2, 0], trunc[5, 1], term[7, 2] = True, True, True
    return r, v, term, trunc, fv, lv


def test_gae_ends_are_td_error_and_n_step_advantage():
    r, v, term, trunc, fv, lv = _rollout()
    next_v = np.vstack([v[1:], lv[None]])
    td = r + 0.9 * np.where(term, 0.0, np.where(trunc, fv, next_v)) - v
    assert np.allclose(continuous.gae_advantages(r, v, term, trunc, fv, lv, 0.9, 0.0), td, atol=1e-5)
    assert np.allclose(continuous.gae_advantages(r, v, term, trunc, fv, lv, 0.9, 1.0),
                       pg.n_step_returns(r, term, trunc, fv, lv, 0.9) - v, atol=1e-5)


def test_gae_rejects_mismatched_shapes():
    r, v, term, trunc, fv, lv = _rollout()
    with pytest.raises(ValueError, match="values"):
        continuous.gae_advantages(r, v[:4], term, trunc, fv, lv, 0.9, 0.95)
    with pytest.raises(ValueError, match="last_values"):
        continuous.gae_advantages(r, v, term, trunc, fv, lv[:2], 0.9, 0.95)


@pytest.mark.parametrize("state_dependent", [False, True])
def test_actor_critic_shapes(state_dependent):
    torch.manual_seed(0)
    model = continuous.GaussianActorCritic(3, 2, state_dependent_std=state_dependent)
    mean, log_std, value = model(torch.zeros(5, 3))
    assert mean.shape == log_std.shape == (5, 2) and value.shape == (5,)
    if state_dependent:
        model.actor[-1].bias.data[2:] = 100.0
        assert float(model(torch.zeros(1, 3))[1].max()) == 1.0  # clamped to the upper bound
    else:
        assert torch.equal(log_std, torch.zeros(5, 2))  # σ = 1 at the start, shared by every state


def test_evaluate_mean_action_plays_full_pendulum_episodes():
    torch.manual_seed(0)
    returns = continuous.evaluate_mean_action(continuous.GaussianActorCritic(3, 1), n_episodes=3, seed=5)
    assert returns.shape == (3,) and np.all(returns < 0) and np.all(returns > -16.3 * 200)
