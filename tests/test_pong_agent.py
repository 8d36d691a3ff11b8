"""helpers.pong_agent: loading the shipped Pong weights (clear errors for a missing or foreign file) and
playing reproducible ε-greedy games. The export → load → evaluate round trip is in test_pong_train."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.atari import NatureCNN
from helpers.pong_agent import WEIGHTS_FORMAT, epsilon_greedy, load_pong_agent, play_pong


def test_a_missing_file_says_how_to_get_the_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match="reinstall the course package"):
        load_pong_agent(tmp_path / "nothing.pt")


def test_a_foreign_file_is_refused_and_code_is_never_loaded(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"state_dict": NatureCNN(6).state_dict()}, other)
    with pytest.raises(ValueError, match="--export"):
        load_pong_agent(other)
    pickled_code = tmp_path / "code.pt"
    torch.save({"format": WEIGHTS_FORMAT, "hook": print}, pickled_code)
    with pytest.raises(Exception, match="[Ww]eights only"):
        load_pong_agent(pickled_code)  # weights_only=True: a function in the file is refused


def test_loads_weights_and_information(tmp_path):
    torch.manual_seed(0)
    net = NatureCNN(6)
    path = tmp_path / "pong_dqn.pt"
    torch.save({"format": WEIGHTS_FORMAT, "train_steps": 123, "curve": {"step": [1], "return": [-21.0]},
                "state_dict": net.state_dict()}, path)
    loaded, info = load_pong_agent(path)
    assert not loaded.training and info == {"format": WEIGHTS_FORMAT, "train_steps": 123,
                                            "curve": {"step": [1], "return": [-21.0]}}
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in net.state_dict().items())


def test_play_pong_checks_its_arguments():
    net = NatureCNN(6)
    with pytest.raises(ValueError, match="episodes"):
        play_pong(net, episodes=0)
    with pytest.raises(ValueError, match="epsilon"):
        play_pong(net, episodes=1, epsilon=1.5)


def test_play_pong_is_reproducible():
    """Two calls with the same seed play the same games (ε = 1: random actions, so a game is short)."""
    net = NatureCNN(6)
    first, second = (play_pong(net, episodes=1, epsilon=1.0, seed=3) for _ in range(2))
    assert [(g["return"], g["length"]) for g in first] == [(g["return"], g["length"]) for g in second]
    assert -21 <= first[0]["return"] <= 21 and first[0]["length"] > 0


def test_epsilon_greedy_acts_greedily_or_at_random_by_its_draws():
    net = NatureCNN(6).eval()
    obs = np.random.default_rng(0).integers(0, 256, (4, 84, 84), dtype=np.uint8)
    with torch.no_grad():
        best = int(net(torch.as_tensor(obs).unsqueeze(0)).argmax())
    greedy = epsilon_greedy(net, 6, 0.0, rng=np.random.default_rng(0))
    assert all(greedy(obs) == best for _ in range(5))
    rng, twin = np.random.default_rng(7), np.random.default_rng(7)
    random_policy = epsilon_greedy(net, 6, 1.0, rng=rng)
    expected = []
    for _ in range(50):
        twin.random()  # the ε draw, then the action
        expected.append(int(twin.integers(6)))
    assert [random_policy(obs) for _ in range(50)] == expected and len(set(expected)) > 1
    with pytest.raises(ValueError, match="epsilon must lie in"):
        epsilon_greedy(net, 6, -0.1, rng=rng)
