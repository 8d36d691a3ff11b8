"""helpers.qnet (the references of notebooks 08 and 09) and the graded checks that use them."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import failed_checks, grade_check_cell
from torch import nn

from helpers import qnet

ROOT = Path(__file__).resolve().parents[1]


def _net(n_in=4, n_out=4, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, 8), nn.ReLU(), nn.Linear(8, n_out))


def test_td_target_is_the_worked_example_and_has_no_gradient():
    net = qnet.table_net([[0.1, 0.4, 0.0, 0.2], [0.5, 0.2, 0.6, 0.1], [0.3, 0.0, 0.7, 0.5], [0.9] * 4])
    eye = torch.eye(4)
    out = qnet.td_target(net, torch.tensor([0.0, 1.0]), eye[[1, 3]], torch.tensor([0.0, 1.0]), 0.9)
    assert torch.allclose(out, torch.tensor([0.54, 1.0])) and not out.requires_grad
    loss = qnet.td_loss(net, eye[[0, 2]], torch.tensor([3, 0]), out)
    assert loss.item() == pytest.approx(0.3028, abs=1e-6) and loss.requires_grad


def test_update_steps_once_and_returns_the_loss_before_the_step():
    net = _net()
    batch = (torch.randn(5, 4), torch.randint(0, 4, (5,)), torch.randn(5), torch.randn(5, 4), torch.zeros(5))
    before = qnet.td_loss(net, batch[0], batch[1], qnet.td_target(net, *batch[2:], 0.9)).item()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for p in net.parameters():
        p.grad = torch.ones_like(p)  # stale gradients are cleared
    assert qnet.update(net, opt, *batch, 0.9) == pytest.approx(before)
    assert qnet.td_loss(net, batch[0], batch[1], qnet.td_target(net, *batch[2:], 0.9)).item() < before


def test_epsilon_greedy_batched_and_seeded():
    q = torch.tensor([[0.0, 2.0, 1.0], [5.0, 0.0, 0.0]])
    assert qnet.epsilon_greedy(q, 0.0, np.random.default_rng(0)).tolist() == [1, 0]
    many = q[[0]].repeat(3000, 1)
    a = qnet.epsilon_greedy(many, 1.0, np.random.default_rng(1))
    assert a.dtype == np.int64 and np.all(np.abs(np.bincount(a, minlength=3) / 3000 - 1 / 3) < 0.03)
    assert np.array_equal(a, qnet.epsilon_greedy(many, 1.0, np.random.default_rng(1)))


def test_sarsa_targets_use_the_next_action_and_the_mask():
    net = _net(15, 5)
    s2, a2, r = torch.randn(3, 15), torch.tensor([4, 0, 2]), torch.tensor([1.0, 0.0, -1.0])
    term = torch.tensor([True, False, False])
    expected = r + 0.9 * net(s2).detach()[torch.arange(3), a2] * torch.tensor([0.0, 1.0, 1.0])
    assert torch.allclose(qnet.sarsa_targets(net, r, s2, a2, term, 0.9), expected, atol=1e-6)


class _Line:
    """0 → 1 → 2 (terminates with +1); `limit` steps truncate."""

    def __init__(self, limit=10):
        self.s, self.t, self.limit = 0, 0, limit

    def step(self, action):
        self.s, self.t = self.s + action, self.t + 1
        return self.s, float(self.s == 2), self.s == 2, self.t >= self.limit, {}


def test_sarsa_episode_chooses_next_action_before_learning_and_carries_it_over():
    script, calls = iter([1, 0, 1, 1]), []
    ret, _ = qnet.sarsa_episode(_Line(), 0, lambda o: next(script), lambda *t: calls.append(t))
    assert ret == 1.0
    assert calls == [(0, 1, 0.0, 1, 0, False), (1, 0, 0.0, 1, 1, False), (1, 1, 1.0, 2, 1, True)]
    calls.clear()
    qnet.sarsa_episode(_Line(limit=2), 0, lambda o: 0, lambda *t: calls.append(t))
    assert [t[5] for t in calls] == [False, False]  # truncated: learn never hears `terminated`


def test_table_net_rejects_a_vector():
    with pytest.raises(ValueError, match="2-D"):
        qnet.table_net([1.0, 2.0])


# --- the graded checks of notebooks 08 (q1, q2, q4) and 09 (q1, q2, q3) -------------------------------
def _full(quiz):
    return quiz.status == "ok" and quiz.earned == quiz.points


def test_08_q1_q2_full_marks_for_the_reference_and_none_for_a_stub():
    assert _full(grade_check_cell("08_q_network.ipynb", "q1", td_target=qnet.td_target))
    assert _full(grade_check_cell("08_q_network.ipynb", "q2", td_loss=qnet.td_loss))
    assert grade_check_cell("08_q_network.ipynb", "q1", td_target=lambda *a: None).status == "not answered"


def test_08_q1_names_a_missing_terminal_mask_and_a_gradient_leak():
    def no_mask(q_net, rewards, next_states, terminated, gamma):
        with torch.no_grad():
            return rewards + gamma * q_net(next_states).max(dim=1).values

    def leaks(q_net, rewards, next_states, terminated, gamma):
        return rewards + gamma * (1 - terminated) * q_net(next_states).max(dim=1).values

    failed = failed_checks(grade_check_cell("08_q_network.ipynb", "q1", td_target=no_mask))
    assert any("terminated" in name for name in failed)
    failed = failed_checks(grade_check_cell("08_q_network.ipynb", "q1", td_target=leaks))
    assert failed == {"no gradient flows into the target (a network with trainable weights)"}


def test_08_q2_names_a_loss_over_every_action():
    def every_action(q_net, states, actions, targets):
        return ((q_net(states) - targets[:, None]) ** 2).mean()

    failed = failed_checks(grade_check_cell("08_q_network.ipynb", "q2", td_loss=every_action))
    assert "only the taken actions get a gradient" in failed


def test_08_q4_reference_passes_and_a_missing_zero_grad_fails():
    assert _full(grade_check_cell("08_q_network.ipynb", "q4", update=qnet.update))

    def no_zero_grad(q_net, optimizer, states, actions, rewards, next_states, terminated, gamma):
        loss = qnet.td_loss(q_net, states, actions, qnet.td_target(q_net, rewards, next_states, terminated, gamma))
        loss.backward()
        optimizer.step()
        return loss.item()

    failed = failed_checks(grade_check_cell("08_q_network.ipynb", "q4", update=no_zero_grad))
    assert "one SGD step, with the old gradients cleared first" in failed


def test_09_checks_full_marks_for_the_references():
    assert _full(grade_check_cell("09_deep_sarsa.ipynb", "q1", sarsa_targets=qnet.sarsa_targets))
    assert _full(grade_check_cell("09_deep_sarsa.ipynb", "q2", epsilon_greedy=qnet.epsilon_greedy))
    assert _full(grade_check_cell("09_deep_sarsa.ipynb", "q3", sarsa_episode=qnet.sarsa_episode))


def test_09_q2_names_global_randomness_and_a_loop():
    def global_random(q_values, epsilon, rng):
        explore = np.random.random(len(q_values)) < epsilon
        return np.where(explore, np.random.randint(q_values.shape[1], size=len(q_values)), q_values.argmax(1).numpy())

    def per_row(q_values, epsilon, rng):
        return np.array([int(rng.integers(q_values.shape[1])) if rng.random() < epsilon else int(row.argmax())
                         for row in q_values])

    failed = failed_checks(grade_check_cell("09_deep_sarsa.ipynb", "q2", epsilon_greedy=global_random))
    assert failed == {"all randomness from `rng`: the same seed repeats the actions"}
    failed = failed_checks(grade_check_cell("09_deep_sarsa.ipynb", "q2", epsilon_greedy=per_row))
    assert failed == {"vectorised: at most 4 uses of `rng` for a batch of 1000"}


def test_09_q3_names_an_off_policy_episode_and_a_done_flag():
    def acts_twice(env, obs, act, learn):  # draws A' again instead of playing the one it learned with
        total, done, info = 0.0, False, {}
        while not done:
            action = act(obs)
            next_obs, reward, terminated, truncated, info = env.step(action)
            learn(obs, action, reward, next_obs, act(next_obs), terminated)
            obs, total, done = next_obs, total + reward, terminated or truncated
        return total, info

    def passes_done(env, obs, act, learn):  # hands `terminated or truncated` to learn
        total, action, done, info = 0.0, act(obs), False, {}
        while not done:
            next_obs, reward, terminated, truncated, info = env.step(action)
            next_action = act(next_obs)
            done = terminated or truncated
            learn(obs, action, reward, next_obs, next_action, done)
            obs, action, total = next_obs, next_action, total + reward
        return total, info

    failed = failed_checks(grade_check_cell("09_deep_sarsa.ipynb", "q3", sarsa_episode=acts_twice))
    assert "act once per state: 6 calls (the start and each next state)" in failed
    failed = failed_checks(grade_check_cell("09_deep_sarsa.ipynb", "q3", sarsa_episode=passes_done))
    assert failed == {"truncated after 3 steps: learn gets terminated=False and the episode stops"}


def test_references_do_not_leak_solutions_into_the_check_cells():
    """The check cells read the student's names through quiz.answer only (nothing bound by a fallback cell)."""
    for notebook, names in [("08_q_network.ipynb", ["td_target", "td_loss", "update"]),
                            ("09_deep_sarsa.ipynb", ["sarsa_targets", "epsilon_greedy", "sarsa_episode"])]:
        text = (ROOT / "solutions" / notebook).read_text()
        for name in names:
            assert f'quiz.answer(\\"{name}\\")' in text


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_detection(bad):
    from helpers.fallback import _non_finite

    assert _non_finite(bad) and _non_finite(torch.tensor([1.0, bad])) and _non_finite((1.0, bad))
    assert not _non_finite(np.array([1, 2])) and not _non_finite(copy.copy({"a": bad}))
