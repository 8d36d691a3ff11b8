"""helpers.video: recording an episode and showing it inline."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from helpers.video import _encode_mp4, record_episode, show_video


@pytest.fixture
def env():
    e = gym.make("CartPole-v1", render_mode="rgb_array")
    yield e
    e.close()


def test_record_episode_keeps_a_frame_per_step(env):
    ep = record_episode(env, lambda obs: 0, seed=0)
    assert ep.length == len(ep.rewards) == len(ep.frames) - 1
    assert ep.frames[0].shape == (400, 600, 3) and ep.frames[0].dtype == np.uint8
    assert ep.total_reward == ep.length and ep.terminated and not ep.truncated


def test_same_seed_replays_the_same_episode(env):
    a = record_episode(env, lambda obs: int(obs[2] > 0), seed=3)
    b = record_episode(env, lambda obs: int(obs[2] > 0), seed=3)
    assert a.length == b.length and np.array_equal(a.frames[-1], b.frames[-1])


def test_max_steps_cuts_the_episode(env):
    assert record_episode(env, lambda obs: 0, seed=0, max_steps=3).length == 3


def test_record_needs_rgb_array_frames():
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        record_episode(gym.make("CartPole-v1"), lambda obs: 0)


def test_show_video_embeds_an_mp4(env):
    ep = record_episode(env, lambda obs: 0, seed=0, max_steps=10)
    html = show_video(ep.frames, fps=10).data
    assert html.startswith("<video") and "data:video/mp4;base64," in html


def test_mp4_bytes_are_a_real_mp4():
    frames = [np.full((31, 41, 3), i * 20, dtype=np.uint8) for i in range(5)]  # odd sizes are padded
    data = _encode_mp4(frames, fps=5)
    assert data[4:8] == b"ftyp"


def test_bad_frames_are_rejected_clearly():
    with pytest.raises(ValueError, match="no frames"):
        show_video([])
    with pytest.raises(ValueError, match="RGB"):
        show_video([np.zeros((4, 4))])


def test_without_ffmpeg_show_video_falls_back_to_a_gif(monkeypatch):
    import base64

    import helpers.video

    def no_ffmpeg(frames, fps):
        raise RuntimeError("no ffmpeg here")

    monkeypatch.setattr(helpers.video, "_encode_mp4", no_ffmpeg)
    frames = [np.zeros((20, 20, 3), np.uint8), np.full((20, 20, 3), 255, np.uint8)]
    html = show_video(frames, fps=5, width=100).data
    assert html.startswith('<img width="100" src="data:image/gif;base64,')
    assert base64.b64decode(html.split(",", 1)[1].split('"')[0])[:3] == b"GIF"
