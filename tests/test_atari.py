"""helpers.atari (the image replay buffer, the Nature CNN, preprocessing, the Pong protocol) and
helpers.pomdp (CartPole with the velocities hidden). Fast: no training."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import helpers  # noqa: F401  (registers the environments)
from helpers.atari import FrameReplayBuffer, NatureCNN, conv_output_size, make_pong, preprocess_frame
from helpers.replay import ReplayBuffer


def fake_episode(first_id: int, length: int, stack: int = 4, shape=(3, 2)):
    """Stacks as FrameStackObservation makes them; frame k is filled with the number first_id + k."""
    frames = [np.full(shape, first_id + k, dtype=np.uint8) for k in range(length + 1)]

    def stack_at(t):
        return np.stack([frames[max(0, t - stack + 1 + j)] for j in range(stack)])

    return [(stack_at(t), stack_at(t + 1)) for t in range(length)]


def fill(buf, episodes):
    added = []
    for ep in episodes:
        for t, (obs, nxt) in enumerate(ep):
            buf.add(obs, t % 3, float(t), nxt, terminated=t == len(ep) - 1)
            added.append((obs, nxt))
    return added


def test_stacks_are_rebuilt_exactly_across_episode_boundaries():
    buf = FrameReplayBuffer(100, frame_shape=(3, 2), stack=4, seed=0)
    added = fill(buf, [fake_episode(0, 5), fake_episode(50, 2), fake_episode(100, 7)])
    assert len(buf) == len(added) == 14
    batch = buf.gather(np.arange(buf.first, buf.added))
    for j, (obs, nxt) in enumerate(added):
        assert np.array_equal(batch.obs[j], obs), f"obs of transition {j}"
        assert np.array_equal(batch.next_obs[j], nxt), f"next_obs of transition {j}"
    # the first stack of the second episode repeats its own first frame, nothing of episode one
    assert np.all(batch.obs[5] == 50)
    assert batch.terminated.tolist().count(1.0) == 3


def test_each_frame_is_stored_once():
    buf = FrameReplayBuffer(100, frame_shape=(3, 2), stack=4)
    fill(buf, [fake_episode(0, 10), fake_episode(50, 10)])
    # per episode: its first frame once (the reset stack repeats it) + one new frame per step
    assert buf.frames_added == 2 * (1 + 10)


def test_wrapping_keeps_only_whole_stacks():
    buf = FrameReplayBuffer(8, frame_shape=(3, 2), stack=4, seed=0)
    added = fill(buf, [fake_episode(0, 9), fake_episode(100, 3), fake_episode(150, 20)])
    assert 0 < len(buf) <= 8
    batch = buf.gather(np.arange(buf.first, buf.added))
    for j, n in enumerate(range(buf.first, buf.added)):
        assert np.array_equal(batch.obs[j], added[n][0]) and np.array_equal(batch.next_obs[j], added[n][1])
    sample = buf.sample(4)
    assert sample.obs.shape == (4, 4, 3, 2) and sample.obs.dtype == np.uint8


def test_memory_per_transition_is_about_one_frame():
    n, frame = 1_000, (84, 84)
    frames_once = FrameReplayBuffer(n, frame, stack=4)
    float_stacks = ReplayBuffer(n, (4, *frame))
    per_frame = 84 * 84
    assert frames_once.nbytes / n < 1.01 * per_frame + 64  # one uint8 frame + indices and small fields
    float_bytes = (float_stacks.obs.nbytes + float_stacks.next_obs.nbytes) / n
    assert float_bytes == 2 * 4 * per_frame * 4  # two float32 stacks of four frames
    assert float_bytes / (frames_once.nbytes / n) > 30


def test_add_rejects_stacks_that_do_not_follow_each_other():
    buf = FrameReplayBuffer(10, frame_shape=(3, 2), stack=4)
    obs = np.zeros((4, 3, 2), np.uint8)
    with pytest.raises(ValueError, match="shifted by one frame"):
        buf.add(obs, 0, 0.0, np.ones((4, 3, 2), np.uint8), False)
    with pytest.raises(ValueError, match="shape"):
        buf.add(obs[:3], 0, 0.0, obs[:3], False)
    with pytest.raises(ValueError, match="cannot sample"):
        buf.sample(1)


def test_nature_cnn_shapes_and_parameters():
    net = NatureCNN(6)
    x = torch.zeros(2, 4, 84, 84, dtype=torch.uint8)
    assert net.features(x.float()).shape == (2, 64 * 7 * 7)
    assert net(x).shape == (2, 6)
    assert sum(p.numel() for p in net.parameters()) == 1_687_206
    sizes = [84]
    for k, s in [(8, 4), (4, 2), (3, 1)]:
        sizes.append(conv_output_size(sizes[-1], k, s))
    assert sizes == [84, 20, 9, 7]
    with pytest.raises(ValueError, match="84, 84"):
        net(torch.zeros(1, 4, 80, 80))


def test_nature_cnn_scales_uint8_frames():
    net = NatureCNN(3)
    frames = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    assert torch.allclose(net(frames), net(frames.float() / 255.0))


def test_preprocess_frame_steps():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (210, 160, 3), dtype=np.uint8)
    out = preprocess_frame(frame)
    assert out.shape == (84, 84) and out.dtype == np.float32 and 0.0 <= out.min() and out.max() <= 1.0
    flat = np.full((210, 160, 3), (200, 100, 50), dtype=np.uint8)
    assert np.allclose(preprocess_frame(flat), round(0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255)
    with pytest.raises(ValueError, match="RGB"):
        preprocess_frame(frame[..., 0])


def test_pong_protocol_and_observation_space():
    env = make_pong()
    try:
        assert env.observation_space.shape == (4, 84, 84) and env.observation_space.dtype == np.uint8
        assert env.action_space.n == 6
        ale_env = env.unwrapped
        assert ale_env._frameskip == 1
        assert ale_env.ale.getFloat("repeat_action_probability") == pytest.approx(0.25)
        obs, _ = env.reset(seed=0)
        assert obs.shape == (4, 84, 84) and all(np.array_equal(obs[0], f) for f in obs)  # reset repeats
        nxt, *_ = env.step(0)
        assert np.array_equal(nxt[:-1], obs[1:])
    finally:
        env.close()
    assert gym.spec("helpers/Pong-v0") is not None


def test_hidden_velocity_cartpole():
    env = gym.make("helpers/CartPoleNoVelocity-v0")
    full = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=3)
    ref, _ = full.reset(seed=3)
    assert obs.shape == (2,) and np.allclose(obs, ref[[0, 2]])
    stacked = gym.make("helpers/CartPoleNoVelocityStack4-v0")
    s0, _ = stacked.reset(seed=3)
    assert s0.shape == (8,) and np.allclose(s0, np.tile(ref[[0, 2]], 4))
    s1, *_ = stacked.step(1)
    r1, *_ = full.step(1)
    assert np.allclose(s1[-2:], r1[[0, 2]]) and np.allclose(s1[:6], s0[2:])
