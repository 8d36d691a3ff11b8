"""Unit tests for helpers.gridworld: dynamics, rewards, episode ends, check_env, rendering, DP."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import grade_check_cell
from gymnasium.utils.env_checker import check_env

import helpers  # noqa: F401  (registers helpers/GridWorld-v0)
from helpers.gridworld import (
    LAYOUT_5X5,
    GridWorldEnv,
    as_q_table,
    optimal_actions,
    optimal_q,
    parse_layout,
    policy_accuracy,
)

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3


def test_gridworld_does_not_import_matplotlib():
    code = "import sys, helpers.gridworld; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_registered_and_passes_check_env():
    env = gym.make("helpers/GridWorld-v0")
    assert isinstance(env.unwrapped, GridWorldEnv)
    check_env(env.unwrapped, skip_render_check=False)
    big = gym.make("helpers/GridWorld-v0", layout=LAYOUT_5X5, render_mode="rgb_array")
    check_env(big.unwrapped, skip_render_check=False)


def test_default_layout_is_the_lecture_notes_3x4():
    env = GridWorldEnv()
    assert env.shape == (3, 4)
    assert env.n_states == 12 and env.observation_space == gym.spaces.Discrete(12)
    assert env.action_space == gym.spaces.Discrete(4)
    assert env.goal == (0, 3) and env.start == (2, 0) and env.bombs == [(1, 3)]
    assert env.wall_mask[1, 1] and env.wall_mask.sum() == 1
    assert env.reward_map[0, 3] == 1.0 and env.reward_map[1, 3] == -1.0 and env.reward_map[2, 2] == 0.0
    obs, info = env.reset(seed=0)
    assert obs == 8 and info["cell"] == (2, 0)


def test_conversions_and_one_hot():
    env = GridWorldEnv()
    assert env.to_index((2, 0)) == 8 and env.to_cell(8) == (2, 0)
    assert env.to_index((0, 3)) == 3 and env.to_cell(11) == (2, 3)
    for s in range(env.n_states):
        assert env.to_index(env.to_cell(s)) == s
    x = env.one_hot((2, 0))
    assert x.shape == (1, 12) and x.dtype == np.float32
    assert x[0, 8] == 1.0 and x.sum() == 1.0
    np.testing.assert_array_equal(env.one_hot(8), x)
    assert len(env.states()) == 11 and len(env.nonterminal_states()) == 10
    with pytest.raises(ValueError, match="outside"):
        env.to_index((3, 0))
    with pytest.raises(ValueError, match="outside"):
        env.to_cell(12)
    with pytest.raises(TypeError, match="cell"):
        env.to_index("a")


def test_moves_walls_and_borders():
    env = GridWorldEnv()
    assert env.next_cell((2, 0), UP) == (1, 0)
    assert env.next_cell((2, 0), RIGHT) == (2, 1)
    assert env.next_cell((2, 0), LEFT) == (2, 0)  # border: stay put
    assert env.next_cell((2, 0), DOWN) == (2, 0)
    assert env.next_cell((1, 0), RIGHT) == (1, 0)  # wall (1, 1): stay put
    assert env.next_cell((2, 1), UP) == (2, 1)
    assert env.next_cell((0, 1), DOWN) == (0, 1)


def test_rewards_termination_and_bomb_does_not_end():
    env = GridWorldEnv()
    env.reset(options={"start": (2, 3)})
    obs, reward, terminated, truncated, info = env.step(UP)  # onto the bomb
    assert info["cell"] == (1, 3) and reward == -1.0 and not terminated and not truncated
    obs, reward, terminated, truncated, _ = env.step(RIGHT)  # blocked: stays on the bomb, pays again
    assert obs == env.to_index((1, 3)) and reward == -1.0 and not terminated
    obs, reward, terminated, truncated, _ = env.step(UP)  # the goal
    assert obs == 3 and reward == 1.0 and terminated and not truncated
    with pytest.raises(RuntimeError, match="reset"):
        env.step(UP)


def test_optimal_path_from_the_start():
    env = GridWorldEnv()
    env.reset(seed=0)
    rewards = []
    for action in (UP, UP, RIGHT, RIGHT, RIGHT):
        _, r, terminated, truncated, _ = env.step(action)
        rewards.append(r)
    assert rewards == [0, 0, 0, 0, 1.0] and terminated


def test_step_limit_truncates():
    env = GridWorldEnv(max_steps=5)
    env.reset()
    ends = [env.step(LEFT)[2:4] for _ in range(5)]
    assert ends[:4] == [(False, False)] * 4 and ends[4] == (False, True)
    env = gym.make("helpers/GridWorld-v0", max_steps=3)
    env.reset(seed=1)
    assert [env.step(DOWN)[3] for _ in range(3)] == [False, False, True]
    unlimited = GridWorldEnv(max_steps=None)
    unlimited.reset()
    assert not any(unlimited.step(LEFT)[3] for _ in range(500))


def test_reset_options_and_seeding_are_deterministic():
    env = GridWorldEnv(layout=LAYOUT_5X5)
    assert env.reset(seed=3)[0] == env.to_index((4, 0))
    assert env.reset(options={"start": (0, 0)})[0] == 0
    assert env.reset(options={"start": 7})[1]["cell"] == (1, 2)
    with pytest.raises(ValueError, match="wall or the goal"):
        env.reset(options={"start": (1, 1)})
    with pytest.raises(ValueError, match="wall or the goal"):
        env.reset(options={"start": (0, 4)})


@pytest.mark.parametrize(
    "bad, error",
    [(4, ValueError), (-1, ValueError), (1.0, TypeError), ("up", TypeError), (None, TypeError),
     (True, TypeError), (np.array([1, 2]), TypeError)],
)  # fmt: skip
def test_bad_actions_raise(bad, error):
    env = GridWorldEnv()
    env.reset()
    with pytest.raises(error, match=r"action must be an integer from 0 to 3, got .*; 0 up, 1 down"):
        env.step(bad)
    assert env.steps == 0  # nothing moved


def test_numpy_actions_accepted():
    env = GridWorldEnv()
    env.reset()
    assert env.step(np.int64(UP))[4]["cell"] == (1, 0)
    assert env.step(np.array(RIGHT))[4]["cell"] == (1, 0)  # wall


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        GridWorldEnv().step(0)


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (". . G\n. # .", "exactly one start"),
        ("S . G\n. G .", "exactly one goal"),
        ("S . .\n. # .", "exactly one goal"),
        ("S . G\n. #", "same number of cells"),
        ("S . G\n. X .", "unknown cell 'X'"),
        ("\n  \n", "empty"),
    ],
)
def test_bad_layouts_raise(layout, message):
    with pytest.raises(ValueError, match=message):
        GridWorldEnv(layout=layout)


def test_layout_parsing_accepts_spaces_or_none():
    a = parse_layout("S.#\n..G")
    b = parse_layout("  S . #\n  . . G  \n")
    np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError):
        parse_layout(3)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="render_mode"):
        GridWorldEnv(render_mode="human")
    with pytest.raises(ValueError, match="max_steps"):
        GridWorldEnv(max_steps=0)


def test_render_rgb_array_and_ansi():
    env = GridWorldEnv(render_mode="rgb_array")
    env.reset()
    frame = env.render()
    assert frame.shape == (3 * 48, 4 * 48, 3) and frame.dtype == np.uint8
    env.step(UP)
    assert not np.array_equal(frame, env.render())  # the agent moved
    big = GridWorldEnv(layout=LAYOUT_5X5, render_mode="rgb_array")
    big.reset()
    assert big.render().shape == (5 * 48, 5 * 48, 3)
    text = GridWorldEnv(render_mode="ansi")
    text.reset()
    assert text.render().splitlines() == [". . . G", ". # . B", "A . . ."]
    assert GridWorldEnv().render() is None


def test_optimal_q_matches_hand_computed_values():
    env = GridWorldEnv()
    q = optimal_q(env, gamma=0.9)
    assert q.shape == (12, 4)
    assert q[env.to_index((0, 2)), RIGHT] == pytest.approx(1.0)
    assert q[env.to_index((1, 3)), UP] == pytest.approx(1.0)  # bomb: step up to the goal
    assert q[env.to_index((2, 3)), UP] == pytest.approx(-1 + 0.9 * 1.0)  # walk onto the bomb
    assert q[env.to_index((2, 3)), LEFT] == pytest.approx(0.9**3)
    assert q[env.to_index((2, 0))].max() == pytest.approx(0.9**4)
    assert np.all(q[env.to_index((0, 3))] == 0) and np.all(q[env.to_index((1, 1))] == 0)
    with pytest.raises(ValueError, match="gamma"):
        optimal_q(env, gamma=1.0)


def test_optimal_actions_keep_ties():
    env = GridWorldEnv()
    mask = optimal_actions(env)
    assert set(np.flatnonzero(mask[env.to_index((2, 0))])) == {UP, RIGHT}
    assert set(np.flatnonzero(mask[env.to_index((2, 3))])) == {LEFT}
    assert not mask[env.to_index((0, 3))].any() and not mask[env.to_index((1, 1))].any()
    assert mask[env.to_index((1, 2))].tolist() == [True, False, False, False]  # up


def test_policy_accuracy_counts_states_and_ties():
    env = GridWorldEnv()
    q = optimal_q(env)
    assert policy_accuracy(q, env) == 1.0
    tied = q.copy()
    s = env.to_index((2, 0))
    tied[s] = [0, 0, 0, 1]  # right: one of the two optimal actions
    assert policy_accuracy(tied, env) == 1.0
    wrong = q.copy()
    wrong[env.to_index((2, 3))] = [1, 0, 0, 0]  # up onto the bomb
    assert policy_accuracy(wrong, env) == pytest.approx(0.9)
    assert policy_accuracy(np.zeros((12, 4)), env) < 1.0
    big = GridWorldEnv(layout=LAYOUT_5X5)
    assert policy_accuracy(optimal_q(big), big) == 1.0
    assert policy_accuracy(-optimal_q(big), big) < 0.5


def test_as_q_table_accepts_dicts_tensors_and_networks():
    env = GridWorldEnv()
    q = optimal_q(env)
    as_dict = {(env.to_cell(s), a): q[s, a] for s in range(12) for a in range(4)}
    np.testing.assert_allclose(as_q_table(as_dict, env), q)
    np.testing.assert_allclose(as_q_table({(8, 3): 0.5}, env)[8], [0, 0, 0, 0.5])
    np.testing.assert_allclose(as_q_table(torch.tensor(q), env), q)
    np.testing.assert_allclose(as_q_table(q.reshape(3, 4, 4), env), q)
    net = torch.nn.Linear(12, 4)
    expected = net(torch.eye(12)).detach().numpy()
    np.testing.assert_allclose(as_q_table(net, env), expected, rtol=1e-6)
    assert as_q_table(q, env)[env.to_index((1, 2))].argmax() == UP


@pytest.mark.parametrize("shape", [(12,), (11, 4), (12, 3), (4, 3, 4)])
def test_wrong_q_shape_raises(shape):
    with pytest.raises(ValueError, match=r"needs \(12, 4\)"):
        as_q_table(np.zeros(shape), GridWorldEnv())


def test_quiz_layout_5x5():
    env = GridWorldEnv(layout=LAYOUT_5X5)
    assert env.shape == (5, 5) and env.n_states == 25
    assert env.start == (4, 0) and env.goal == (0, 4) and sorted(env.bombs) == [(1, 4), (3, 2)]
    assert int(env.wall_mask.sum()) == 4 and len(env.nonterminal_states()) == 20
    v = optimal_q(env).max(axis=1)
    assert v[env.to_index(env.start)] == pytest.approx(0.9**7)  # eight steps up and along the top
    # from (2, 4) the detour left beats stepping onto the bomb: 0.9**5 > -1 + 0.9
    assert set(np.flatnonzero(optimal_actions(env)[env.to_index((2, 4))])) == {LEFT}


# --- the graded check of quiz Q3 in solutions/08_q_network.ipynb -----------------------------------------
def _table_net(table: np.ndarray) -> torch.nn.Module:
    """A network whose output for one-hot state s is row s of ``table``."""
    net = torch.nn.Linear(table.shape[0], 4, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.as_tensor(table.T, dtype=torch.float32))
    return net


def test_q3_optimal_network_gets_full_marks(root):
    quiz = grade_check_cell("08_q_network", "q3", q3_qnet=_table_net(optimal_q(LAYOUT_5X5)))
    assert quiz.status == "ok" and quiz.earned == quiz.points == 3, quiz.report()


def test_q3_unanswered_scores_zero(root):
    quiz = grade_check_cell("08_q_network", "q3", q3_qnet=None)
    assert quiz.status == "not answered" and quiz.earned == 0
    assert grade_check_cell("08_q_network", "q3").status == "not answered"


def test_q3_partial_credit_follows_the_share_of_optimal_states(root):
    env = GridWorldEnv(layout=LAYOUT_5X5)
    q = optimal_q(env)
    half_wrong = q.copy()
    acting = [env.to_index(cell) for cell in env.nonterminal_states()]
    for s in acting[:10]:
        best = q[s].max()
        half_wrong[s] = np.where(optimal_actions(env)[s], best - 0.2, best)  # a non-optimal action on top
    quiz = grade_check_cell("08_q_network", "q3", q3_qnet=_table_net(half_wrong))
    assert 0 < quiz.earned < quiz.points, quiz.report()
    assert grade_check_cell("08_q_network", "q3", q3_qnet=_table_net(-q)).earned < 1.5


def test_q3_right_ranking_with_wrong_values_fails_the_hidden_test(root):
    quiz = grade_check_cell("08_q_network", "q3", q3_qnet=_table_net(10 * optimal_q(LAYOUT_5X5)))
    assert quiz.earned < quiz.points, quiz.report()


def test_q3_wrong_input_size_is_reported_not_raised(root):
    quiz = grade_check_cell("08_q_network", "q3", q3_qnet=torch.nn.Linear(12, 4))
    assert quiz.status == "ok" and quiz.earned == 0, quiz.report()
