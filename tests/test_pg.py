"""helpers.pg: the REINFORCE and A2C references of notebooks 15 and 16, and notebook 16's A2C loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.pg import (
    REFERENCE_PIECES,
    A2CConfig,
    ActorCritic,
    a2c_loss,
    a2c_loss_terms,
    discounted_returns,
    n_step_returns,
    normalise_returns,
    reinforce_loss,
    train_a2c,
)


def test_discounted_returns_by_powers_of_gamma():
    rng = np.random.default_rng(0)
    r = rng.normal(size=7)
    expected = [sum(0.9 ** k * r[t + k] for k in range(len(r) - t)) for t in range(len(r))]
    assert np.allclose(discounted_returns(r, 0.9), expected, atol=1e-5)
    assert np.allclose(discounted_returns([1, 1, 1], 0.5), [1.75, 1.5, 1.0])
    assert discounted_returns([1, 1], 0.5).dtype == np.float32  # integer rewards still give floats
    with pytest.raises(ValueError, match="gamma"):
        discounted_returns([1.0], 1.5)
    with pytest.raises(ValueError, match="1-D"):
        discounted_returns(np.ones((2, 2)), 0.5)


def test_normalise_returns():
    w = normalise_returns(np.array([1.75, 1.5, 1.0]))
    assert abs(w.mean()) < 1e-6 and abs(w.std() - 1) < 1e-4 and np.argmax(w) == 0
    assert np.array_equal(normalise_returns(np.full(4, 3.0)), np.zeros(4))  # equal returns: finite zeros


def test_reinforce_loss_sums_detaches_and_has_the_ascent_sign():
    logits = torch.zeros(2, 2, requires_grad=True)
    weights = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = reinforce_loss(logits, torch.tensor([0, 1]), weights)
    assert torch.isclose(loss, torch.tensor(3 * np.log(2), dtype=torch.float32))
    loss.backward()
    assert weights.grad is None
    assert logits.grad[0, 0] < 0 and logits.grad[1, 1] < 0  # descending raises the taken actions' logits


def test_n_step_returns_masks():
    r = np.ones((3, 1), np.float32)
    no, yes = np.zeros((3, 1), bool), np.array([[False], [True], [False]])
    last = np.array([8.0])
    assert np.allclose(n_step_returns(r, no, no, np.zeros((3, 1)), last, 0.5).ravel(), [2.75, 3.5, 5.0])
    assert np.allclose(n_step_returns(r, yes, no, np.zeros((3, 1)), last, 0.5).ravel(), [1.5, 1.0, 5.0])
    assert np.allclose(n_step_returns(r, no, yes, np.full((3, 1), 4.0), last, 0.5).ravel(), [2.5, 3.0, 5.0])
    with pytest.raises(ValueError, match="last_values"):
        n_step_returns(r, no, no, np.zeros((3, 1)), np.zeros(2), 0.5)


def test_a2c_loss_terms_and_coefficients():
    torch.manual_seed(0)
    logits = torch.randn(5, 2, requires_grad=True)
    values = torch.randn(5, requires_grad=True)
    actions, returns = torch.tensor([0, 1, 1, 0, 1]), torch.randn(5)
    terms = a2c_loss_terms(logits, values, actions, returns)
    dist = torch.distributions.Categorical(logits=logits)
    assert torch.isclose(terms["entropy"], dist.entropy().mean())
    assert torch.isclose(terms["actor"], -(dist.log_prob(actions) * (returns - values).detach()).mean())
    loss = a2c_loss(logits, values, actions, returns, 0.5, 0.01)
    loss.backward()
    assert torch.allclose(values.grad, 0.5 * 2 * (values - returns).detach() / 5)  # only the critic's term


def test_a2c_config_checks_its_values():
    assert A2CConfig().n_envs * A2CConfig().n_steps == 128 and A2CConfig().timeout is None
    with pytest.raises(ValueError, match="n_envs"):
        A2CConfig(n_envs=0)
    with pytest.raises(ValueError, match="gamma"):
        A2CConfig(gamma=1.5)
    with pytest.raises(ValueError, match="timeout"):
        A2CConfig(timeout=0)


def test_train_a2c_short_run_is_repeatable_and_uses_the_pieces():
    calls = {"n_step_returns": 0, "a2c_loss": 0}

    def counted(name):
        def piece(*args):
            calls[name] += 1
            return REFERENCE_PIECES[name](*args)
        return piece

    cfg = A2CConfig(n_envs=4, n_steps=8)  # 32 transitions per update
    model, history = train_a2c(3, {k: counted(k) for k in calls}, total_steps=256, config=cfg, progress=False)
    assert isinstance(model, ActorCritic)
    assert history["steps"] == 256 and len(history["losses"]) == 8 and calls == {"n_step_returns": 8, "a2c_loss": 8}
    assert set(history["losses"][0]) == {"actor", "critic", "entropy"}
    assert history["eval_steps"] == [256] and len(history["eval_seconds"]) == 1 and history["solved_at"] is None
    assert sum(history["episode_returns"]) <= 256 and history["cpu_seconds"] > 0 and not history["timed_out"]
    again, history2 = train_a2c(3, None, total_steps=256, config=cfg, progress=False)  # None: the references
    assert history2["episode_returns"] == history["episode_returns"]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    with pytest.raises(ValueError, match="unknown pieces"):
        train_a2c(3, {"td_advantage": None}, total_steps=32, config=cfg, progress=False)
