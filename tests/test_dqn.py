"""Tests for helpers/dqn.py: the DQN pieces and the training loop's plumbing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from helpers.dqn import (
    DQNConfig,
    ObsScale,
    build_q_net,
    linear_epsilon,
    make_q_net,
    q_loss,
    soft_update,
    td_target,
    train_dqn,
)  # fmt: skip
from helpers.replay import Batch, ReplayBuffer


class ConstQ(torch.nn.Module):
    """A fake network returning fixed Q-values for every state."""

    def __init__(self, values):
        super().__init__()
        self.values = torch.tensor(values, dtype=torch.float32)

    def forward(self, x):
        return self.values.expand(x.shape[0], -1)


def make_batch(rewards, terminated):
    n = len(rewards)
    return Batch(
        obs=torch.zeros(n, 4), actions=torch.zeros(n, dtype=torch.int64),
        rewards=torch.tensor(rewards, dtype=torch.float32), next_obs=torch.zeros(n, 4),
        terminated=torch.tensor(terminated, dtype=torch.float32), indices=np.arange(n),
    )  # fmt: skip


def test_make_q_net_shapes():
    net = make_q_net(4, 2, hidden=(16, 8))
    assert net(torch.zeros(7, 4)).shape == (7, 2)
    assert [m.out_features for m in net if isinstance(m, torch.nn.Linear)] == [16, 8, 2]
    with pytest.raises(ValueError, match="obs_dim must be a positive integer"):
        make_q_net(0, 2)


def test_obs_scale_divides_and_travels_in_the_state_dict():
    cfg = DQNConfig(hidden=(8,), obs_scale=(2.4, 2.0, 0.21, 2.0))
    torch.manual_seed(0)
    net = build_q_net(cfg, 4, 2)
    assert isinstance(net[0], ObsScale) and "0.scale" in net.state_dict()
    x = torch.tensor([[2.4, -2.0, 0.21, 1.0]])
    torch.testing.assert_close(net[0](x), torch.tensor([[1.0, -1.0, 1.0, 0.5]]))
    torch.testing.assert_close(net(x), net[1](x / torch.tensor([2.4, 2.0, 0.21, 2.0])))
    fresh = build_q_net(cfg, 4, 2)  # rebuilt from the config, then loaded: the same function
    fresh.load_state_dict(net.state_dict())
    torch.testing.assert_close(fresh(x), net(x))
    plain = build_q_net(dataclasses.replace(cfg, obs_scale=None), 4, 2)
    assert not any(isinstance(m, ObsScale) for m in plain.modules())
    with pytest.raises(ValueError, match="one scale per feature"):
        build_q_net(cfg, 3, 2)
    with pytest.raises(ValueError, match="4 features but ObsScale has 2"):
        ObsScale((1.0, 2.0))(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="obs_scale"):
        DQNConfig(obs_scale=(1.0, 0.0, 1.0, 1.0))


def test_td_target_terminated_vs_truncated():
    target_net = ConstQ([3.0, 5.0])  # max_a' Q(s', a') = 5
    # row 0: terminated (pole fell) -> no bootstrap; row 1: not terminated -> bootstrap.
    # A time-limit truncation is stored as terminated = 0, so it bootstraps like row 1.
    batch = make_batch([1.0, 1.0], [1.0, 0.0])
    y = td_target(ConstQ([0.0, 0.0]), target_net, batch, gamma=0.9)
    torch.testing.assert_close(y, torch.tensor([1.0, 1.0 + 0.9 * 5.0]))
    assert not y.requires_grad


def test_td_target_uses_target_net_not_online():
    batch = make_batch([0.0], [0.0])
    y = td_target(ConstQ([100.0, 100.0]), ConstQ([1.0, 2.0]), batch, gamma=1.0)
    assert float(y) == 2.0


def test_q_loss_kinds_and_weights():
    q, y = torch.tensor([0.0, 0.0]), torch.tensor([0.5, 3.0])
    assert float(q_loss(q, y, "mse")) == pytest.approx((0.25 + 9.0) / 2)
    assert float(q_loss(q, y, "huber")) == pytest.approx((0.125 + 2.5) / 2)  # 0.5 e² below 1, |e| − 0.5 above
    w = torch.tensor([1.0, 0.0])
    assert float(q_loss(q, y, "mse", weights=w)) == pytest.approx(0.25 / 2)
    with pytest.raises(ValueError, match="huber"):
        q_loss(q, y, "l1")
    with pytest.raises(ValueError, match="shape"):
        q_loss(q, y[:1])


def test_linear_epsilon():
    assert linear_epsilon(0, 1.0, 0.1, 100) == 1.0
    assert linear_epsilon(50, 1.0, 0.1, 100) == pytest.approx(0.55)
    assert linear_epsilon(100, 1.0, 0.1, 100) == pytest.approx(0.1)
    assert linear_epsilon(10_000, 1.0, 0.1, 100) == pytest.approx(0.1)
    assert linear_epsilon(5, 1.0, 0.1, 0) == 0.1


def test_soft_update():
    torch.manual_seed(0)
    a, b = make_q_net(4, 2, (8,)), make_q_net(4, 2, (8,))
    before = [p.clone() for p in b.parameters()]
    soft_update(b, a, 0.25)
    for pb, p0, pa in zip(b.parameters(), before, a.parameters()):
        torch.testing.assert_close(pb, 0.75 * p0 + 0.25 * pa)
    soft_update(b, a, 1.0)
    for pb, pa in zip(b.parameters(), a.parameters()):
        torch.testing.assert_close(pb, pa)


def test_config_validation():
    with pytest.raises(ValueError, match="gamma"):
        DQNConfig(gamma=1.5)
    with pytest.raises(ValueError, match="DQNConfig.batch_size must be a positive integer, got 0"):
        DQNConfig(batch_size=0)
    with pytest.raises(TypeError, match="DQNConfig.total_steps must be a positive integer, got 10000.0"):
        DQNConfig(total_steps=1e4)
    with pytest.raises(ValueError, match="DQNConfig.learning_starts must be a non-negative integer"):
        DQNConfig(learning_starts=-1)
    with pytest.raises(ValueError, match="loss"):
        DQNConfig(loss="l2")
    with pytest.raises(ValueError, match="tau"):
        DQNConfig(tau=0.0)
    with pytest.raises(ValueError, match="eval_max_return"):
        DQNConfig(eval_max_return=100.0)  # below the threshold: not a bound on a solving episode
    cfg = DQNConfig(gradient_steps=4, train_frequency=2)
    assert cfg.replay_ratio == 2.0
    assert cfg.to_dict()["gamma"] == cfg.gamma
    with pytest.raises(TypeError, match="DQNConfig"):
        train_dqn({"gamma": 0.9})


SHORT = DQNConfig(total_steps=300, learning_starts=100, batch_size=16, hidden=(16,), eval_interval=150)


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k])


def test_train_dqn_short_run_is_reproducible_and_records():
    r1 = train_dqn(SHORT, seed=3, progress=False)
    r2 = train_dqn(SHORT, seed=3, progress=False)
    assert r1.steps == 300 and r1.solved_at is None and not r1.solved
    assert r1.wall_s > 0 and r1.cpu_s > 0
    assert r1.episode_returns == r2.episode_returns
    assert_same_weights(r1.state_dict, r2.state_dict)
    assert [e["step"] for e in r1.evals] == [150, 300]
    assert len(r1.episode_q0) == len(r1.episode_returns) == len(r1.episode_discounted_returns)
    assert sum(r1.episode_lengths) <= 300
    for e in r1.evals:  # a 16-unit net after 200 updates fails: the quick evaluation stops early
        assert e["mean"] is None and e["confirm_mean"] is None and e["mean_at_most"] < SHORT.solve_threshold
    full = train_dqn(dataclasses.replace(SHORT, eval_max_return=None), seed=3, progress=False)
    assert full.episode_returns == r1.episode_returns  # stopping evaluations early changes nothing in training ...
    for quick, whole in zip(r1.evals, full.evals):  # ... and the bound holds
        assert whole["mean"] is not None and whole["mean"] <= quick["mean_at_most"]


def test_train_dqn_plugs_network_td_target_and_buffer():
    calls = {"target": 0, "prio": 0, "net": 0}

    def my_net(obs_dim, n_actions, hidden):
        calls["net"] += 1
        return make_q_net(obs_dim, n_actions, hidden)

    def my_target(q_net, target_net, batch, gamma):
        calls["target"] += 1
        return td_target(q_net, target_net, batch, gamma)

    class PrioBuffer(ReplayBuffer):
        def sample(self, batch_size):
            batch = super().sample(batch_size)
            return dataclasses.replace(batch, weights=np.ones(batch_size, dtype=np.float32))

        def update_priorities(self, indices, td_errors):
            assert len(indices) == len(td_errors) and np.all(td_errors >= 0)
            calls["prio"] += 1

    cfg = dataclasses.replace(SHORT, total_steps=150)
    train_dqn(cfg, seed=0, progress=False, make_q_net=my_net, td_target=my_target,
              buffer=PrioBuffer(1000, (4,), seed=0))
    updates = (cfg.total_steps - cfg.learning_starts + 1) * cfg.gradient_steps
    assert calls == {"net": 1, "target": updates, "prio": updates}


def test_train_dqn_none_means_the_default_pieces():
    cfg = dataclasses.replace(SHORT, total_steps=120)
    plain = train_dqn(cfg, seed=1, progress=False)
    explicit = train_dqn(cfg, seed=1, progress=False, make_q_net=None, td_target=None, buffer=None)
    assert_same_weights(plain.state_dict, explicit.state_dict)


# --- the ablation switches (notebook 12 breaks DQN on purpose) -------------------------------------
def test_ablation_switches_are_validated_and_off_by_default():
    cfg = DQNConfig()
    assert cfg.replay and cfg.target_network and cfg.bootstrap_mask == "terminated" and cfg.stop_when_solved
    with pytest.raises(ValueError, match="bootstrap_mask must be 'terminated'"):
        DQNConfig(bootstrap_mask="truncated")
    with pytest.raises(ValueError, match="pass no buffer"):
        train_dqn(dataclasses.replace(SHORT, replay=False), buffer=ReplayBuffer(10, (4,)), progress=False)


def test_without_replay_each_update_uses_the_newest_transition_only():
    seen = []

    def spy_target(q_net, target_net, batch, gamma):
        seen.append((len(batch), batch.obs.clone(), batch.next_obs.clone()))
        return td_target(q_net, target_net, batch, gamma)

    cfg = dataclasses.replace(SHORT, total_steps=130, replay=False)
    result = train_dqn(cfg, seed=0, progress=False, td_target=spy_target)
    assert len(seen) == (cfg.total_steps - cfg.learning_starts + 1) * cfg.gradient_steps
    assert all(n == 1 for n, _, _ in seen)
    # consecutive steps chain: one step's s' is the next step's s, unless an episode ended in between
    chained = sum(torch.equal(seen[i][2], seen[i + cfg.gradient_steps][1])
                  for i in range(0, len(seen) - cfg.gradient_steps, cfg.gradient_steps))
    ends = sum(cfg.learning_starts <= s < cfg.total_steps for s in result.episode_end_steps)
    assert chained == len(seen) // cfg.gradient_steps - 1 - ends


def test_without_target_network_the_online_network_gives_the_target():
    pairs = []

    def spy_target(q_net, target_net, batch, gamma):
        pairs.append(target_net is q_net)
        return td_target(q_net, target_net, batch, gamma)

    train_dqn(dataclasses.replace(SHORT, total_steps=110), seed=0, progress=False, td_target=spy_target)
    assert pairs and not any(pairs)  # default: a separate target network
    pairs.clear()
    off = dataclasses.replace(SHORT, total_steps=110, target_network=False)
    result = train_dqn(off, seed=0, progress=False, td_target=spy_target)
    assert pairs and all(pairs)
    assert all(p.requires_grad for p in result.q_net.parameters())  # the online net still learns


def short_time_limit_env() -> str:
    """CartPole with a 15-step time limit: truncations happen within a short run."""
    import gymnasium as gym

    env_id = "helpers-test/CartPole15-v1"
    if env_id not in gym.registry:
        gym.register(env_id, entry_point="gymnasium.envs.classic_control.cartpole:CartPoleEnv",
                     max_episode_steps=15)
    return env_id


@pytest.mark.parametrize("mask", ["terminated", "done"])
def test_bootstrap_mask_stores_terminated_or_done(mask):
    import gymnasium as gym

    class Recorder(ReplayBuffer):
        flags: list[bool] = []

        def add(self, obs, action, reward, next_obs, terminated):
            self.flags.append(bool(terminated))
            super().add(obs, action, reward, next_obs, terminated)

    env_id = short_time_limit_env()
    cfg = dataclasses.replace(SHORT, env_id=env_id, total_steps=200, eval_interval=200, bootstrap_mask=mask)
    buf = Recorder(1000, (4,), seed=0)
    buf.flags = []
    result = train_dqn(cfg, seed=0, progress=False, buffer=buf)
    masked = {i + 1 for i, flag in enumerate(buf.flags) if flag}  # steps stored with the mask set
    ends = dict(zip(result.episode_end_steps, result.episode_lengths))
    fell = {s for s, n in ends.items() if n < 15}  # shorter than the time limit: a real termination
    timed_out = {s for s, n in ends.items() if n == 15}  # truncated (a fall at step 15 would also count)
    assert fell and timed_out
    if mask == "done":
        assert masked == set(ends)
    else:
        assert fell <= masked < set(ends)  # every fall masked, and some truncation left to bootstrap
    assert gym.spec(env_id).max_episode_steps == 15


def test_stop_when_solved_false_runs_the_whole_budget_and_keeps_the_solving_weights():
    easy = dataclasses.replace(SHORT, solve_threshold=5.0, eval_max_return=None, confirm_episodes=10,
                               total_steps=250, eval_interval=110)  # any greedy policy lasts ≥ 8 steps
    stop = train_dqn(easy, seed=2, progress=False)
    assert stop.solved_at == 110 and stop.steps == 110
    go_on = train_dqn(dataclasses.replace(easy, stop_when_solved=False), seed=2, progress=False)
    assert go_on.solved_at == 110 and go_on.steps == 250
    assert [e["step"] for e in go_on.evals] == [110, 220]
    assert_same_weights(go_on.state_dict, stop.state_dict)


def test_td_targets_masks_termination_only_and_matches_td_target():
    from helpers.dqn import td_targets

    one, zero = torch.ones(1), torch.zeros(1)
    nq = torch.tensor([[1.0, 2.0]])
    assert td_targets(one, nq, zero, one, 0.5).tolist() == [2.0]  # truncated: still bootstraps
    assert td_targets(one, nq, one, zero, 0.5).tolist() == [1.0]  # terminated: r only
    batch = make_batch([1.0, 0.5], [1.0, 0.0])
    target = ConstQ([3.0, 5.0])
    y = td_targets(batch.rewards, target(batch.next_obs), batch.terminated, torch.zeros(2), 0.9)
    assert torch.equal(y, td_target(None, target, batch, 0.9))
