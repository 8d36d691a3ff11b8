"""Tests of the moving-obstacle grid world (helpers/MovingObstacles-v0)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import helpers  # noqa: F401  (registers the environments)
from helpers.moving_grid import ACTION_NAMES, MovingObstaclesEnv

UP, DOWN, RIGHT, LEFT, STAY = range(5)


def columns(env: MovingObstaclesEnv) -> list[int]:
    return env.obstacles[:, 0].tolist()


def test_registered_and_check_env():
    env = gym.make("helpers/MovingObstacles-v0")
    assert isinstance(env.unwrapped, MovingObstaclesEnv)
    for start in ("book", "phase", "random"):
        made = gym.make("helpers/MovingObstacles-v0", start=start, render_mode="rgb_array")
        check_env(made.unwrapped, skip_render_check=False)


def test_spaces_and_book_start_observation():
    env = MovingObstaclesEnv()
    assert env.action_space == gym.spaces.Discrete(5)
    assert ACTION_NAMES == ("up", "down", "right", "left", "stay")
    assert env.observation_space.shape == (15,) and env.observation_space.dtype == np.float32
    obs, info = env.reset(seed=0)
    expected = [0, 1, -1, 1, 1, 2, -1, 1, 2, 3, -1, 1, 4, 4, 1]  # obstacles (0,1) (1,2) (2,3) moving right
    np.testing.assert_array_equal(obs, np.array(expected, dtype=np.float32))
    assert obs.dtype == np.float32 and obs in env.observation_space
    assert info == {"step": 0, "collisions": 0, "collided": False, "is_success": False}


def test_observation_for_hand_set_positions():
    env = MovingObstaclesEnv()
    env.reset(seed=0)
    obs = env.set_state(agent=(3, 2), obstacles=((4, 1), (0, 2), (2, 3)), directions=(-1, 1, -1))
    expected = [1, -1, -1, -1, -3, 0, -1, 1, -1, 1, -1, -1, 1, 2, 1]
    np.testing.assert_array_equal(obs, np.array(expected, dtype=np.float32))


def test_obstacles_slide_every_other_step_and_bounce():
    env = MovingObstaclesEnv()
    env.reset(seed=0)
    history = [columns(env)]
    directions = [env.directions.tolist()]
    for _ in range(18):
        env.step(STAY)
        history.append(columns(env))
        directions.append(env.directions.tolist())
    # Steps 1, 3, 5, ... slide; steps 2, 4, ... do not.
    for t in range(1, 19):
        moved = history[t] != history[t - 1]
        assert moved == (t % 2 == 1), f"step {t}: {history[t - 1]} -> {history[t]}"
    # Columns of the first obstacle after each slide: 0 1 2 3 4 3 2 1 0 1 (bounce at both edges).
    first = [history[t][0] for t in range(0, 19, 2)]
    assert first == [0, 1, 2, 3, 4, 3, 2, 1, 0, 1]
    # The direction turns round on arrival at an edge, so it always shows the next slide.
    assert history[4] == [2, 3, 4] and directions[4] == [1, 1, -1]
    assert history[6] == [3, 4, 3] and directions[6] == [1, -1, -1]
    assert history[8] == [4, 3, 2] and directions[8] == [-1, -1, -1]
    # Obstacles stay in rows 1, 2, 3.
    assert env.obstacles[:, 1].tolist() == [1, 2, 3]


def test_agent_moves_and_walls():
    env = MovingObstaclesEnv()
    env.reset(seed=0)
    env.step(UP)  # wall: stays at (0, 0)
    assert env.agent.tolist() == [0, 0]
    env.step(LEFT)
    assert env.agent.tolist() == [0, 0]
    env.step(RIGHT)
    assert env.agent.tolist() == [1, 0]
    env.step(STAY)
    assert env.agent.tolist() == [1, 0]
    env.step(DOWN)
    assert env.agent.tolist() == [1, 1]


def test_collision_costs_minus_one_and_does_not_end_episode():
    env = MovingObstaclesEnv()
    env.reset(seed=0)
    # Obstacle of row 1 at x=1 moving right slides to x=2 on this step; the agent steps into (2, 1).
    env.set_state(agent=(2, 0), obstacles=((1, 1), (4, 2), (4, 3)), directions=(1, -1, -1), slide_next=True)
    obs, reward, terminated, truncated, info = env.step(DOWN)
    assert reward == -1.0 and not terminated and not truncated
    assert info["collided"] and info["collisions"] == 1
    assert obs[0] == 0 and obs[1] == 0  # the obstacle is on the agent's cell
    # Next step the obstacles do not slide: staying keeps the collision (another -1).
    _, reward, _, _, info = env.step(STAY)
    assert reward == -1.0 and info["collisions"] == 2
    # Step 3 slides the obstacle on to x=3 while the agent steps left to (1, 1): no contact.
    _, reward, _, _, info = env.step(LEFT)
    assert reward == 0.0 and not info["collided"]


def test_no_collision_when_obstacle_does_not_slide():
    env = MovingObstaclesEnv()
    env.reset(seed=0)
    env.set_state(agent=(2, 0), obstacles=((1, 1), (4, 2), (4, 3)), directions=(1, -1, -1), slide_next=False)
    _, reward, _, _, info = env.step(DOWN)  # the obstacle stays at x=1
    assert reward == 0.0 and not info["collided"]


def test_terminate_on_collision_option():
    env = MovingObstaclesEnv(terminate_on_collision=True)
    env.reset(seed=0)
    env.set_state(agent=(2, 0), obstacles=((1, 1), (4, 2), (4, 3)), directions=(1, -1, -1))
    _, reward, terminated, truncated, _ = env.step(DOWN)
    assert reward == -1.0 and terminated and not truncated


def test_goal_reward_terminates_and_success():
    env = MovingObstaclesEnv()
    env.reset(seed=0)
    env.set_state(agent=(4, 3), obstacles=((0, 1), (0, 2), (0, 3)), directions=(1, 1, 1))
    obs, reward, terminated, truncated, info = env.step(DOWN)
    assert reward == 1.0 and terminated and not truncated
    assert info["is_success"]
    np.testing.assert_array_equal(obs[12:], [0, 0, 1])
    with pytest.raises(RuntimeError, match="reset"):
        env.step(STAY)


def test_goal_after_a_collision_is_not_a_success():
    env = MovingObstaclesEnv()
    env.reset(seed=0)
    env.set_state(agent=(4, 2), obstacles=((0, 1), (0, 2), (3, 3)), directions=(1, 1, 1))
    _, reward, _, _, info = env.step(DOWN)  # obstacle (3,3) slides to (4,3): collision
    assert reward == -1.0 and info["collided"]
    _, reward, terminated, _, info = env.step(DOWN)
    assert reward == 1.0 and terminated and not info["is_success"]


def test_truncation_after_max_steps():
    env = MovingObstaclesEnv(max_steps=7)
    env.reset(seed=0)
    for t in range(1, 8):
        _, reward, terminated, truncated, info = env.step(STAY)  # row 0 is always safe
        assert reward == 0.0 and not terminated
        assert truncated == (t == 7) and info["step"] == t
    assert gym.make("helpers/MovingObstacles-v0").unwrapped.max_steps == 100


def test_random_starts_are_seeded_and_valid():
    for start, distinct_min in (("phase", 10), ("random", 50)):
        env = MovingObstaclesEnv(start=start)
        seen = set()
        for seed in range(200):
            obs, _ = env.reset(seed=seed)
            assert obs in env.observation_space
            assert env.agent.tolist() == [0, 0] and env.obstacles[:, 1].tolist() == [1, 2, 3]
            assert np.all(env.directions[env.obstacles[:, 0] == 0] == 1)
            assert np.all(env.directions[env.obstacles[:, 0] == 4] == -1)
            seen.add((tuple(obs.tolist()), env.phase))
            again, _ = env.reset(seed=seed)
            np.testing.assert_array_equal(obs, again)
        assert len(seen) >= distinct_min
    assert len({(tuple(MovingObstaclesEnv(start="phase").reset(seed=s)[0]),) for s in range(500)}) <= 8


def test_render_frame():
    env = MovingObstaclesEnv(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (320, 320, 3) and frame.dtype == np.uint8
    c = 64
    centre = lambda x, y: frame[y * c + c // 2, x * c + c // 2]  # noqa: E731
    assert tuple(centre(0, 0)) == (40, 90, 200)  # agent: blue square
    assert tuple(centre(4, 4)) == (30, 160, 70)  # goal: green circle
    assert tuple(centre(1, 2)) == (215, 50, 50)  # obstacle: red triangle
    # The triangle points the way the obstacle slides: red near the right edge of its cell, not the left.
    y = 2 * c + c // 2
    assert tuple(frame[y, 1 * c + int(0.8 * c)]) == (215, 50, 50)
    assert tuple(frame[y, 1 * c + int(0.1 * c)]) != (215, 50, 50)
    small = MovingObstaclesEnv(render_mode="rgb_array", cell_size=16)
    small.reset()
    assert small.render().shape == (80, 80, 3)
    with pytest.warns(UserWarning, match="render_mode"):
        assert MovingObstaclesEnv().render() is None  # no render mode: warns, returns None


@pytest.mark.parametrize(
    "action, error",
    [(5, ValueError), (-1, ValueError), (2.5, TypeError), ("up", TypeError), (None, TypeError)],
)
def test_bad_actions(action, error):
    env = MovingObstaclesEnv()
    env.reset(seed=0)
    with pytest.raises(error, match="action must be an integer from 0 to 4, got .*; 0 up, 1 down"):
        env.step(action)


def test_numpy_and_torch_integer_actions_are_accepted():
    import torch

    env = MovingObstaclesEnv()
    env.reset(seed=0)
    env.step(np.int64(RIGHT))
    env.step(np.array(RIGHT))
    env.step(torch.tensor(RIGHT))
    assert env.agent.tolist() == [3, 0]


def test_step_before_reset():
    with pytest.raises(RuntimeError, match="reset"):
        MovingObstaclesEnv().step(STAY)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"max_steps": 0}, ValueError),
        ({"max_steps": 2.5}, TypeError),
        ({"render_mode": "human"}, ValueError),
        ({"start": "anywhere"}, ValueError),
        ({"terminate_on_collision": "yes"}, TypeError),
        ({"cell_size": 4}, ValueError),
    ],
)
def test_bad_configuration(kwargs, error):
    with pytest.raises(error):
        MovingObstaclesEnv(**kwargs)


def test_bad_reset_options_and_set_state():
    env = MovingObstaclesEnv()
    with pytest.raises(ValueError, match="options"):
        env.reset(options={"start": "phase"})
    env.reset()
    with pytest.raises(ValueError, match="agent"):
        env.set_state(agent=(5, 0), obstacles=((0, 1), (0, 2), (0, 3)), directions=(1, 1, 1))
    with pytest.raises(ValueError, match="rows 1, 2 and 3"):
        env.set_state(agent=(0, 0), obstacles=((0, 1), (0, 1), (0, 3)), directions=(1, 1, 1))
    with pytest.raises(ValueError, match="directions"):
        env.set_state(agent=(0, 0), obstacles=((0, 1), (0, 2), (0, 3)), directions=(1, 0, 1))
