"""Tests for helpers/extensions.py: Double DQN's target and the dueling Q-network."""

from __future__ import annotations

import doctest

import pytest
import torch
from torch import nn

import helpers.extensions
from helpers.dqn import DQNConfig, build_q_net, make_q_net, td_target, train_dqn
from helpers.extensions import DuelingHead, DuelingQNet, double_td_target
from helpers.replay import Batch


class FixedQ(nn.Module):
    """A stand-in network returning given Q-values, one row per next state."""

    def __init__(self, table):
        super().__init__()
        self.table = torch.tensor(table, dtype=torch.float32)

    def forward(self, x):
        return self.table[: len(x)]


def _batch(rewards, terminated, n_obs=4):
    b = len(rewards)
    return Batch(obs=torch.zeros(b, n_obs), actions=torch.zeros(b, dtype=torch.int64),
                 rewards=torch.tensor(rewards, dtype=torch.float32), next_obs=torch.zeros(b, n_obs),
                 terminated=torch.tensor(terminated, dtype=torch.float32), indices=None)


def test_doctests():
    assert doctest.testmod(helpers.extensions).failed == 0


def test_double_target_chooses_online_values_target_and_masks_terminated():
    online, target = FixedQ([[5.0, 1.0], [0.0, 2.0], [1.0, 3.0]]), FixedQ([[3.0, 4.0], [7.0, 6.0], [2.0, 9.0]])
    batch = _batch([1.0, 1.0, 0.5], [0.0, 1.0, 0.0])
    y = double_td_target(online, target, batch, 0.5)
    torch.testing.assert_close(y, torch.tensor([1.0 + 0.5 * 3.0, 1.0, 0.5 + 0.5 * 9.0]))
    assert not y.requires_grad
    assert torch.all(y <= td_target(online, target, batch, 0.5))


def test_double_target_equals_dqn_target_when_both_nets_agree():
    torch.manual_seed(0)
    net = make_q_net(4, 3, (16,))
    batch = Batch(obs=None, actions=None, rewards=torch.rand(32), next_obs=torch.randn(32, 4),
                  terminated=(torch.rand(32) < 0.3).float(), indices=None)
    torch.testing.assert_close(double_td_target(net, net, batch, 0.9), td_target(net, net, batch, 0.9))


@pytest.mark.parametrize("hidden", [(64, 64), (32,), (16, 8, 8)])
def test_dueling_net_shape_identifiability_and_streams(hidden):
    torch.manual_seed(1)
    net = DuelingQNet(4, 3, hidden)
    x = torch.randn(7, 4)
    q = net(x)
    assert q.shape == (7, 3)
    v = net.head.value(net.trunk(x))
    assert v.shape == (7, 1)
    torch.testing.assert_close(q.mean(dim=1, keepdim=True), v)  # mean-subtracted advantages average 0
    q[:, 0].sum().backward()
    for stream in (net.head.value, net.head.advantage):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in stream.parameters())


def test_dueling_head_ignores_a_constant_shift_of_the_advantages():
    torch.manual_seed(2)
    head = DuelingHead(8, 2, 16)
    x = torch.randn(5, 8)
    q = head(x)
    with torch.no_grad():
        head.advantage[-1].bias += 10.0
    torch.testing.assert_close(head(x), q)


def test_dueling_net_takes_another_head_and_plugs_into_the_loop():
    calls = []

    def head(in_features, n_actions, width):
        calls.append((in_features, n_actions, width))
        return DuelingHead(in_features, n_actions, width)

    net = DuelingQNet(4, 2, (32, 16), head=head)
    assert calls == [(32, 2, 16)]
    assert net(torch.zeros(3, 4)).shape == (3, 2)
    cfg = DQNConfig(total_steps=300, learning_starts=100, batch_size=32, buffer_size=300, eval_interval=10_000,
                    stop_when_solved=False)
    result = train_dqn(cfg, seed=0, make_q_net=DuelingQNet, td_target=double_td_target, progress=False)
    assert result.steps == 300
    assert isinstance(build_q_net(cfg, 4, 2, DuelingQNet)[-1], DuelingQNet)
