"""A 5×5 grid world with three obstacles sliding left and right (the Deep SARSA environment).

The layout follows the grid world of the rlcode book *파이썬과 케라스로 배우는 강화학습*: the agent
starts in the top-left cell and must reach the goal in the bottom-right cell while three obstacles
(the book's "ghosts", 귀신) in rows 1, 2 and 3 slide one cell sideways every other step and bounce
at the edges. It is registered as ``helpers/MovingObstacles-v0`` when :mod:`helpers` is imported::

    import gymnasium as gym
    import helpers  # noqa: F401  (registers the environment)

    env = gym.make("helpers/MovingObstacles-v0", render_mode="rgb_array")
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from helpers._checks import check_int

__all__ = ["MovingObstaclesEnv", "ACTIONS", "ACTION_NAMES"]

#: Moves of the five actions as (dx, dy); x grows to the right, y grows downwards (row 0 is the top).
ACTIONS: tuple[tuple[int, int], ...] = ((0, -1), (0, 1), (1, 0), (-1, 0), (0, 0))
#: Readable names of the five actions, in action order.
ACTION_NAMES: tuple[str, ...] = ("up", "down", "right", "left", "stay")

_SIZE = 5
_GOAL = (4, 4)
_BOOK_OBSTACLES = ((0, 1), (1, 2), (2, 3))  # (x, y) of the three obstacles at the start
_OBSTACLE_ROWS = (1, 2, 3)
_STARTS = ("book", "phase", "random")

# Colours of the rendered frames (RGB).
_BACKGROUND = np.array([250, 250, 250], dtype=np.uint8)
_GRID = np.array([190, 190, 190], dtype=np.uint8)
_AGENT = np.array([40, 90, 200], dtype=np.uint8)
_GOAL_COLOUR = np.array([30, 160, 70], dtype=np.uint8)
_OBSTACLE = np.array([215, 50, 50], dtype=np.uint8)
_HIT = np.array([255, 200, 200], dtype=np.uint8)


def _book_start() -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The book's start: agent at (0, 0), obstacles in columns 0, 1, 2 all moving right, sliding first."""
    return np.zeros(2, dtype=np.int64), np.array(_BOOK_OBSTACLES, dtype=np.int64), np.ones(3, dtype=np.int64), 0


class MovingObstaclesEnv(gym.Env):
    """Reach the goal of a 5×5 grid while three obstacles slide left and right.

    ## Description

    The agent (a blue square) starts in the top-left cell ``(x, y) = (0, 0)``; the goal (a green
    circle) is the bottom-right cell ``(4, 4)``. Rows 1, 2 and 3 each hold one obstacle (a red
    triangle pointing the way it moves). On every other step (the 1st, 3rd, 5th, … step of an
    episode) all obstacles first slide one cell sideways, then the agent moves. An obstacle that
    reaches the left or right edge turns round at once, so it bounces: its column runs
    0, 1, 2, 3, 4, 3, 2, 1, 0, 1, … Coordinates are ``x`` = column (to the right) and
    ``y`` = row (downwards), as in the book.

    ``start`` chooses how an episode begins:

    * ``"book"`` (default): exactly like the book, obstacles in columns 0, 1, 2, all moving right,
      sliding on the 1st, 3rd, 5th, … step. Every episode is the same, so a greedy policy always
      follows one path and an evaluation over many episodes repeats one experiment.
    * ``"phase"``: the book's obstacles, met at a random point of their cycle: they have already
      made 0–7 slides (one cycle is 8), and a coin decides whether they slide on the odd or even
      steps. That gives 16 different starts, so the agent must read the state.
    * ``"random"``: every obstacle gets a random column and direction, and a random slide parity
      (about 1,000 different starts): a harder variant.

    The random draws come from ``np_random``, seeded by ``reset(seed=...)``.

    ## Action Space

    ``Discrete(5)``:

    | Num | Action |
    |-----|--------|
    | 0   | up     |
    | 1   | down   |
    | 2   | right  |
    | 3   | left   |
    | 4   | stay   |

    A move into the outer wall leaves the agent where it is.

    ## Observation Space

    ``Box(shape=(15,), dtype=float32)``: positions relative to the agent, then labels, as in the
    book. For each obstacle ``i`` (rows 1, 2, 3 in order) four numbers, then three for the goal:

    | Index        | Observation                                   | Min | Max |
    |--------------|-----------------------------------------------|-----|-----|
    | 4i + 0       | obstacle x − agent x                          | -4  | 4   |
    | 4i + 1       | obstacle y − agent y                          | -4  | 4   |
    | 4i + 2       | obstacle label (always −1)                    | -1  | 1   |
    | 4i + 3       | direction of its next slide (+1 right, −1 left) | -1 | 1  |
    | 12           | goal x − agent x                              | -4  | 4   |
    | 13           | goal y − agent y                              | -4  | 4   |
    | 14           | goal label (always +1)                        | -1  | 1   |

    The labels are constant; their bounds are widened to [−1, 1] because gymnasium warns about a
    ``Box`` dimension whose minimum equals its maximum. (The book stores the direction with the
    opposite sign; the sign convention does not matter to a network.) The observation does not say
    whether the obstacles move on the next step.

    ## Rewards

    * ``+1`` when the agent reaches the goal;
    * ``−1`` for every step that ends with the agent on an obstacle's cell (after both have moved);
    * ``0`` otherwise.

    The undiscounted return is therefore ``+1`` exactly when the agent reaches the goal without
    touching an obstacle (``info["is_success"]``).

    ## Starting State

    Agent at ``(0, 0)``, goal at ``(4, 4)``, obstacles at ``(0, 1)``, ``(1, 2)``, ``(2, 3)`` moving
    right (``start="book"``), or in rows 1–3 as drawn by ``start="phase"`` / ``"random"``.

    ## Episode End

    * Termination: the agent reaches the goal. By default touching an obstacle does **not** end the
      episode, as in the book: the −1 is a penalty, and the agent still has to reach the goal. An
      episode that ended at the first touch would also end the agent's chance to learn what comes
      after a mistake, and "run into an obstacle to stop the episode" could look attractive
      whenever the goal seems far away. Pass ``terminate_on_collision=True`` to end it there.
    * Truncation: after ``max_steps`` steps (default 100), so a policy that only stays still ends.

    ## Arguments

    ``render_mode``: ``None`` or ``"rgb_array"`` (frames of ``cell_size * 5`` pixels square);
    ``max_steps``: step limit (positive int); ``start``: ``"book"``, ``"phase"`` or ``"random"``;
    ``terminate_on_collision``: see above; ``cell_size``: pixels per cell in rendered frames
    (≥ 16, default 64, so frames are 320 × 320).

    ## Info

    ``step`` (steps so far), ``collisions`` (touches so far), ``collided`` (this step),
    ``is_success`` (goal reached without any touch; ``False`` until the goal is reached).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        render_mode: str | None = None,
        max_steps: int = 100,
        start: str = "book",
        terminate_on_collision: bool = False,
        cell_size: int = 64,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or 'rgb_array', got {render_mode!r}; "
                "use render_mode='rgb_array' to get frames for helpers.video.record_episode."
            )
        check_int(max_steps, "max_steps", hint="e.g. 100")
        if start not in _STARTS:
            raise ValueError(f"start must be one of {', '.join(map(repr, _STARTS))}, got {start!r}")
        if not isinstance(terminate_on_collision, (bool, np.bool_)):
            raise TypeError(f"terminate_on_collision must be True or False, got {terminate_on_collision!r}")
        check_int(cell_size, "cell_size", minimum=16, hint="the pixels per grid cell, e.g. 64")

        self.render_mode = render_mode
        self.max_steps = int(max_steps)
        self.start = start
        self.terminate_on_collision = bool(terminate_on_collision)
        self.cell_size = int(cell_size)
        self.size = _SIZE
        self.goal = np.array(_GOAL, dtype=np.int64)

        self.action_space = spaces.Discrete(len(ACTIONS))
        low = np.array([-4, -4, -1, -1] * 3 + [-4, -4, -1], dtype=np.float32)
        high = np.array([4, 4, 1, 1] * 3 + [4, 4, 1], dtype=np.float32)
        self.observation_space = spaces.Box(low=low, high=high, dtype=np.float32)

        # State (set by reset): positions as (x, y), obstacle directions as +1 (right) / -1 (left).
        self._place(*_book_start())
        self._needs_reset = True

    # ----------------------------------------------------------------------------------- dynamics
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; ``seed`` seeds ``np_random`` (used by ``start="phase"`` and ``"random"``)."""
        super().reset(seed=seed)
        if options:
            raise ValueError(
                f"MovingObstaclesEnv.reset takes no options, got {sorted(options)}; "
                "choose the start when making the environment, e.g. start='phase'."
            )
        self._place(*_book_start())
        if self.start == "phase":
            for _ in range(int(self.np_random.integers(0, 8))):  # one obstacle cycle is 8 slides
                self._slide_obstacles()
            self.phase = int(self.np_random.integers(0, 2))
        elif self.start == "random":
            columns = self.np_random.integers(0, self.size, size=3)
            directions = self.np_random.choice(np.array([-1, 1]), size=3)
            directions[columns == 0] = 1  # at an edge the only way is back
            directions[columns == self.size - 1] = -1
            self.obstacles[:, 0] = columns
            self.directions = directions.astype(np.int64)
            self.phase = int(self.np_random.integers(0, 2))
        return self._observation(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move the obstacles (every other step), then the agent; see the class docstring."""
        if self._needs_reset:
            raise RuntimeError("call reset() before step(): the environment has no episode running.")
        if self._done:
            raise RuntimeError("the episode has ended (terminated or truncated); call reset() to start a new one.")
        a = check_int(action, "action", minimum=0, maximum=4, hint="0 up, 1 down, 2 right, 3 left, 4 stay")

        self.steps += 1
        if (self.steps + self.phase) % 2 == 1:  # the book: on the 1st, 3rd, 5th, ... step
            self._slide_obstacles()
        dx, dy = ACTIONS[a]
        self.agent = np.clip(self.agent + np.array([dx, dy]), 0, self.size - 1)

        self._collided = bool(np.any(np.all(self.obstacles == self.agent, axis=1)))
        at_goal = bool(np.array_equal(self.agent, self.goal))
        reward = 0.0
        if self._collided:
            self.collisions += 1
            reward -= 1.0
        if at_goal:
            reward += 1.0
        terminated = at_goal or (self.terminate_on_collision and self._collided)
        truncated = (not terminated) and self.steps >= self.max_steps
        self._done = terminated or truncated
        info = self._info()
        info["is_success"] = at_goal and self.collisions == 0
        return self._observation(), reward, terminated, truncated, info

    def _slide_obstacles(self) -> None:
        self.obstacles[:, 0] += self.directions
        # Turn round on arriving at an edge, so the direction always shows the next slide.
        self.directions[self.obstacles[:, 0] == self.size - 1] = -1
        self.directions[self.obstacles[:, 0] == 0] = 1

    # ------------------------------------------------------------------------------- observation
    def set_state(
        self,
        agent: tuple[int, int],
        obstacles: tuple[tuple[int, int], ...] | np.ndarray,
        directions: tuple[int, ...] | np.ndarray,
        slide_next: bool = True,
    ) -> np.ndarray:
        """Place the agent and the obstacles by hand (for tests and demonstrations).

        Call it after :meth:`reset`. ``obstacles`` are three ``(x, y)`` cells, one in each of rows 1,
        2, 3 in that order; ``directions`` are ``+1`` (right) or ``−1`` (left); ``slide_next`` says
        whether the obstacles slide on the next step (then on every other step). The step counter
        restarts at 0. Returns the observation.
        """
        agent_arr = np.asarray(agent, dtype=np.int64)
        obst = np.asarray(obstacles, dtype=np.int64)
        dirs = np.asarray(directions, dtype=np.int64)
        if agent_arr.shape != (2,) or np.any(agent_arr < 0) or np.any(agent_arr >= self.size):
            raise ValueError(f"agent must be an (x, y) cell with 0 <= x, y <= 4, got {agent!r}")
        if obst.shape != (3, 2) or np.any(obst < 0) or np.any(obst >= self.size):
            raise ValueError(f"obstacles must be three (x, y) cells inside the 5x5 grid, got {obstacles!r}")
        if not np.array_equal(obst[:, 1], _OBSTACLE_ROWS):
            raise ValueError(f"the three obstacles must lie in rows 1, 2 and 3 (y = 1, 2, 3), got {obstacles!r}")
        if dirs.shape != (3,) or not np.all(np.isin(dirs, (-1, 1))):
            raise ValueError(f"directions must be three values, each +1 (right) or -1 (left), got {directions!r}")
        if not isinstance(slide_next, (bool, np.bool_)):
            raise TypeError(f"slide_next must be True or False, got {slide_next!r}")
        self._place(agent_arr.copy(), obst.copy(), dirs.copy(), phase=0 if slide_next else 1)
        return self._observation()

    def _place(self, agent: np.ndarray, obstacles: np.ndarray, directions: np.ndarray, phase: int) -> None:
        """Begin an episode in this state: counters at 0, a collision already there shown by render()."""
        self.agent, self.obstacles, self.directions = agent, obstacles, directions
        self.phase = phase  # obstacles slide on the steps n with (n + phase) odd
        self.steps = 0
        self.collisions = 0
        self._collided = bool(np.any(np.all(self.obstacles == self.agent, axis=1)))
        self._done = False
        self._needs_reset = False

    def _observation(self) -> np.ndarray:
        parts: list[float] = []
        for (ox, oy), d in zip(self.obstacles, self.directions):
            parts += [ox - self.agent[0], oy - self.agent[1], -1.0, d]
        parts += [self.goal[0] - self.agent[0], self.goal[1] - self.agent[1], 1.0]
        return np.asarray(parts, dtype=np.float32)

    def _info(self) -> dict[str, Any]:
        return {"step": self.steps, "collisions": self.collisions, "collided": self._collided, "is_success": False}

    # --------------------------------------------------------------------------------- rendering
    def render(self) -> np.ndarray | None:
        """An RGB frame ``(5 * cell_size, 5 * cell_size, 3)`` (uint8) when ``render_mode="rgb_array"``."""
        if self.render_mode is None:
            gym.logger.warn(
                "render() called without a render mode; make the environment with render_mode='rgb_array'."
            )
            return None
        c = self.cell_size
        n = self.size * c
        frame = np.empty((n, n, 3), dtype=np.uint8)
        frame[:] = _BACKGROUND
        yy, xx = np.mgrid[0:c, 0:c] + 0.5  # pixel centres inside one cell
        u, v = xx / c - 0.5, yy / c - 0.5  # in [-0.5, 0.5], v downwards

        def cell(x: int, y: int) -> np.ndarray:
            return frame[y * c : (y + 1) * c, x * c : (x + 1) * c]

        if self._collided:
            cell(*self.agent)[:] = _HIT
        cell(*self.goal)[u**2 + v**2 <= 0.32**2] = _GOAL_COLOUR
        for (ox, oy), d in zip(self.obstacles, self.directions):
            # A triangle pointing the way the obstacle slides next: apex at u = 0.35 * d.
            s = d * u  # distance towards the apex
            triangle = (s >= -0.3) & (s <= 0.35) & (np.abs(v) <= 0.3 * (0.35 - s) / 0.65)
            cell(ox, oy)[triangle] = _OBSTACLE
        agent_mask = (np.abs(u) <= 0.25) & (np.abs(v) <= 0.25)
        if self._collided:  # the agent shares the cell with an obstacle: draw it as an outline
            agent_mask &= (np.abs(u) >= 0.18) | (np.abs(v) >= 0.18)
        cell(*self.agent)[agent_mask] = _AGENT
        for k in range(self.size + 1):  # grid lines
            i = min(k * c, n - 1)
            frame[i, :] = _GRID
            frame[:, i] = _GRID
        return frame
