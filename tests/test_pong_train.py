"""workbook.pong_train and bench/dqn_pong.py (issue 18) on a tiny run: a resumed run equals the run that never
stopped (same bytes), the recorded command reproduces the first checkpoint, the evaluation reports the
shipped weights or skips cleanly without them, `--select` picks a checkpoint on games the evaluation never plays. About 40 s on two cores (three 300-step Pong runs, one game)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from workbook.pong_train import (
    PongConfig,
    checkpoints,
    episode_seed,
    load_weights,
    make_env,
    read_curve,
    sha256,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import dqn_pong  # noqa: E402

# 300 agent steps in episodes cut at 70 (boundaries at 70, 140, 210, 280), learning from step 100, a
# 200-transition buffer (it wraps), ε decaying over the whole run: the checkpoint due at 150 lands at 210,
# mid-learning and mid-decay.
TINY = ["--set", "total_steps=300", "--set", "learning_starts=100", "--set", "buffer_size=200",
        "--set", "max_episode_steps=70", "--set", "exploration_fraction=1.0", "--set", "target_update_interval=50",
        "--checkpoint-every", "150", "--keep", "100"]  # fmt: skip
DETERMINISTIC = ["step", "episode", "return", "length", "epsilon", "loss_mean", "updates"]  # curve.csv minus wall_s


def train(run_dir: Path, *extra: str) -> None:
    assert dqn_pong.main(["--train", "--run-dir", str(run_dir), *TINY, *extra]) == 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("pong") / "uninterrupted"
    train(run_dir)
    return run_dir


def test_resumed_run_equals_uninterrupted(uninterrupted, tmp_path, capsys):
    assert [p.name for p in checkpoints(uninterrupted)] == ["ckpt-000000210", "ckpt-000000300"]
    resumed = tmp_path / "resumed"
    train(resumed, "--until", "150")
    assert [p.name for p in checkpoints(resumed)] == ["ckpt-000000210"], "--until 150 stops after the checkpoint at 210"
    assert json.loads((resumed / "record.json").read_text())["status"] == "stopped"
    state = torch.load(resumed / "ckpt-000000210" / "state.pt", weights_only=False)
    assert state["buffer"]["added"] > 200 and state["updates"] > 0, "the checkpoint lies past a buffer wrap and updates"
    assert dqn_pong.main(["--train", "--resume", "--run-dir", str(resumed)]) == 0
    assert "resuming from" in capsys.readouterr().err

    a = torch.load(uninterrupted / "ckpt-000000300" / "state.pt", weights_only=False)
    b = torch.load(resumed / "ckpt-000000300" / "state.pt", weights_only=False)
    for net in ("q_net", "target_net"):
        for name, tensor in a[net].items():
            assert torch.equal(tensor, b[net][name]), f"{net}.{name} differs after resuming"
    assert np.array_equal(a["buffer"]["frames"].numpy(), b["buffer"]["frames"].numpy())
    assert a["rng"]["explore"] == b["rng"]["explore"] and a["buffer"]["rng"] == b["buffer"]["rng"]
    assert sha256(uninterrupted / "ckpt-000000300" / "state.pt") == sha256(resumed / "ckpt-000000300" / "state.pt"), \
        "same content but different bytes"

    curve_a, curve_b = read_curve(uninterrupted / "curve.csv"), read_curve(resumed / "curve.csv")
    assert len(curve_a) == 4 and [r["step"] for r in curve_a] == ["70", "140", "210", "280"]
    assert [[r[k] for k in DETERMINISTIC] for r in curve_a] == [[r[k] for k in DETERMINISTIC] for r in curve_b], \
        "the resumed run's returns and losses differ"
    assert curve_a[-1]["loss_mean"] != "", "the losses are compared, not empty"
    record = json.loads((resumed / "record.json").read_text())
    assert record["status"] == "finished" and record["steps"] == 300
    assert [(s["start_step"], s["end_step"]) for s in record["segments"]] == [(0, 210), (210, 300)]


FAST = ["--channels-last", "--fused-adam", "--flush-denormals"]


def _losses_close(plain: list[dict[str, str]], fast: list[dict[str, str]]) -> bool:
    pairs = [(float(a["loss_mean"]), float(b["loss_mean"])) for a, b in zip(plain, fast) if a["loss_mean"]]
    return bool(pairs) and all(abs(a - b) <= 1e-6 * max(abs(a), 1e-3) for a, b in pairs)


def test_fast_cpu_options_train_the_same_run_up_to_rounding_and_resume_exactly(uninterrupted, tmp_path):
    """--channels-last, --fused-adam and --flush-denormals change only memory order, kernels and numbers below
    1.2e-38: the same episodes, losses equal to float rounding; such a run resumed with the same options equals its uninterrupted self byte for
    byte; and a plain run can switch to them at a checkpoint (as the real run did)."""
    whole, resumed, switched = tmp_path / "whole", tmp_path / "resumed", tmp_path / "switched"
    train(whole, *FAST)
    train(resumed, *FAST, "--until", "150")
    assert dqn_pong.main(["--train", "--resume", *FAST, "--run-dir", str(resumed)]) == 0
    assert sha256(whole / "ckpt-000000300" / "state.pt") == sha256(resumed / "ckpt-000000300" / "state.pt")
    plain, fast = read_curve(uninterrupted / "curve.csv"), read_curve(whole / "curve.csv")
    assert [(r["step"], r["return"], r["updates"]) for r in plain] == [(r["step"], r["return"], r["updates"]) for r in fast]
    assert _losses_close(plain, fast)

    train(switched, "--until", "150")
    assert dqn_pong.main(["--train", "--resume", *FAST, "--run-dir", str(switched)]) == 0
    record = json.loads((switched / "record.json").read_text())
    assert all(f in record["segments"][1]["argv"] for f in FAST) and not any(f in record["segments"][0]["argv"] for f in FAST)
    assert _losses_close(plain, read_curve(switched / "curve.csv"))


def test_an_n_step_run_resumes_exactly_and_learns_from_other_targets(uninterrupted, tmp_path):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    train(whole, "--set", "n_step=3")
    train(resumed, "--set", "n_step=3", "--until", "150")
    assert dqn_pong.main(["--train", "--resume", "--run-dir", str(resumed)]) == 0
    assert sha256(whole / "ckpt-000000300" / "state.pt") == sha256(resumed / "ckpt-000000300" / "state.pt")
    assert torch.load(whole / "ckpt-000000300" / "state.pt", weights_only=False)["config"]["n_step"] == 3
    one, three = read_curve(uninterrupted / "curve.csv"), read_curve(whole / "curve.csv")
    assert [r["loss_mean"] for r in one if r["loss_mean"]] != [r["loss_mean"] for r in three if r["loss_mean"]]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (bench/dqn_pong.py --device cuda)")
def test_a_run_on_cuda_resumes_exactly(tmp_path):
    """--device cuda: the same tiny run, stopped at its first checkpoint and resumed, equals its uninterrupted self
    byte for byte (deterministic cuDNN and scatter kernels)."""
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    train(whole, "--device", "cuda")
    train(resumed, "--device", "cuda", "--until", "150")
    assert dqn_pong.main(["--train", "--resume", "--device", "cuda", "--run-dir", str(resumed)]) == 0
    assert sha256(whole / "ckpt-000000300" / "state.pt") == sha256(resumed / "ckpt-000000300" / "state.pt")
    a, b = read_curve(whole / "curve.csv"), read_curve(resumed / "curve.csv")
    assert [[r[k] for k in DETERMINISTIC] for r in a] == [[r[k] for k in DETERMINISTIC] for r in b]
    assert json.loads((whole / "record.json").read_text())["segments"][0]["device"] == "cuda"


def test_flush_denormals_holds_only_inside_its_block():
    tiny = 1e-39  # below float32's smallest normal number, 1.18e-38
    with dqn_pong.denormals_flushed(True):
        assert torch.tensor([tiny]).item() == 0.0
    assert torch.tensor([tiny]).item() > 0.0
    with dqn_pong.denormals_flushed(False):
        assert torch.tensor([tiny]).item() > 0.0


def test_record_names_the_run_and_its_command_reproduces_the_first_checkpoint(uninterrupted):
    record = json.loads((uninterrupted / "record.json").read_text())
    assert record["status"] == "finished" and record["seed"] == 0 and record["steps"] == 300
    assert record["commit"] is None or len(record["commit"]) == 40
    assert record["command"].startswith("python bench/dqn_pong.py --train --run-dir ")
    assert record["config"]["total_steps"] == 300 and "repeat_action_probability 0" in record["protocol"]
    assert record["train_wall_s"] > 0 and record["episodes"] == 4
    first = record["first_checkpoint"]
    assert first == {"step": 210, "sha256": sha256(uninterrupted / "ckpt-000000210" / "state.pt")}
    result = dqn_pong.reproduce(uninterrupted / "record.json")  # runs the recorded argv again, in a subprocess
    assert result["status"] == "reproduced", result


def test_each_episode_start_depends_only_on_its_number():
    env = make_env(PongConfig(repeat_action_probability=0.25, max_episode_steps=None))

    def start(episode: int) -> list[np.ndarray]:
        obs, _ = env.reset(seed=episode_seed(0, episode))
        frames = [obs]
        for t in range(30):
            frames.append(env.step(t % 6)[0])
        return frames

    fresh = start(3)
    start(0)  # another episode in between: nothing of it may carry over
    again = start(3)
    assert all(np.array_equal(x, y) for x, y in zip(fresh, again))
    assert episode_seed(0, 3) != episode_seed(0, 4) != episode_seed(1, 3)
    env.close()


def test_evaluation_without_weights_skips_cleanly(tmp_path, capsys):
    assert dqn_pong.main(["--weights", str(tmp_path / "missing.pt")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert "no shipped weights" in out[0] and json.loads(out[-1]) == {"status": "no shipped weights"}


def test_export_and_evaluate(uninterrupted, tmp_path, capsys):
    out = tmp_path / "pong_dqn.pt"
    assert dqn_pong.main(["--export", str(uninterrupted), "--weights-out", str(out)]) == 0
    assert out.stat().st_size < 10 * 2**20
    net, meta = load_weights(out)
    final = torch.load(uninterrupted / "ckpt-000000300" / "state.pt", weights_only=False)["q_net"]
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in final.items())
    assert meta["train_steps"] == 300 and meta["command"].startswith("python bench/dqn_pong.py")
    curve = read_curve(uninterrupted / "curve.csv")  # the record the run wrote (its record dir is its run dir)
    assert meta["curve"] == {"step": [int(r["step"]) for r in curve], "return": [float(r["return"]) for r in curve]}
    assert 0 < meta["curve"]["step"][-1] <= 300
    capsys.readouterr()
    assert dqn_pong.main(["--weights", str(out), "--episodes", "1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    summary = lines[-1]
    assert summary["episodes"] == 1 and summary["train_steps"] == 300 and summary["train_wall_s"] > 0
    assert -21 <= summary["mean_return"] <= 21 and "epsilon-greedy 0.05" in summary["protocol"]
    assert lines[0]["length"] > 0


def test_config_overrides_and_option_replacement():
    cfg = PongConfig.from_overrides(["total_steps=300", "loss=mse", "max_episode_steps=null"])
    assert (cfg.total_steps, cfg.loss, cfg.max_episode_steps, cfg.exploration_steps) == (300, "mse", None, 30)
    with pytest.raises(ValueError, match="NAME=VALUE"):
        PongConfig.from_overrides(["no_such_field=1"])
    with pytest.raises(ValueError, match="learning_starts"):
        PongConfig(learning_starts=1)
    argv = ["--train", "--run-dir", "/a", "--until=5", "--set", "seed=1"]
    assert dqn_pong.replace_options(argv, {"--run-dir": "/b", "--until": "9"}) == \
        ["--train", "--set", "seed=1", "--run-dir", "/b", "--until", "9"]


def test_select_exports_the_best_checkpoint_on_games_the_evaluation_never_plays(uninterrupted, tmp_path, capsys):
    out = tmp_path / "best.pt"
    argv = ["--select", str(uninterrupted), "--weights-out", str(out), "--episodes", "1"]
    assert dqn_pong.main([*argv, "--select-seed", "10005"]) == 2
    assert "overlap the evaluation's" in capsys.readouterr().err and not out.exists()
    assert dqn_pong.main([*argv, "--from-step", "301"]) == 2
    assert "no checkpoint at or after step 301" in capsys.readouterr().err
    assert dqn_pong.main([*argv, "--jobs", "2"]) == 0  # one spawned process per checkpoint
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [row["step"] for row in lines[:-1]] == [210, 300] and lines[-1]["status"] == "exported"
    net, meta = load_weights(out)
    selection = meta["selection"]
    assert selection["seed"] == dqn_pong.SELECT_SEED and selection["episodes"] == 1
    assert [c["step"] for c in selection["candidates"]] == [210, 300]
    means = {c["step"]: c["mean_return"] for c in selection["candidates"]}
    chosen = selection["chosen_step"]
    assert means[chosen] == max(means.values()) and (chosen == 300 or means[210] > means[300])
    state = torch.load(uninterrupted / f"ckpt-{chosen:09d}" / "state.pt", weights_only=False)["q_net"]
    assert meta["train_steps"] == chosen and all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())


def test_a_field_added_later_is_stored_only_when_set():
    plain, tuned = PongConfig(), PongConfig.from_overrides(["adam_eps=1.5e-4"])
    assert "adam_eps" not in plain.stored() and tuned.stored()["adam_eps"] == 1.5e-4
    assert PongConfig(**plain.stored()) == plain and PongConfig(**tuned.stored()) == tuned


def test_dead_units_flags_a_collapsed_network(uninterrupted, capsys):
    from helpers.atari import NatureCNN
    from workbook.pong_train import dead_units

    torch.manual_seed(0)
    net, obs = NatureCNN(6), torch.randint(0, 256, (16, 4, 84, 84), dtype=torch.uint8)
    assert dead_units(net, obs)["conv3"] < 1.0
    with torch.no_grad():
        net.features[4].bias.fill_(-1e6)  # every conv3 unit negative before its ReLU: the collapse
    shares = dead_units(net, obs)
    assert shares["conv3"] == 1.0 and shares["fc512"] >= 0.0
    assert dqn_pong.main(["--diagnose", str(uninterrupted)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["step"] for r in rows] == [210, 300]
    assert all(set(r["dead_units"]) == {"conv1", "conv2", "conv3", "fc512"} for r in rows)
    assert all(0.0 <= v <= 1.0 for r in rows for v in r["dead_units"].values())


def test_each_checkpoint_logs_its_health_and_warns_of_a_collapse(uninterrupted, tmp_path, capsys):
    from workbook.pong_train import Trainer

    train(tmp_path / "logged", "--until", "150")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "checkpoint_health" in line]
    assert [line["checkpoint_health"]["step"] for line in lines] == [210]
    assert sha256(tmp_path / "logged" / "ckpt-000000210" / "state.pt") == \
        sha256(uninterrupted / "ckpt-000000210" / "state.pt"), "checking health changes nothing"

    trainer, logged = Trainer.from_checkpoint(uninterrupted / "ckpt-000000300"), []
    trainer.log_health(logged.append)
    assert len(logged) == 1 and json.loads(logged[0])["checkpoint_health"]["dead_units"]["conv3"] < 0.95
    with torch.no_grad():
        trainer.q_net.features[4].bias.fill_(-1e6)  # every conv3 unit dead
    logged.clear()
    trainer.log_health(logged.append)
    assert len(logged) == 2 and logged[1].startswith("warning: 100% of conv3's units are dead at step 300")


def test_n_step_batch_follows_each_episode_to_its_end_or_the_newest_transition():
    """n_step_batch against a plain walk over a list of transitions: episodes that end (terminated) or are cut
    (truncated, they bootstrap), a buffer that has wrapped, and rows whose n steps reach past the newest
    transition."""
    from helpers.atari import FrameReplayBuffer
    from workbook.pong_train import n_step_batch

    rng = np.random.default_rng(1)
    buffer = FrameReplayBuffer(40, (2, 2), stack=2, seed=0)
    history = []  # (episode, reward, terminated, next_obs) per transition, in order
    frame = 0
    for episode, (length, ends) in enumerate([(7, True), (12, False), (5, True), (9, True), (14, False)]):
        frame += 1
        obs = np.full((2, 2, 2), frame % 256, dtype=np.uint8)
        for t in range(length):
            frame += 1
            next_obs = np.concatenate([obs[1:], np.full((1, 2, 2), frame % 256, dtype=np.uint8)])
            done = ends and t == length - 1
            reward = float(rng.integers(-1, 2))
            buffer.add(obs, int(rng.integers(6)), reward, next_obs, done)
            history.append((episode, reward, done, next_obs))
            obs = next_obs
    gamma, n = 0.9, 3
    numbers = np.arange(buffer.first, buffer.added)
    assert buffer.first > 0, "the buffer has wrapped"
    batch, discount = n_step_batch(buffer, numbers, n, gamma)
    for row, i in enumerate(numbers):
        ret, disc, j = 0.0, 1.0, i
        for k in range(n):
            j = i + k
            ret += disc * history[j][1]
            disc *= gamma
            if history[j][2] or j + 1 >= len(history) or history[j + 1][0] != history[i][0]:
                break
        assert batch.rewards[row] == pytest.approx(ret) and discount[row] == pytest.approx(disc), f"transition {i}"
        assert batch.terminated[row] == float(history[j][2]) and np.array_equal(batch.next_obs[row], history[j][3])
    one, one_discount = n_step_batch(buffer, numbers, 1, gamma)
    plain = buffer.gather(numbers)
    assert np.array_equal(one.rewards, plain.rewards) and np.array_equal(one.next_obs, plain.next_obs)
    assert np.allclose(one_discount, gamma)
