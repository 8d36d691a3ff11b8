"""helpers.a3c: the shared optimizer, the asynchronous push, one actor-learner, and spawned runs that
stop and join cleanly."""

from __future__ import annotations

import multiprocessing
import queue
import threading

import cloudpickle
import pytest
import torch

from helpers.a3c import A3CConfig, ActorCritic, SharedAdam, actor_learner, push_and_pull, train_a3c
from helpers.fallback import StudentCodeFailed


def _with_grads(model: ActorCritic, seed: int = 0) -> ActorCritic:
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(seed))
    logits, values = model(x)
    model.zero_grad()
    (logits.pow(2).sum() + values.sum()).backward()
    return model


def test_shared_adam_is_torch_adam_and_lives_in_shared_memory():
    torch.manual_seed(0)
    a, b = ActorCritic(), ActorCritic()
    b.load_state_dict(a.state_dict())
    a.share_memory()
    shared, plain = SharedAdam(a.parameters(), lr=1e-2), torch.optim.Adam(b.parameters(), lr=1e-2)
    for step in range(4):
        for model, opt in ((a, shared), (b, plain)):
            _with_grads(model, seed=step)
            opt.step()
    assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a.parameters(), b.parameters()))
    state = shared.state[next(a.parameters())]
    assert int(state["step"]) == 4 and all(state[k].is_shared() for k in ("step", "exp_avg", "exp_avg_sq"))
    with pytest.raises(ValueError, match="lr"):
        SharedAdam(a.parameters(), lr=0.0)


def test_push_and_pull_steps_the_global_model_and_syncs_the_local_copy():
    torch.manual_seed(1)
    local, glob = _with_grads(ActorCritic()), ActorCritic()
    before = [p.detach().clone() for p in glob.parameters()]
    grads = [p.grad.clone() for p in local.parameters()]
    opt = torch.optim.SGD(glob.parameters(), lr=0.1)
    push_and_pull(local, glob, opt)
    push_and_pull(local, glob, opt)  # a second push of the same gradients: overwritten, not accumulated
    for g, b, d, lp in zip(glob.parameters(), before, grads, local.parameters()):
        assert torch.allclose(g, b - 0.2 * d, atol=1e-6)
        assert torch.equal(lp, g) and lp.data_ptr() != g.data_ptr()
        assert torch.equal(lp.grad, d)


def test_one_actor_learner_in_process_updates_the_shared_model():
    torch.manual_seed(2)
    cfg = A3CConfig(total_steps=300, eval_every=100)
    glob = ActorCritic()
    glob.share_memory()
    before = [p.detach().clone() for p in glob.parameters()]
    ctx = multiprocessing.get_context("spawn")
    counter, updates, stop, messages = ctx.Value("l", 0), ctx.Array("l", 1), ctx.Event(), queue.Queue()
    actor_learner(0, glob, SharedAdam(glob.parameters(), lr=cfg.lr), cfg, 0, counter, updates, stop, messages)
    got = [messages.get_nowait() for _ in range(messages.qsize())]
    kinds = [m[0] for m in got]
    assert counter.value >= 300 and updates[0] >= 300 // cfg.n_steps
    assert kinds[0] == "ready" and kinds[-1] == "done" and "error" not in kinds
    assert kinds.count("snapshot") == 3 and "episode" in kinds
    assert any(not torch.equal(p, b) for p, b in zip(glob.parameters(), before))


def test_an_actor_learner_stops_with_an_error_when_it_pulls_nan_weights():
    """The worker checks the copy it has just pulled (its own, private), so a NaN in the global network
    is reported, and a check never reads numbers another worker is rewriting."""
    cfg = A3CConfig(total_steps=300)
    glob = ActorCritic()
    glob.share_memory()
    optimizer = SharedAdam(glob.parameters(), lr=cfg.lr)

    def poisoned_push(local, global_model, opt):
        push_and_pull(local, global_model, opt)
        with torch.no_grad():
            next(local.parameters())[0, 0] = float("nan")  # as if the pull had brought a NaN

    ctx = multiprocessing.get_context("spawn")
    counter, updates, stop, messages = ctx.Value("l", 0), ctx.Array("l", 1), ctx.Event(), queue.Queue()
    actor_learner(0, glob, optimizer, cfg, 0, counter, updates, stop, messages,
                  push_bytes=cloudpickle.dumps(poisoned_push))
    errors = [m for m in (messages.get_nowait() for _ in range(messages.qsize())) if m[0] == "error"]
    assert len(errors) == 1 and "pulled from the global network are NaN" in errors[0][2]
    assert updates[0] == 0  # stopped at the first push


def test_a_worker_pauses_after_sending_a_snapshot_until_the_check_is_done():
    """The worker that crosses a checkpoint clears `resume`; nobody sets it again here, so the worker
    makes no further rollout until `stop` (set by a timer) ends it."""
    cfg = A3CConfig(total_steps=10_000, eval_every=64)
    glob = ActorCritic()
    glob.share_memory()
    ctx = multiprocessing.get_context("spawn")
    counter, updates, stop, messages = ctx.Value("l", 0), ctx.Array("l", 1), ctx.Event(), queue.Queue()
    resume = ctx.Event()
    resume.set()
    timer = threading.Timer(2.5, stop.set)
    timer.start()
    actor_learner(0, glob, SharedAdam(glob.parameters(), lr=cfg.lr), cfg, 0, counter, updates, stop, messages,
                  resume=resume)
    timer.cancel()
    kinds = [m[0] for m in (messages.get_nowait() for _ in range(messages.qsize()))]
    assert kinds.count("snapshot") == 1 and "error" not in kinds and not resume.is_set()
    assert 64 <= counter.value < 64 + cfg.n_steps


def test_two_spawned_workers_push_asynchronously_and_are_joined():
    cfg = A3CConfig(n_workers=2, total_steps=400, timeout=60.0)
    torch.manual_seed(3)
    initial = ActorCritic()  # train_a3c seeds torch the same way before building the global network
    result = train_a3c(cfg, seed=3)
    assert multiprocessing.active_children() == []
    assert result.steps >= 400 and not result.timed_out
    assert len(result.worker_updates) == 2 and min(result.worker_updates) > 0
    assert result.shared_adam_steps > max(result.worker_updates)  # one set of statistics saw both workers
    assert any(not torch.equal(p, q) for p, q in zip(result.model.parameters(), initial.parameters()))
    assert result.cpu_seconds > 0 and len(result.eval_steps) >= 1


def test_a_failing_push_becomes_piece_failed_and_a_timeout_stops_everything():
    def broken_push(local, glob, optimizer):  # defined here: sent to the workers by value (cloudpickle)
        raise ValueError("shapes do not match")

    with pytest.raises(StudentCodeFailed, match="shapes do not match"):
        train_a3c(A3CConfig(total_steps=10_000, timeout=60.0), seed=0, push=broken_push)
    assert multiprocessing.active_children() == []
    result = train_a3c(A3CConfig(total_steps=10**9, timeout=1.0), seed=0)
    assert result.timed_out and result.solved_at is None and multiprocessing.active_children() == []


def test_a3c_shares_notebook_16s_network_and_hyperparameters():
    from dataclasses import fields

    from helpers import a3c, pg

    assert a3c.ActorCritic is pg.ActorCritic and not hasattr(a3c, "train_a2c")  # one A2C: helpers.pg
    shared = {f.name for f in fields(pg.A2CConfig)} & {f.name for f in fields(A3CConfig)} - {"timeout"}
    assert shared >= {"n_steps", "gamma", "lr", "value_coef", "entropy_coef", "max_grad_norm", "hidden", "eval_every"}
    assert all(getattr(pg.A2CConfig(), name) == getattr(A3CConfig(), name) for name in shared)
