"""Record an agent's episode as frames and show it inline, in JupyterLab and in Colab.

No X server or virtual display is needed: environments render ``rgb_array`` frames off-screen,
:func:`show_video` encodes them to H.264 MP4 with the ffmpeg that the ``imageio-ffmpeg`` wheel
ships, and embeds the video in the notebook as an HTML5 ``<video>`` (an animated GIF if ffmpeg is
unavailable).

>>> env = gym.make("CartPole-v1", render_mode="rgb_array")
>>> episode = record_episode(env, lambda obs: 0, seed=0)
>>> show_video(episode.frames)          # doctest: +SKIP
"""

from __future__ import annotations

import base64
import io
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers._checks import check_int

__all__ = ["Episode", "record_episode", "show_video"]


@dataclass
class Episode:
    """One recorded episode: ``frames[0]`` is the start state, one more frame per step."""

    frames: list[np.ndarray] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    total_reward: float = 0.0
    length: int = 0
    terminated: bool = False
    truncated: bool = False


def record_episode(env: Any, policy: Callable[[Any], Any], *, seed: int | None = None,
                   max_steps: int | None = None) -> Episode:
    """Play one episode with ``policy`` and keep every rendered frame.

    Parameters
    ----------
    env : gymnasium.Env
        A gymnasium environment made with ``render_mode="rgb_array"``.
    policy : callable
        ``policy(observation) -> action`` for a single (unbatched) observation.
    seed : int or None
        Seed for ``env.reset`` (the same seed replays the same episode for a deterministic policy).
    max_steps : int or None
        Stop after this many steps even if the episode has not ended (``None``: play to the end).
    """
    if getattr(env, "render_mode", None) != "rgb_array":
        raise ValueError(
            f"record_episode needs frames: make the environment with render_mode='rgb_array' "
            f"(got render_mode={getattr(env, 'render_mode', None)!r})")
    if max_steps is not None:
        check_int(max_steps, "max_steps", minimum=0, hint="or None to play to the end")
    obs, _ = env.reset(seed=seed)
    episode = Episode(frames=[_frame(env.render())])
    while max_steps is None or episode.length < max_steps:
        action = policy(obs)
        if isinstance(action, np.ndarray) and action.ndim == 0:
            action = action.item()
        obs, reward, terminated, truncated, _ = env.step(action)
        episode.frames.append(_frame(env.render()))
        episode.rewards.append(float(reward))
        episode.length += 1
        if terminated or truncated:
            episode.terminated, episode.truncated = bool(terminated), bool(truncated)
            break
    episode.total_reward = float(sum(episode.rewards))
    return episode


def _frame(frame: Any) -> np.ndarray:
    arr = np.asarray(frame)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"a frame must be an (H, W, 3) RGB array, got shape {arr.shape}")
    return arr[..., :3].astype(np.uint8, copy=False)


def _check_frames(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    if len(frames) == 0:
        raise ValueError("no frames to show: record an episode first (record_episode(...).frames)")
    out = [_frame(f) for f in frames]
    if len({f.shape for f in out}) != 1:
        raise ValueError("all frames must have the same shape")
    h, w = out[0].shape[:2]
    if h % 2 or w % 2:  # H.264 with yuv420p needs even sizes
        out = [np.pad(f, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") for f in out]
    return out


def _encode_mp4(frames: Sequence[np.ndarray], fps: int = 30) -> bytes:
    """Encode frames as an H.264 MP4 (browser-playable), using imageio-ffmpeg's bundled ffmpeg."""
    import imageio.v2 as iio

    frames = _check_frames(frames)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "episode.mp4"
        with iio.get_writer(path, fps=fps, codec="libx264", pixelformat="yuv420p", macro_block_size=1,
                            ffmpeg_log_level="error") as writer:
            for f in frames:
                writer.append_data(f)
        return path.read_bytes()


def _encode_gif(frames: Sequence[np.ndarray], fps: int) -> bytes:
    from PIL import Image

    images = [Image.fromarray(f) for f in _check_frames(frames)]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return buf.getvalue()


def show_video(frames: Sequence[np.ndarray], fps: int = 30, *, width: int | None = None) -> Any:
    """Embed the frames in the notebook as an inline video (returns an ``IPython.display.HTML``).

    Works in JupyterLab, classic Jupyter, VS Code and Colab; the video travels inside the notebook.
    """
    from IPython.display import HTML

    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    size = f' width="{int(width)}"' if width else ""
    try:
        data = base64.b64encode(_encode_mp4(frames, fps)).decode("ascii")
        return HTML(f'<video controls autoplay loop muted playsinline{size} '
                    f'src="data:video/mp4;base64,{data}"></video>')
    except (ImportError, RuntimeError, OSError):  # no ffmpeg: fall back to an animated GIF
        data = base64.b64encode(_encode_gif(frames, fps)).decode("ascii")
        return HTML(f'<img{size} src="data:image/gif;base64,{data}"/>')
