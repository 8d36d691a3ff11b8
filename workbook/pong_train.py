"""Train and evaluate the Pong DQN the course ships (issue 18): instructor tooling, not a lesson.

``bench/dqn_pong.py`` is the command line; this module holds the loop, the checkpoints, the training
record and the evaluation. It is built from notebook 14's pieces only — :func:`helpers.atari.make_pong`,
:class:`~helpers.atari.NatureCNN`, :class:`~helpers.atari.FrameReplayBuffer` (each frame stored once,
``uint8``) and :mod:`helpers.dqn`'s :func:`~helpers.dqn.td_target`, :func:`~helpers.dqn.q_loss`,
:func:`~helpers.dqn.linear_epsilon`, :func:`~helpers.dqn.soft_update` — in notebook 14's flat loop.

Resuming is exact: a run stopped after a checkpoint and resumed from it gives the same weights, losses
and learning curve as one that never stopped (same machine, torch build, device and thread count).

* **Episode boundaries.** Checkpoints are written only between episodes (the first boundary at or after
  each multiple of ``checkpoint_every``), and every episode starts with ``env.reset(seed=...)`` from
  :func:`episode_seed` ``(seed, episode number)``. ``ale_py`` reloads the ROM on a seeded reset and
  reseeds both its own generator (sticky actions) and ``np_random`` (``AtariPreprocessing``'s 1–30
  no-op start), so the environment at an episode start is a function of the episode number and no
  emulator state needs saving. Mid-episode, the ALE state and the wrappers' frame buffers would.
* **Everything else** is in ``state.pt``: the online and target networks, Adam, the whole replay buffer
  (frames once, ``uint8``; indices, counters, its sampling generator), the exploration generator and the
  Python / NumPy / torch (and CUDA) generators, the step and episode numbers and the configuration.
  ``state.pt`` holds nothing time-dependent, so two runs of the same command write identical bytes;
  ``meta.json`` beside it holds the clocks, the learning curve and the record's segments.

The record (``record.json`` + ``curve.csv`` in the record folder, rewritten after every episode) names the
commit, the exact command (argv), the configuration, the protocol, steps, wall and CPU seconds, each
resumed segment, and the SHA-256 of the first checkpoint's ``state.pt``, which ``bench/dqn_pong.py
--reproduce`` recomputes from the recorded command.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import hashlib
import json
import os
import platform
import random
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import helpers
from helpers.atari import PONG_ID, FrameReplayBuffer, NatureCNN, make_pong
from helpers.dqn import linear_epsilon, q_loss, soft_update, td_target
from helpers.pong_agent import WEIGHTS as WEIGHTS_PATH  # package data of helpers: pip/Colab installs carry it
from helpers.pong_agent import WEIGHTS_FORMAT, load_pong_agent
from helpers.replay import Batch, check_sample_size

ROOT = Path(__file__).resolve().parents[1]
CURVE_FIELDS = ["step", "episode", "return", "length", "epsilon", "loss_mean", "updates", "wall_s"]


@dataclass
class PongConfig:
    """Every hyperparameter of the Pong run, named in one place (CleanRL's ``dqn_atari`` layout).

    CleanRL's defaults are for a 10M-step budget (ε over 1M steps, 80k random steps first, 1M replay);
    the issue's budget is 2M agent steps, so the schedule is scaled to it and the rest kept.
    """

    seed: int = 0
    total_steps: int = 2_000_000  # agent steps (4 emulator frames each): the budget, 1/5 of CleanRL's
    repeat_action_probability: float = 0.0  # train on the protocol CleanRL reports (NoFrameskip-v4-like);
    #   the evaluation also reports v5's sticky 0.25
    max_episode_steps: int | None = None  # None: v5's own cap (108 000 frames = 27 000 agent steps);
    #   the tests cut episodes short so that a 300-step run has episode boundaries to checkpoint at
    buffer_size: int = 100_000  # transitions; frames stored once, uint8: ~0.7 GB (CleanRL: 1M = ~7 GB)
    learning_starts: int = 20_000  # random-action steps before the first update (Dopamine's DQN: 20k;
    #   CleanRL's 80k is 0.8 % of its 10M budget)
    train_frequency: int = 4  # one gradient step every 4 agent steps (DQN, CleanRL, Dopamine)
    batch_size: int = 32
    learning_rate: float = 1e-4  # Adam (CleanRL)
    gamma: float = 0.99
    target_update_interval: int = 1_000  # agent steps between hard target copies (CleanRL)
    epsilon_start: float = 1.0
    epsilon_end: float = 0.01
    exploration_fraction: float = 0.1  # ε decays linearly over this share of total_steps (CleanRL: 10 %)
    loss: str = "huber"  # the course's default; the DQN paper's clipped error (CleanRL uses MSE)
    adam_eps: float = 1e-8  # Adam's ε (PyTorch's and CleanRL's default); Rainbow and Dopamine use 1.5e-4 for Atari,
    #   which keeps Adam from turning tiny gradients into full-size steps

    n_step: int = 1  # rewards summed per TD target: r_t + γ r_t+1 + … + γ^(n-1) r_t+n-1 + γ^n max q(s_t+n)
    #   (Rainbow's multi-step returns, n = 3): a point scored reaches the Q-values of the states that earned it
    #   n times sooner; 1 is the DQN target of notebook 14

    #: fields added after the course's first recorded run: a checkpoint stores them only when they differ from the
    #: default, so that the earlier runs' recorded commands still reproduce their checkpoints byte for byte
    LATER_FIELDS = ("adam_eps", "n_step")

    def __post_init__(self) -> None:
        for name in ["total_steps", "buffer_size", "train_frequency", "batch_size", "target_update_interval", "n_step"]:
            if int(getattr(self, name)) < 1:
                raise ValueError(f"PongConfig.{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.learning_starts < self.batch_size:
            raise ValueError("PongConfig.learning_starts must be at least batch_size (the first sample)")
        if self.loss not in ("huber", "mse"):
            raise ValueError(f"PongConfig.loss must be 'huber' or 'mse', got {self.loss!r}")
        if not 0.0 <= self.repeat_action_probability <= 1.0:
            raise ValueError("PongConfig.repeat_action_probability must lie in [0, 1]")

    def stored(self) -> dict[str, Any]:
        """The fields as a checkpoint stores them (:attr:`LATER_FIELDS` only when they differ from the default)."""
        defaults = PongConfig.__dataclass_fields__
        return {k: v for k, v in asdict(self).items() if k not in self.LATER_FIELDS or v != defaults[k].default}

    @property
    def exploration_steps(self) -> int:
        return int(self.exploration_fraction * self.total_steps)

    @classmethod
    def from_overrides(cls, overrides: Sequence[str]) -> PongConfig:
        """A config from ``["name=value", ...]`` (the command line's ``--set``), values parsed as JSON."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for item in overrides:
            name, sep, raw = item.partition("=")
            if not sep or name not in fields:
                raise ValueError(f"--set expects NAME=VALUE with NAME one of {sorted(fields)}, got {item!r}")
            try:
                values[name] = json.loads(raw)
            except json.JSONDecodeError:
                values[name] = raw
        return cls(**values)


def protocol(repeat_action_probability: float, epsilon: float | None = None,
             max_episode_steps: int | None = None) -> str:
    """The environment protocol in words (for records and evaluation summaries)."""
    sticky = ("no sticky actions (repeat_action_probability 0, the PongNoFrameskip-v4-like protocol CleanRL "
              "and the DQN papers report)" if repeat_action_probability == 0 else
              f"sticky actions (repeat_action_probability {repeat_action_probability:g}, ALE/Pong-v5's default)")
    text = (f"{PONG_ID} frameskip=1 + AtariPreprocessing(frame_skip=4, max-pool of the last 2 frames, 1-30 no-op "
            f"starts, 84x84 gray) + 4-frame stack, {sticky}, "
            + ("full game to 21 points" if max_episode_steps is None else f"episodes cut at {max_episode_steps} agent steps"))
    return text if epsilon is None else text + f", epsilon-greedy {epsilon:g}"


def episode_seed(seed: int, episode: int) -> int:
    """The ``env.reset`` seed of training episode ``episode`` (0, 1, …) of a run seeded ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(episode)]).generate_state(1)[0])


def make_env(config: PongConfig) -> Any:
    """``make_pong`` with the run's sticky-action probability (and a time limit, when set)."""
    import gymnasium as gym

    env = make_pong(repeat_action_probability=config.repeat_action_probability)
    if config.max_episode_steps is not None:
        env = gym.wrappers.TimeLimit(env, max_episode_steps=int(config.max_episode_steps))
    return env


def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the repository, or ``None`` outside a checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


#: The files the run's numbers depend on; uncommitted changes to them are named in the record.
CODE_FILES = ["bench/dqn_pong.py", "workbook/pong_train.py", "helpers/atari.py", "helpers/dqn.py", "helpers/replay.py"]


def dirty_code_files() -> list[str]:
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", *CODE_FILES], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [line[3:] for line in out.splitlines() if line.strip()]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------- checkpoints

BUFFER_ARRAYS = ["frames", "frame_ids", "actions", "rewards", "terminated"]
BUFFER_COUNTERS = ["frames_added", "first", "added"]


def buffer_state(buffer: FrameReplayBuffer) -> dict[str, Any]:
    state: dict[str, Any] = {name: torch.from_numpy(getattr(buffer, name)) for name in BUFFER_ARRAYS}
    state.update({name: int(getattr(buffer, name)) for name in BUFFER_COUNTERS})
    state["current"] = None if buffer._current is None else buffer._current.tolist()
    state["rng"] = buffer.rng.bit_generator.state
    return state


def load_buffer_state(buffer: FrameReplayBuffer, state: dict[str, Any]) -> None:
    for name in BUFFER_ARRAYS:
        np.copyto(getattr(buffer, name), state[name].numpy())
    for name in BUFFER_COUNTERS:
        setattr(buffer, name, int(state[name]))
    buffer._current = None if state["current"] is None else np.asarray(state["current"], dtype=np.int64)
    buffer.rng.bit_generator.state = state["rng"]


def rng_states(explore: np.random.Generator) -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": (np_state[0], np_state[1].tolist(), *np_state[2:]),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "explore": explore.bit_generator.state,
    }


def load_rng_states(states: dict[str, Any], explore: np.random.Generator) -> None:
    random.setstate(states["python"])
    kind, keys, *rest = states["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(states["torch"])
    if states["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    explore.bit_generator.state = states["explore"]


def checkpoint_step(path: Path) -> int:
    """The agent step of a ``ckpt-<step>`` folder, from its name."""
    return int(Path(path).name.split("-")[1])


def checkpoints(run_dir: Path) -> list[Path]:
    """The complete checkpoints in ``run_dir``, oldest first (``ckpt-<step>/`` with ``state.pt``, ``meta.json``)."""
    found = [p for p in Path(run_dir).glob("ckpt-*") if p.is_dir() and not p.name.endswith(".tmp")
             and (p / "state.pt").is_file() and (p / "meta.json").is_file()]
    return sorted(found, key=checkpoint_step)


def n_step_batch(buffer: FrameReplayBuffer, numbers: np.ndarray, n: int, gamma: float) -> tuple[Batch, np.ndarray]:
    """Transitions ``numbers`` of ``buffer`` with ``n``-step returns, and each row's bootstrap discount.

    Row ``i`` follows its episode for up to ``n`` transitions ``i, i+1, …``: ``rewards`` is
    :math:`\\sum_k \\gamma^k r_{i+k}`, ``next_obs`` the state after the last one taken, ``terminated`` that
    one's flag, and the discount :math:`\\gamma^m` for the ``m`` transitions taken. A row stops early at
    its episode's end, or where the buffer holds no later transition yet (``m < n``: it bootstraps from an
    earlier state with :math:`\\gamma^m`). The target is ``rewards + discount * (1 - terminated) * max q'``.
    The next transition continues an episode when its first frame is the current one's second (frame ids
    only grow, and a new episode stores new frames).
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    cap = buffer.capacity
    returns = np.zeros(len(numbers), dtype=np.float32)
    discount = np.ones(len(numbers), dtype=np.float32)
    last = numbers.copy()
    active = np.ones(len(numbers), dtype=bool)
    for k in range(n):
        j = numbers + k
        if k > 0:
            active &= (j < buffer.added) & (buffer.frame_ids[j % cap, 0] == buffer.frame_ids[(j - 1) % cap, 1])
        slots = j % cap
        returns[active] += discount[active] * buffer.rewards[slots[active]]
        last[active] = j[active]
        discount[active] *= np.float32(gamma)
        active &= buffer.terminated[slots] == 0
    batch = buffer.gather(numbers)
    tail = buffer.gather(last)
    return dataclasses.replace(batch, rewards=returns, next_obs=tail.next_obs, terminated=tail.terminated), discount


# ------------------------------------------------------------------------------------------------ training


class Trainer:
    """One Pong DQN run: the networks, Adam, the replay buffer, the generators, the counters.

    Build a fresh run with ``Trainer(config)``, or one resumed from a checkpoint with
    :meth:`Trainer.from_checkpoint`; then :meth:`run`.
    """

    def __init__(self, config: PongConfig, *, device: str | torch.device = "cpu", threads: int | None = 1,
                 channels_last: bool = False, fused_adam: bool = False) -> None:
        self.config = config
        self.device = torch.device(device)
        self.threads = threads
        if self.device.type == "cuda":  # a resumed GPU run equals an uninterrupted one only with deterministic
            # kernels: cuDNN's convolutions, and the scatter in gather's backward (q_loss) are not by default
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS first starts
            torch.backends.cudnn.benchmark = False
            torch.use_deterministic_algorithms(True)
        # channels_last: the networks and batches in NHWC memory order, which oneDNN's CPU convolutions
        # run faster (batch-32 update 22 → 18 ms on 2 threads here); the same numbers up to rounding
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        helpers.seed_everything(config.seed, threads=threads)
        self.env = make_env(config)
        self.n_actions = int(self.env.action_space.n)
        self.q_net = NatureCNN(self.n_actions).to(self.device, memory_format=self.memory_format)
        self.target_net = copy.deepcopy(self.q_net)
        # fused_adam: Adam's update in one fused kernel instead of a loop of tensor operations (8.2 → 0.9 ms
        # per step for the Nature CNN's 1.7M weights on 2 CPU threads); the same update up to rounding
        self.optimizer = torch.optim.Adam(self.q_net.parameters(), lr=config.learning_rate, eps=config.adam_eps,
                                          fused=True if fused_adam else None)
        self.buffer = FrameReplayBuffer(config.buffer_size, (84, 84), stack=4, seed=config.seed)
        self.explore = np.random.default_rng(config.seed)
        self.step = 0  # agent steps taken
        self.episode = 0  # episodes finished (the next one is number `episode`)
        self.updates = 0
        self.curve: list[dict[str, Any]] = []
        self.wall_s = 0.0  # training seconds over all segments, up to the last checkpoint or now
        self.cpu_s = 0.0
        self.segments: list[dict[str, Any]] = []
        self.first_checkpoint: dict[str, Any] | None = None

    @classmethod
    def from_checkpoint(cls, path: Path, *, device: str | torch.device = "cpu", threads: int | None = 1,
                        channels_last: bool = False, fused_adam: bool = False) -> Trainer:
        """The run as it was when checkpoint ``path`` (a ``ckpt-<step>`` folder) was written."""
        path = Path(path)
        state = torch.load(path / "state.pt", map_location="cpu", weights_only=False)  # RNG states stay on the CPU
        meta = json.loads((path / "meta.json").read_text())
        self = cls(PongConfig(**state["config"]), device=device, threads=threads, channels_last=channels_last,
                   fused_adam=fused_adam)
        self.q_net.load_state_dict(state["q_net"])
        self.target_net.load_state_dict(state["target_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        for group in self.optimizer.param_groups:  # the saved groups bring the saving run's choice
            group["fused"] = True if fused_adam else None
        for p in self.q_net.parameters():  # Adam's moments in their parameter's memory order: a fused kernel
            moments = self.optimizer.state.get(p, {})  # walks both in storage order, so they must match
            for key, value in moments.items():
                if torch.is_tensor(value) and value.shape == p.shape:
                    moments[key] = torch.empty_like(p).copy_(value)
        load_buffer_state(self.buffer, state["buffer"])
        load_rng_states(state["rng"], self.explore)
        self.step, self.episode, self.updates = state["step"], state["episode"], state["updates"]
        self.curve, self.segments = meta["curve"], meta["segments"]
        self.wall_s, self.cpu_s = meta["wall_s"], meta["cpu_s"]
        self.first_checkpoint = meta["first_checkpoint"]
        return self

    # -- the loop --

    def act(self, obs: np.ndarray) -> int:
        cfg = self.config
        eps = linear_epsilon(self.step, cfg.epsilon_start, cfg.epsilon_end, cfg.exploration_steps)
        if self.step <= cfg.learning_starts or self.explore.random() < eps:
            return int(self.explore.integers(self.n_actions))
        with torch.no_grad():
            return int(self.q_net(torch.as_tensor(obs, device=self.device).unsqueeze(0)).argmax())

    def update(self) -> float:
        cfg = self.config
        if cfg.n_step == 1:  # notebook 14's update (and the earlier runs' exact draws and numbers)
            batch, discount = self.buffer.sample(cfg.batch_size).to_torch(self.device), None
        else:  # the same draws as sample(), then n-step returns
            check_sample_size(cfg.batch_size, len(self.buffer))
            numbers = self.buffer.rng.integers(self.buffer.first, self.buffer.added, size=cfg.batch_size)
            batch, discount = n_step_batch(self.buffer, numbers, cfg.n_step, cfg.gamma)
            batch, discount = batch.to_torch(self.device), torch.as_tensor(discount, device=self.device)
        if self.memory_format is torch.channels_last:
            batch = dataclasses.replace(batch, obs=batch.obs.contiguous(memory_format=torch.channels_last),
                                        next_obs=batch.next_obs.contiguous(memory_format=torch.channels_last))
        q_pred = self.q_net(batch.obs).gather(1, batch.actions.unsqueeze(1)).squeeze(1)
        if discount is None:
            target = td_target(self.q_net, self.target_net, batch, cfg.gamma)
        else:
            with torch.no_grad():
                next_q = self.target_net(batch.next_obs).max(dim=1).values
                target = batch.rewards + discount * (1.0 - batch.terminated) * next_q
        loss = q_loss(q_pred, target, cfg.loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        return float(loss.item())

    def play_episode(self) -> dict[str, Any] | None:
        """Play training episode number ``self.episode`` (learning as it goes); its curve row, or ``None``
        when the step budget ran out before it ended."""
        cfg = self.config
        obs, _ = self.env.reset(seed=episode_seed(cfg.seed, self.episode))
        ep_return, length, losses = 0.0, 0, []
        while self.step < cfg.total_steps:
            action = self.act(obs)
            self.step += 1
            next_obs, reward, terminated, truncated, _ = self.env.step(action)
            self.buffer.add(obs, action, reward, next_obs, terminated)
            obs, ep_return, length = next_obs, ep_return + float(reward), length + 1
            if self.step > cfg.learning_starts and self.step % cfg.train_frequency == 0:
                losses.append(self.update())
            if self.step % cfg.target_update_interval == 0:
                soft_update(self.target_net, self.q_net, 1.0)
            if terminated or truncated:
                self.episode += 1
                eps = linear_epsilon(self.step, cfg.epsilon_start, cfg.epsilon_end, cfg.exploration_steps)
                return {"step": self.step, "episode": self.episode, "return": ep_return, "length": length,
                        "epsilon": round(eps, 6), "loss_mean": float(np.mean(losses)) if losses else None,
                        "updates": len(losses)}
        return None

    def run(self, run_dir: Path, *, checkpoint_every: int = 25_000, keep: int = 2, until: int | None = None,
            record_dir: Path | None = None, argv: Sequence[str] = (), log: Callable[[str], None] | None = print,
            ) -> dict[str, Any]:
        """Train until ``total_steps`` (or, with ``until``, until the first checkpoint at or after that step).

        A checkpoint is written at the first episode boundary at or after each multiple of
        ``checkpoint_every`` and at the end; the newest ``keep`` are kept. Returns the record.
        """
        run_dir = Path(run_dir)
        record_dir = Path(record_dir) if record_dir is not None else run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        record_dir.mkdir(parents=True, exist_ok=True)
        cfg = self.config
        segment = {"commit": git_commit(), "dirty": dirty_code_files(), "argv": list(argv),
                   "command": " ".join(["python", "bench/dqn_pong.py", *map(shlex.quote, argv)]),
                   "start_step": self.step, "end_step": self.step, "wall_s": 0.0, "cpu_s": 0.0,
                   "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(),
                   "cpu": platform.processor() or platform.machine(), "device": str(self.device),
                   "threads": torch.get_num_threads(), "torch": torch.__version__, "numpy": np.__version__,
                   "nice": os.nice(0) if hasattr(os, "nice") else None}
        self.segments.append(segment)
        base_wall, base_cpu = self.wall_s, self.cpu_s
        start_wall, start_cpu = time.perf_counter(), time.process_time()

        def clocks() -> None:
            segment["wall_s"] = round(time.perf_counter() - start_wall, 3)
            segment["cpu_s"] = round(time.process_time() - start_cpu, 3)
            segment["end_step"] = self.step
            self.wall_s, self.cpu_s = base_wall + segment["wall_s"], base_cpu + segment["cpu_s"]

        next_checkpoint = (self.step // checkpoint_every + 1) * checkpoint_every
        status = "running"
        while self.step < cfg.total_steps:
            row = self.play_episode()
            clocks()
            if row is None:
                break
            row["wall_s"] = round(self.wall_s, 1)
            self.curve.append(row)
            if log is not None:
                rate = (self.step - segment["start_step"]) / max(segment["wall_s"], 1e-9)
                log(json.dumps({**row, "steps_per_s": round(rate, 1)}))
            if self.step >= next_checkpoint and self.step < cfg.total_steps:
                self.save_checkpoint(run_dir, keep=keep)
                if log is not None:
                    self.log_health(log)
                next_checkpoint = (self.step // checkpoint_every + 1) * checkpoint_every
                if until is not None and self.step >= until:
                    status = "stopped"
                    break
            self.write_record(record_dir, status)
        clocks()
        if self.step >= cfg.total_steps:
            status = "finished"
            self.save_checkpoint(run_dir, keep=keep)
        return self.write_record(record_dir, status)

    def health(self, n: int = 512) -> dict[str, Any]:
        """Dead units (:func:`dead_units`) and the Q-values' spread over actions on the buffer's newest ``n``
        transitions. Draws no random numbers and changes nothing, so a run that checks its health equals one
        that does not."""
        buffer = self.buffer
        newest = np.arange(max(buffer.first, buffer.added - n), buffer.added)
        obs = torch.as_tensor(buffer.gather(newest).obs, device=self.device)
        with torch.no_grad():
            q = self.q_net(obs)
        return {"step": self.step, "dead_units": dead_units(self.q_net, obs),
                "q_mean": round(float(q.mean()), 4), "q_spread_over_actions": round(float(q.std(dim=1).mean()), 5)}

    def log_health(self, log: Callable[[str], None]) -> None:
        """Log :meth:`health` as a JSON line, and a warning when conv3 is (nearly) all dead: a collapsed run."""
        health = self.health()
        log(json.dumps({"checkpoint_health": health}))
        conv3 = health["dead_units"]["conv3"]
        if conv3 >= COLLAPSED_SHARE:
            log(f"warning: {conv3:.0%} of conv3's units are dead at step {self.step}: the run has most likely "
                "collapsed (every state gets nearly the same Q-values, and no gradient reaches the dead units); "
                "stop it and start again with other settings (a run 2 that did this: Adam's ε 1e-8)")

    # -- files --

    def state(self) -> dict[str, Any]:
        """Everything the run's future depends on (no clocks: identical runs give identical bytes)."""
        return {"config": self.config.stored(), "step": self.step, "episode": self.episode, "updates": self.updates,
                "q_net": self.q_net.state_dict(), "target_net": self.target_net.state_dict(),
                "optimizer": self.optimizer.state_dict(), "buffer": buffer_state(self.buffer),
                "rng": rng_states(self.explore)}

    def save_checkpoint(self, run_dir: Path, *, keep: int = 2) -> Path:
        final = Path(run_dir) / f"ckpt-{self.step:09d}"
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        torch.save(_canonical(self.state()), tmp / "state.pt")
        if self.first_checkpoint is None:
            self.first_checkpoint = {"step": self.step, "sha256": sha256(tmp / "state.pt")}
        meta = {"step": self.step, "episode": self.episode, "wall_s": self.wall_s, "cpu_s": self.cpu_s,
                "curve": self.curve, "segments": self.segments, "first_checkpoint": self.first_checkpoint}
        (tmp / "meta.json").write_text(json.dumps(meta))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in checkpoints(run_dir)[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def write_record(self, record_dir: Path, status: str) -> dict[str, Any]:
        """Rewrite ``record.json`` and ``curve.csv`` in ``record_dir`` (atomically); returns the record."""
        first = self.segments[0]
        returns = [r["return"] for r in self.curve[-10:]]
        record = {
            "issue": 18, "status": status, "commit": first["commit"], "command": first["command"],
            "argv": first["argv"], "seed": self.config.seed,
            "protocol": protocol(self.config.repeat_action_probability, None, self.config.max_episode_steps),
            "config": asdict(self.config), "steps": self.step, "episodes": self.episode,
            "updates": self.updates, "train_wall_s": round(self.wall_s, 1), "train_cpu_s": round(self.cpu_s, 1),
            "last10_mean_return": float(np.mean(returns)) if returns else None,
            "first_checkpoint": self.first_checkpoint, "segments": self.segments,
        }
        _write_atomic(record_dir / "record.json", json.dumps(record, indent=1) + "\n")
        rows = [",".join(CURVE_FIELDS)]
        for r in self.curve:
            rows.append(",".join("" if r.get(k) is None else _fmt(r[k]) for k in CURVE_FIELDS))
        _write_atomic(record_dir / "curve.csv", "\n".join(rows) + "\n")
        return record


def _canonical(obj: Any) -> Any:
    """``obj`` with every string interned. Pickle shares one entry among references to the same object, so
    a key unpickled from a checkpoint (a new string) would otherwise serialise differently from the same
    key in a run that never stopped (the interned literal): same content, different bytes."""
    if isinstance(obj, str):
        return sys.intern(obj)
    if isinstance(obj, dict):
        return {_canonical(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_canonical(v) for v in obj)
    return obj


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def read_curve(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------------------- weights, evaluation


def export_weights(checkpoint: Path, out: Path = WEIGHTS_PATH, selection: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the online network of ``checkpoint`` (a ``ckpt-<step>`` folder) as the shipped weights file.

    The file holds the ``state_dict`` (float32, ~6.8 MB) and the provenance: steps, wall and CPU seconds,
    the commit and command, the configuration and protocol, the learning curve (agent step and return
    of every training episode) that notebook 14 plots and, when given, how the checkpoint was chosen
    (``selection``, see ``bench/dqn_pong.py --select``). Returns its metadata.
    """
    checkpoint = Path(checkpoint)
    state = torch.load(checkpoint / "state.pt", map_location="cpu", weights_only=False)
    meta = json.loads((checkpoint / "meta.json").read_text())
    first = meta["segments"][0]
    info = {"format": WEIGHTS_FORMAT, "n_actions": int(state["q_net"]["head.2.bias"].shape[0]),
            "train_steps": state["step"], "train_episodes": state["episode"],
            "train_wall_s": round(meta["wall_s"], 1), "train_cpu_s": round(meta["cpu_s"], 1),
            "commit": first["commit"], "command": first["command"], "config": state["config"],
            "protocol": protocol(state["config"]["repeat_action_probability"], None,
                                 state["config"]["max_episode_steps"]), "checkpoint": checkpoint.name,
            "curve": {"step": [int(r["step"]) for r in meta["curve"]],
                      "return": [float(r["return"]) for r in meta["curve"]]}}
    if selection is not None:
        info["selection"] = selection
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**info, "state_dict": {k: v.clone() for k, v in state["q_net"].items()}}, out)
    return info


def load_weights(path: Path = WEIGHTS_PATH, device: str | torch.device = "cpu") -> tuple[NatureCNN, dict[str, Any]]:
    """A :class:`NatureCNN` with the weights of ``path`` — an exported file (read by
    :func:`helpers.pong_agent.load_pong_agent`) or a training checkpoint's ``state.pt`` or folder — in
    eval mode, and the file's metadata."""
    path = Path(path)
    if path.is_dir():
        path = path / "state.pt"
    if path.name != "state.pt":
        return load_pong_agent(path, device)
    blob = torch.load(path, map_location=device, weights_only=False)  # a checkpoint: our own file
    meta = {"train_steps": blob["step"], "config": blob["config"], "checkpoint": path.parent.name}
    meta_file = path.parent / "meta.json"
    if meta_file.is_file():
        meta["train_wall_s"] = round(json.loads(meta_file.read_text())["wall_s"], 1)
    net = NatureCNN(int(blob["q_net"]["head.2.bias"].shape[0])).to(device)
    net.load_state_dict(blob["q_net"])
    return net.eval(), meta



#: A conv3 dead share from which :meth:`Trainer.log_health` warns that the run has collapsed.
COLLAPSED_SHARE = 0.95


def dead_units(q_net: NatureCNN, obs: torch.Tensor) -> dict[str, float]:
    """The share of each hidden layer's units (conv channels, the 512 linear units) that output 0 for every one
    of the stacked observations ``obs`` (a uint8 batch), i.e. ReLUs that no gradient can revive on these states.

    A run whose ``conv3`` share reaches 1 has collapsed: the head sees only zeros, every state gets the same
    Q-values, and it cannot learn again (the course's second Pong run did this within 5 500 updates with Adam's
    ε = 1e-8; with 1.5e-4 the same start kept three quarters of conv3 alive).
    """
    names, shares = ["conv1", "conv2", "conv3"], {}
    with torch.no_grad():
        h = obs.float() / 255.0
        for layer in q_net.features:
            h = layer(h)
            if isinstance(layer, torch.nn.ReLU):
                shares[names[len(shares)]] = float((h.amax(dim=(0, 2, 3)) <= 0).float().mean())
        hidden = q_net.head[1](q_net.head[0](h))
        shares["fc512"] = float((hidden.amax(dim=0) <= 0).float().mean())
    return shares


def diagnose(checkpoint: Path, n: int = 512) -> dict[str, Any]:
    """Dead units (:func:`dead_units`) and Q-value spread of a checkpoint, on its buffer's newest ``n``
    transitions (read without touching any random number generator): :meth:`Trainer.health`."""
    return Trainer.from_checkpoint(Path(checkpoint)).health(n)
