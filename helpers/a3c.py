"""A3C on CartPole-v1: asynchronous actor-learners (액터러너) updating a global network (글로벌 신경망),
Hogwild-style, with ``torch.multiprocessing`` (notebook 17).

Spawned worker processes cannot unpickle functions defined in a notebook, so everything a worker runs
lives here, importable::

    result = train_a3c(A3CConfig(n_workers=2), seed=0)   # starts, watches and joins the workers
    result.solved_at, result.model                      # the confirmed weights (a plain ActorCritic)

One actor-learner (:func:`actor_learner`, one process each) repeats:

1. copy the global weights into its local network (done by ``push_and_pull`` at the end of the
   previous round, and once at the start);
2. play up to ``n_steps`` steps of its own CartPole with the local network (a rollout stops early at
   an episode end);
3. compute the n-step returns and the A2C loss (:func:`helpers.pg.n_step_returns`,
   :func:`helpers.pg.a2c_loss`) and backpropagate **locally**;
4. ``push_and_pull`` (:func:`push_and_pull`): hand the local gradients to the global parameters, take
   one step of the shared optimizer, copy the new global weights back — without waiting for, or
   locking out, the other workers (비동기 업데이트).

The global model lives in shared memory (``share_memory()``) and so do the optimizer's Adam statistics
(:class:`SharedAdam`). The workers count environment steps in a shared counter, stop when a shared
event is set, and send their finished episodes and, every ``eval_every`` global steps, a snapshot of the
global weights to the main process, which evaluates every snapshot in order with the course's
:func:`~helpers.evaluation.confirmed_solve` and stops everyone at the first confirmed solve. The workers
pause while a snapshot is checked (a shared ``resume`` event), as A2C's loop pauses for its checks: no
one trains on past a solve that has not been seen yet, and the two algorithms' clocks count the same.

The network is notebook 16's :class:`helpers.pg.ActorCritic`; notebook 17 compares A3C with notebook
16's synchronous A2C, :func:`helpers.pg.train_a2c` (whose defaults, :class:`helpers.pg.A2CConfig`, hold
the same shared hyperparameters as :class:`A3CConfig`).

Hogwild updates are not deterministic: which worker writes first depends on the operating system's
scheduling, so a seed fixes each worker's environment and sampling but not the outcome of a run.
"""

from __future__ import annotations

import pickle
import queue as queue_module
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn as nn

from helpers import pg
from helpers.evaluation import SolveCheck, confirmed_solve, greedy
from helpers.fallback import StudentCodeFailed
from helpers.pg import ActorCritic  # notebook 16's network, re-exported: a3c.ActorCritic

__all__ = ["A3CConfig", "ActorCritic", "SharedAdam", "push_and_pull", "actor_learner", "train_a3c",
           "TrainResult"]


@dataclass(frozen=True)
class A3CConfig:
    """Hyperparameters of A3C; the ones it shares with A2C default to :class:`helpers.pg.A2CConfig`'s.

    ``total_steps`` is the environment-step budget of all workers together; ``timeout`` (seconds) stops a
    run that takes too long, whatever the budget says.
    """

    n_workers: int = 2  # actor-learner processes
    n_steps: int = 16  # steps per rollout of one worker (n-step returns)
    gamma: float = 0.99
    lr: float = 1e-3
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    max_grad_norm: float = 0.5
    hidden: int = 64
    total_steps: int = 200_000
    eval_every: int = 256  # the course's solve rule: a greedy check at least every 256 env steps
    timeout: float = 120.0
    env_id: str = "CartPole-v1"

    def __post_init__(self) -> None:
        for name in ("n_workers", "n_steps", "hidden", "total_steps", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be positive seconds, got {self.timeout}")


class SharedAdam(torch.optim.Optimizer):
    """Adam whose statistics (step count, first and second moments) live in shared memory, so every
    worker process that steps it updates the same running averages (the A3C paper's shared optimizer
    statistics). Create it in the main process, after ``model.share_memory()``.

    The update is ``torch.optim.Adam``'s (no weight decay, no AMSGrad), written out: a worker process
    would otherwise spend seconds on its first ``Adam.step`` importing ``torch._dynamo``.
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = torch.zeros((), dtype=torch.float32).share_memory_()
                state["exp_avg"] = torch.zeros_like(p).share_memory_()
                state["exp_avg_sq"] = torch.zeros_like(p).share_memory_()

    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        """One Adam step of every parameter that has a gradient (in place, in shared memory)."""
        with torch.no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    state["step"] += 1
                    t = float(state["step"])
                    state["exp_avg"].mul_(beta1).add_(p.grad, alpha=1 - beta1)
                    state["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                    denom = (state["exp_avg_sq"].sqrt() / (1 - beta2 ** t) ** 0.5).add_(group["eps"])
                    p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - beta1 ** t))


def push_and_pull(local_model: nn.Module, global_model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """The asynchronous update of one actor-learner (the reference of notebook 17's exercise).

    The local network holds fresh gradients (``loss.backward()`` on the local copy). Hand them to the
    global network's parameters (overwriting whatever ``.grad`` they held: a gradient is pushed once),
    take one step of the (shared) optimizer on the global parameters, then copy the new global weights
    into the local network. The local gradients are left as they were.
    """
    for local, shared in zip(local_model.parameters(), global_model.parameters()):
        shared.grad = None if local.grad is None else local.grad.detach().clone()
    optimizer.step()
    with torch.no_grad():
        for local, shared in zip(local_model.parameters(), global_model.parameters()):
            local.copy_(shared)


def _rollout_loss(model: ActorCritic, env: gym.Env, obs: np.ndarray, cfg: A3CConfig,
                  rng: torch.Generator) -> tuple[torch.Tensor, np.ndarray, int, bool]:
    """Play up to ``cfg.n_steps`` steps (stopping at an episode end) and return the rollout's loss, the
    observation to go on from, the number of steps and whether the episode ended."""
    observations, actions, rewards = [], [], []
    terminated = truncated = False
    for _ in range(cfg.n_steps):
        with torch.no_grad():
            logits, _ = model(torch.as_tensor(obs, dtype=torch.float32))
            action = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=rng))
        observations.append(obs)
        actions.append(action)
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(float(reward))
        if terminated or truncated:
            break
    n = len(rewards)
    with torch.no_grad():  # V of the observation after the rollout (the real last one at an episode end)
        bootstrap = float(model(torch.as_tensor(obs, dtype=torch.float32))[1])
    ended = np.zeros((n, 1), bool)
    term, trunc = ended.copy(), ended.copy()
    term[-1, 0], trunc[-1, 0] = terminated, truncated
    final_values = np.where(trunc, bootstrap, 0.0).astype(np.float32)
    returns = pg.n_step_returns(np.array(rewards, np.float32)[:, None], term, trunc, final_values,
                                np.array([bootstrap], np.float32), cfg.gamma)
    logits, values = model(torch.as_tensor(np.array(observations), dtype=torch.float32))
    loss = pg.a2c_loss(logits, values, torch.as_tensor(actions), torch.as_tensor(returns[:, 0]),
                       cfg.value_coef, cfg.entropy_coef)
    return loss, obs, n, bool(terminated or truncated)


def actor_learner(rank: int, global_model: ActorCritic, optimizer: torch.optim.Optimizer, cfg: A3CConfig,
                  seed: int, counter: Any, updates: Any, stop: Any, messages: Any,
                  push_bytes: bytes | None = None, resume: Any = None) -> None:
    """One actor-learner process: its own CartPole and local network, pushing gradients into
    ``global_model`` until ``stop`` is set or the shared ``counter`` reaches ``cfg.total_steps``.

    ``updates[rank]`` counts this worker's pushes. Messages to the main process: ``("episode", step,
    return)``, ``("snapshot", step, weights)`` each time the global step count passes a multiple of
    ``cfg.eval_every``, ``("error", rank, summary, traceback)`` and, last,
    ``("done", rank, cpu_seconds)``; ``("ready", rank)`` once its environment and network are built. ``push_bytes``: a pickled (cloudpickle) replacement for :func:`push_and_pull`.

    ``resume`` (an event, optional): the worker that sends a snapshot clears it, and every worker waits
    for it to be set again (by the main process, once it has checked the snapshot) before its next
    rollout — training pauses for each check, as A2C's loop does, instead of running on unseen.
    """
    try:
        torch.set_num_threads(1)
        push = push_and_pull if push_bytes is None else pickle.loads(push_bytes)
        rng = torch.Generator().manual_seed(seed * 1000 + rank)
        torch.manual_seed(seed * 1000 + rank)
        env = gym.make(cfg.env_id)
        local = ActorCritic(env.observation_space.shape[0], int(env.action_space.n), cfg.hidden)
        local.load_state_dict(global_model.state_dict())
        obs, _ = env.reset(seed=seed * 1000 + rank)
        messages.put(("ready", rank))
        episode_return = 0.0
        while not stop.is_set():
            if resume is not None and not resume.wait(timeout=1.0):
                continue  # paused for a check: look at `stop` again, then wait on
            loss, obs, n, ended = _rollout_loss(local, env, obs, cfg, rng)
            local.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(local.parameters(), cfg.max_grad_norm)
            push(local, global_model, optimizer)
            # Check the copy just pulled, not the global weights: another worker may be rewriting those,
            # and torch.isfinite on numbers that change while it reads them can report a NaN that was
            # never there (it did, in the course's CI).
            if not all(torch.isfinite(p).all() for p in local.parameters()):
                raise FloatingPointError("the weights pulled from the global network are NaN or inf")
            updates[rank] += 1  # this worker's own slot: no lock needed
            with counter.get_lock():
                before = counter.value
                counter.value += n
                after = counter.value
            if after // cfg.eval_every > before // cfg.eval_every:  # this worker crossed a checkpoint
                if resume is not None:
                    resume.clear()  # everyone pauses until the main process has checked these weights
                weights = {k: v.detach().clone().numpy() for k, v in global_model.state_dict().items()}
                messages.put(("snapshot", after, weights))
            episode_return += n  # CartPole: +1 per step
            if ended:
                messages.put(("episode", after, episode_return))
                episode_return = 0.0
                obs, _ = env.reset()
            if after >= cfg.total_steps:
                break
    except Exception as exc:
        short = exc.reason if isinstance(exc, StudentCodeFailed) else f"{type(exc).__name__}: {exc}".splitlines()[0]
        messages.put(("error", rank, short, traceback.format_exc()))
    finally:
        messages.put(("done", rank, time.process_time()))


@dataclass
class TrainResult:
    """What :func:`train_a3c` returns: the final (or confirmed) weights and the history for plotting."""

    model: ActorCritic
    solved_at: int | None
    steps: int
    seconds: float
    check: SolveCheck | None = None
    episode_steps: list[int] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_mean: list[float] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)  # wall seconds since the start, per check
    updates: int = 0
    timed_out: bool = False
    cpu_seconds: float = 0.0  # all processes: the main one and every worker
    startup_seconds: float = 0.0  # until every worker process had started and built its network
    worker_updates: list[int] = field(default_factory=list)  # pushes per actor-learner
    shared_adam_steps: int = 0  # the step count in the shared Adam statistics


def _check(model: ActorCritic) -> SolveCheck:
    return confirmed_solve(greedy(model.actor))


def train_a3c(cfg: A3CConfig = A3CConfig(), seed: int = 0,
              push: Callable[[nn.Module, nn.Module, torch.optim.Optimizer], None] | None = None,
              progress: bool = False) -> TrainResult:
    """Train A3C with ``cfg.n_workers`` spawned actor-learner processes until the first confirmed solve,
    the step budget or ``cfg.timeout`` seconds, whichever comes first; the workers are always stopped
    and joined (terminated if they do not stop), so the caller never hangs.

    ``push`` replaces :func:`push_and_pull` in the workers (it is sent to them with cloudpickle, so a
    function defined in a notebook works). If it raises in a worker, :class:`helpers.fallback.StudentCodeFailed`
    is raised here (``helpers.fallback.train_with_fallback`` then reruns with the reference).
    """
    import cloudpickle  # a gymnasium dependency

    torch.manual_seed(seed)
    probe = gym.make(cfg.env_id)
    dims = probe.observation_space.shape[0], int(probe.action_space.n)
    probe.close()
    global_model = ActorCritic(*dims, cfg.hidden)
    global_model.share_memory()
    optimizer = SharedAdam(global_model.parameters(), lr=cfg.lr)
    push_bytes = None if push is None or push is push_and_pull else cloudpickle.dumps(push)
    ctx = mp.get_context("spawn")
    counter, updates, stop, messages = ctx.Value("l", 0), ctx.Array("l", cfg.n_workers), ctx.Event(), ctx.Queue()
    resume = ctx.Event()
    resume.set()
    workers = [ctx.Process(target=actor_learner, daemon=True, name=f"actor-learner-{rank}",
                           args=(rank, global_model, optimizer, cfg, seed, counter, updates, stop, messages,
                                 push_bytes, resume))
               for rank in range(cfg.n_workers)]
    result = TrainResult(model=ActorCritic(*dims, cfg.hidden), solved_at=None, steps=0, seconds=0.0)
    error: tuple[str, str] | None = None
    ready, worker_cpu = 0, 0.0
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        for w in workers:
            w.start()
        running = cfg.n_workers
        while running and result.solved_at is None:
            left = cfg.timeout - (time.perf_counter() - start)
            if left <= 0:
                result.timed_out = True
                break
            try:
                message = messages.get(timeout=min(left, 1.0))
            except queue_module.Empty:
                if not any(w.is_alive() for w in workers):  # died without a word (killed)
                    error = error or ("the actor-learner processes exited unexpectedly", "")
                    break
                continue
            kind = message[0]
            if kind == "episode":
                result.episode_steps.append(message[1])
                result.episode_returns.append(message[2])
            elif kind == "snapshot":
                result.model.load_state_dict({k: torch.as_tensor(v) for k, v in message[2].items()})
                check = _check(result.model)
                result.eval_steps.append(message[1])
                result.eval_mean.append(check.quick_mean)
                result.eval_seconds.append(time.perf_counter() - start)
                if check.solved:
                    result.solved_at, result.check = message[1], check
                else:
                    resume.set()
            elif kind == "error":
                error = message[2:]
                break
            elif kind == "ready":
                ready += 1
                if ready == cfg.n_workers:
                    result.startup_seconds = time.perf_counter() - start
            elif kind == "done":
                running -= 1
                worker_cpu += message[2]
    finally:
        stop.set()
        resume.set()
        worker_cpu += sum(m[2] for m in _join(workers, messages) if m[0] == "done")
        result.seconds = time.perf_counter() - start
        result.cpu_seconds = time.process_time() - cpu_start + worker_cpu
        result.steps, result.worker_updates = counter.value, list(updates[:])
        result.updates = sum(result.worker_updates)
        result.shared_adam_steps = int(next(iter(optimizer.state.values()))["step"])
    if error is not None:
        if push_bytes is not None:
            raise StudentCodeFailed("push_and_pull", error[0])
        raise RuntimeError(f"an actor-learner failed: {error[0]}\n{error[1]}")
    if result.solved_at is None:  # no confirmed solve: keep the final global weights
        result.model.load_state_dict(global_model.state_dict())
    return result


def _join(workers: list[Any], messages: Any, grace: float = 5.0) -> list[tuple]:
    """Wait for the (already told to stop) workers while draining their queue (a process does not
    exit while it still has queued items to flush); terminate any that outlive ``grace`` seconds.
    Returns the messages drained meanwhile."""
    drained: list[tuple] = []
    deadline = time.perf_counter() + grace
    while time.perf_counter() < deadline:
        try:
            while True:
                drained.append(messages.get(timeout=0.05))
        except (queue_module.Empty, OSError, EOFError):
            pass
        if not any(w.is_alive() for w in workers):
            break
    for w in workers:
        w.join(timeout=0.1)
        if w.is_alive():
            w.terminate()
            w.join(timeout=2.0)
    try:
        while True:
            drained.append(messages.get_nowait())
    except (queue_module.Empty, OSError, EOFError):
        pass
    messages.close()
    messages.join_thread()
    return drained
