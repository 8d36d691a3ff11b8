"""The course's GridWorld: a tiny ``gymnasium.Env`` and its exact dynamic-programming answers.

The default layout is the 3×4 world of *Deep Learning from Scratch 4* (밑바닥부터 시작하는 딥러닝 4),
used by the lecture notes::

    . . . G        G  goal  (0, 3): reward +1, the episode ends
    . # . B        B  bomb  (1, 3): reward -1, the episode goes on
    S . . .        #  wall  (1, 1): cannot be entered
                   S  start (2, 0)

Other layouts are written as a small text map in the same characters (see :func:`parse_layout`).
States are the cell indices ``row * width + col`` (walls included, so the 3×4 world has 12 states and
start (2, 0) is state 8). :meth:`GridWorldEnv.to_cell`, :meth:`GridWorldEnv.to_index` and
:meth:`GridWorldEnv.one_hot` convert between the two views.

:func:`optimal_q`, :func:`optimal_actions` and :func:`policy_accuracy` give the exact answers that
notebooks compare learned agents with; :func:`as_q_table` turns any Q function (array, dict, tensor,
network) into one ``(n_states, 4)`` table. Drawing lives apart, in :mod:`helpers.gridworld_render`
(:func:`~helpers.gridworld_render.plot_q`, :func:`~helpers.gridworld_render.plot_values`); this module
never imports matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from helpers._checks import check_int

__all__ = [
    "ACTION_NAMES",
    "DEFAULT_LAYOUT",
    "GridWorldEnv",
    "LAYOUT_5X5",
    "as_q_table",
    "optimal_actions",
    "optimal_q",
    "parse_layout",
    "policy_accuracy",
]

Cell = tuple[int, int]

DEFAULT_LAYOUT = """
. . . G
. # . B
S . . .
"""

#: The 5×5 world of quiz Q3 in ``08_q_network``: two bombs, four walls, the goal in a corner.
LAYOUT_5X5 = """
. . . . G
. # . # B
. # . . .
. . B # .
S . . . .
"""

ACTION_NAMES: tuple[str, ...] = ("up", "down", "left", "right")
_MOVES: tuple[Cell, ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))
_LAYOUT_CHARS = {".": "empty", "#": "wall", "S": "start", "G": "goal", "B": "bomb"}


# --------------------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------------------
def parse_layout(layout: str) -> np.ndarray:
    """Read a text map into a 2-D array of single characters.

    Each non-blank line is one row. Cells are the characters ``.`` (empty), ``#`` (wall),
    ``S`` (start, exactly one), ``G`` (goal, exactly one) and ``B`` (bomb, any number); spaces
    between cells are optional. For example the 3×4 default is ``". . . G\\n. # . B\\nS . . ."``.

    Parameters
    ----------
    layout : str
        The text map.

    Returns
    -------
    np.ndarray
        The cells, shape ``(height, width)``, one upper-case character each.

    Raises
    ------
    TypeError
        If ``layout`` is not a string.
    ValueError
        If a character is unknown, rows differ in length, or there is not exactly one ``S`` and
        one ``G``.
    """
    if not isinstance(layout, str):
        raise TypeError(f"layout must be a text map (str), got {type(layout).__name__}")
    rows = [line.replace(" ", "").replace("\t", "") for line in layout.splitlines()]
    rows = [row.upper() for row in rows if row]
    if not rows:
        raise ValueError("layout is empty: write one line per row, e.g. '. . G\\nS # .'")
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(
            f"every row of the layout must have the same number of cells, got row lengths "
            f"{[len(row) for row in rows]}"
        )
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            if ch not in _LAYOUT_CHARS:
                raise ValueError(
                    f"unknown cell {ch!r} at row {r}, column {c}; use one of "
                    + ", ".join(f"{k!r} ({v})" for k, v in _LAYOUT_CHARS.items())
                )
    grid = np.array([list(row) for row in rows])
    for ch, name in (("S", "start"), ("G", "goal")):
        n = int((grid == ch).sum())
        if n != 1:
            raise ValueError(f"the layout needs exactly one {name} cell {ch!r}, found {n}")
    return grid


# --------------------------------------------------------------------------------------------------
# The environment
# --------------------------------------------------------------------------------------------------
class GridWorldEnv(gym.Env):
    """A deterministic grid world: walk from the start to the goal, avoiding bombs.

    ## Description
    The agent moves one cell up, down, left or right on a small grid. Walls and the border block
    moves (the agent stays put). Reaching the goal pays +1 and ends the episode; stepping on (or
    staying on) a bomb costs -1 but the episode goes on. The default layout is the 3×4 world of
    *Deep Learning from Scratch 4*; pass ``layout=`` for another one (see :func:`parse_layout`).

    ## Action Space
    ``Discrete(4)``:

    | Num | Action |
    |-----|--------|
    | 0   | up     |
    | 1   | down   |
    | 2   | left   |
    | 3   | right  |

    ## Observation Space
    ``Discrete(height * width)``: the agent's cell index ``row * width + col`` (wall cells are
    counted but never occupied). Convert with :meth:`to_cell`, :meth:`to_index`, :meth:`one_hot`.

    ## Rewards
    The reward map's value at the **next** cell: ``goal_reward`` (+1) at the goal, ``bomb_reward``
    (-1) at a bomb, 0 elsewhere. A blocked move onto a bomb cell you already stand on pays -1 again.

    ## Starting State
    The ``S`` cell; ``env.reset(options={"start": (row, col)})`` starts anywhere else that is not a
    wall or the goal (exploring starts).

    ## Episode End
    * Termination: the agent reaches the goal.
    * Truncation: ``max_steps`` steps have been taken (100 by default; ``None`` for no limit).

    ## Arguments
    ``gymnasium.make("helpers/GridWorld-v0", layout=None, render_mode=None, max_steps=100)``;
    ``render_mode`` is ``"rgb_array"`` (an image) or ``"ansi"`` (text).
    """

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(
        self,
        layout: str | None = None,
        render_mode: str | None = None,
        max_steps: int | None = 100,
        goal_reward: float = 1.0,
        bomb_reward: float = -1.0,
    ) -> None:
        super().__init__()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}"
            )
        if max_steps is not None:
            check_int(max_steps, "max_steps", hint="or None for no step limit")
        self.layout = DEFAULT_LAYOUT if layout is None else layout
        self.grid = parse_layout(self.layout)
        self.height, self.width = self.grid.shape
        self.render_mode = render_mode
        self.max_steps = None if max_steps is None else int(max_steps)

        self.wall_mask: np.ndarray = self.grid == "#"
        self.reward_map: np.ndarray = np.zeros(self.grid.shape, dtype=np.float64)
        self.reward_map[self.grid == "G"] = float(goal_reward)
        self.reward_map[self.grid == "B"] = float(bomb_reward)
        self.reward_map[self.wall_mask] = np.nan
        self.goal: Cell = _cell_of(self.grid, "G")
        self.start: Cell = _cell_of(self.grid, "S")
        self.bombs: list[Cell] = [(int(r), int(c)) for r, c in zip(*np.nonzero(self.grid == "B"))]

        self.observation_space = spaces.Discrete(self.n_states)
        self.action_space = spaces.Discrete(len(ACTION_NAMES))
        self.agent: Cell | None = None
        self.steps = 0
        self._done = False

    # -- sizes and conversions -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the grid."""
        return (self.height, self.width)

    @property
    def n_states(self) -> int:
        """Number of cells, walls included (the size of a one-hot state vector)."""
        return self.height * self.width

    @property
    def n_actions(self) -> int:
        """Number of actions (4)."""
        return len(ACTION_NAMES)

    def to_index(self, cell: Cell | int) -> int:
        """The state index ``row * width + col`` of a ``(row, col)`` cell (an index passes through)."""
        if isinstance(cell, (int, np.integer)) and not isinstance(cell, bool):
            index = int(cell)
            if not 0 <= index < self.n_states:
                raise ValueError(f"state index {index} is outside 0..{self.n_states - 1}")
            return index
        try:
            r, c = (int(v) for v in cell)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise TypeError(f"a cell is a (row, col) pair or an int index, got {cell!r}") from None
        if not (0 <= r < self.height and 0 <= c < self.width):
            raise ValueError(f"cell {(r, c)} is outside the {self.height}×{self.width} grid")
        return r * self.width + c

    def to_cell(self, index: Cell | int) -> Cell:
        """The ``(row, col)`` cell of a state index (a cell passes through)."""
        index = self.to_index(index)
        return divmod(index, self.width)

    def one_hot(self, state: Cell | int) -> np.ndarray:
        """A ``(1, n_states)`` float32 one-hot row for ``state`` (a cell or an index), ready to batch."""
        vec = np.zeros((1, self.n_states), dtype=np.float32)
        vec[0, self.to_index(state)] = 1.0
        return vec

    def states(self) -> list[Cell]:
        """All cells the agent can occupy (every cell but the walls), row by row."""
        return [(r, c) for r in range(self.height) for c in range(self.width) if not self.wall_mask[r, c]]

    def nonterminal_states(self) -> list[Cell]:
        """The cells where the agent acts: neither a wall nor the goal."""
        return [cell for cell in self.states() if cell != self.goal]

    # -- the model -------------------------------------------------------------------------------
    def next_cell(self, cell: Cell | int, action: int) -> Cell:
        """Where ``action`` leads from ``cell``: one step, or stay put at the border or a wall."""
        r, c = self.to_cell(cell)
        action = check_int(action, "action", minimum=0, maximum=3, hint="0 up, 1 down, 2 left, 3 right")
        dr, dc = _MOVES[action]
        nr, nc = r + dr, c + dc
        if not (0 <= nr < self.height and 0 <= nc < self.width) or self.wall_mask[nr, nc]:
            return (r, c)
        return (nr, nc)

    def transition(self, cell: Cell | int, action: int) -> tuple[Cell, float, bool]:
        """The model ``(next_cell, reward, terminated)`` of one step from ``cell``, without acting."""
        nxt = self.next_cell(cell, action)
        return nxt, float(self.reward_map[nxt]), nxt == self.goal

    # -- gymnasium API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        start = self.start
        if options and options.get("start") is not None:
            start = self.to_cell(options["start"])
            if self.wall_mask[start] or start == self.goal:
                raise ValueError(f"cannot start at {start}: it is a wall or the goal")
        self.agent = start
        self.steps = 0
        self._done = False
        return self.to_index(self.agent), {"cell": self.agent}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if self.agent is None:
            raise RuntimeError("call env.reset() before env.step()")
        if self._done:
            raise RuntimeError("the episode has ended (goal reached or step limit); call env.reset()")
        self.agent, reward, terminated = self.transition(self.agent, action)
        self.steps += 1
        truncated = bool(not terminated and self.max_steps is not None and self.steps >= self.max_steps)
        self._done = terminated or truncated
        return self.to_index(self.agent), reward, terminated, truncated, {"cell": self.agent}

    def render(self) -> np.ndarray | str | None:
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        if self.render_mode == "ansi":
            return self._render_text()
        return None

    def _render_text(self) -> str:
        rows = []
        for r in range(self.height):
            cells = []
            for c in range(self.width):
                cells.append("A" if (r, c) == self.agent else self.grid[r, c])
            rows.append(" ".join(cells))
        return "\n".join(rows) + "\n"

    def _render_rgb(self, cell_px: int = 48) -> np.ndarray:
        colours = {
            ".": (255, 255, 255),
            "S": (235, 235, 250),
            "#": (90, 90, 90),
            "G": (110, 200, 110),
            "B": (230, 100, 100),
        }
        h, w = self.height * cell_px, self.width * cell_px
        img = np.empty((h, w, 3), dtype=np.uint8)
        for r in range(self.height):
            for c in range(self.width):
                img[r * cell_px : (r + 1) * cell_px, c * cell_px : (c + 1) * cell_px] = colours[self.grid[r, c]]
        img[::cell_px, :] = (170, 170, 170)
        img[:, ::cell_px] = (170, 170, 170)
        img[-1, :] = (170, 170, 170)
        img[:, -1] = (170, 170, 170)
        if self.agent is not None:
            r, c = self.agent
            yy, xx = np.mgrid[0:cell_px, 0:cell_px]
            centre = (cell_px - 1) / 2
            disc = (yy - centre) ** 2 + (xx - centre) ** 2 <= (0.32 * cell_px) ** 2
            patch = img[r * cell_px : (r + 1) * cell_px, c * cell_px : (c + 1) * cell_px]
            patch[disc] = (40, 90, 200)
        return img


def _cell_of(grid: np.ndarray, ch: str) -> Cell:
    r, c = np.argwhere(grid == ch)[0]
    return (int(r), int(c))


def _resolve_env(env: GridWorldEnv | str | None) -> GridWorldEnv:
    if env is None:
        return GridWorldEnv()
    if isinstance(env, str):
        return GridWorldEnv(layout=env)
    env = getattr(env, "unwrapped", env)
    if not isinstance(env, GridWorldEnv):
        raise TypeError(f"env must be a GridWorldEnv, a layout string or None, got {type(env).__name__}")
    return env


# --------------------------------------------------------------------------------------------------
# Q tables, ground truth
# --------------------------------------------------------------------------------------------------
def as_q_table(Q: Any, env: GridWorldEnv | str | None = None) -> np.ndarray:
    """Turn a Q function into a float array of shape ``(n_states, 4)``.

    Accepts an array or tensor of shape ``(n_states, 4)`` or ``(height, width, 4)``; a dict keyed
    by ``(state, action)`` with ``state`` a ``(row, col)`` cell or an index (missing pairs are 0, as
    in a ``defaultdict``); or a ``torch.nn.Module`` / callable mapping a batch of one-hot states
    ``(n_states, n_states)`` to Q values ``(n_states, 4)``.

    Parameters
    ----------
    Q : array-like, dict, torch.Tensor or callable
        The Q function, in any of the forms above.
    env : GridWorldEnv, str or None
        The layout (a :class:`GridWorldEnv`, a text map, or ``None`` for the 3×4 default).

    Returns
    -------
    np.ndarray
        ``(n_states, 4)`` float64, row ``s`` = the Q-values of state index ``s``.

    Raises
    ------
    ValueError
        If the shape does not match the layout.
    """
    env = _resolve_env(env)
    n, a = env.n_states, env.n_actions
    if isinstance(Q, Mapping):
        table = np.zeros((n, a))
        for key, value in Q.items():
            try:
                state, action = key
            except (TypeError, ValueError):
                raise ValueError(f"Q dict keys must be (state, action) pairs, got {key!r}") from None
            table[env.to_index(state), int(action)] = float(value)
        return table
    if callable(Q) and not isinstance(Q, np.ndarray) and not hasattr(Q, "shape"):
        import torch

        eye = torch.eye(n)
        try:
            param = next(iter(Q.parameters()))  # type: ignore[attr-defined]
            eye = eye.to(dtype=param.dtype, device=param.device)
        except (AttributeError, StopIteration):
            pass
        with torch.no_grad():
            Q = Q(eye)
    if hasattr(Q, "detach"):
        Q = Q.detach().cpu().numpy()
    table = np.asarray(Q, dtype=np.float64)
    if table.shape == (env.height, env.width, a):
        table = table.reshape(n, a)
    if table.shape != (n, a):
        raise ValueError(
            f"Q has shape {table.shape}, but this {env.height}×{env.width} GridWorld needs "
            f"({n}, {a}) (one row per state index, one column per action) or "
            f"({env.height}, {env.width}, {a})"
        )
    return table


def optimal_q(env: GridWorldEnv | str | None = None, gamma: float = 0.9, tol: float = 1e-12) -> np.ndarray:
    """The exact optimal action values ``Q*`` by value iteration on the known model.

    ``Q*(s, a) = r(s, a) + γ · max_a' Q*(s', a')``, with 0 after reaching the goal. Rows of the
    goal and of walls are 0 (nobody acts there).

    Parameters
    ----------
    env : GridWorldEnv, str or None
        The layout (a :class:`GridWorldEnv`, a text map, or ``None`` for the 3×4 default).
    gamma : float
        The discount factor, in ``[0, 1)``.
    tol : float
        Stop when no value changes by more than this.

    Returns
    -------
    np.ndarray
        ``Q*`` as an array ``(n_states, 4)``.
    """
    env = _resolve_env(env)
    if not 0 <= gamma < 1:
        raise ValueError(f"gamma must be in [0, 1) for value iteration to converge, got {gamma}")
    from helpers.mdp import gridworld_mdp  # the model as arrays (helpers.mdp imports this module)

    mdp = gridworld_mdp(env, gamma)  # the goal does not act, so its value stays 0: nothing after it
    q = np.zeros((mdp.n_states, mdp.n_actions))
    for _ in range(100_000):
        new = (mdp.R + gamma * mdp.P @ q.max(axis=1)) * mdp.acting[:, None]
        if np.max(np.abs(new - q)) < tol:
            return new
        q = new
    raise RuntimeError("value iteration did not converge")  # pragma: no cover


def optimal_actions(env: GridWorldEnv | str | None = None, gamma: float = 0.9, atol: float = 1e-9) -> np.ndarray:
    """A boolean mask ``(n_states, 4)``: which actions are optimal in each state.

    Ties are kept: in the 3×4 world at start (2, 0) both *up* and *right* are optimal. Rows of
    the goal and of walls are all False.

    Parameters
    ----------
    env : GridWorldEnv, str or None
        The layout (a :class:`GridWorldEnv`, a text map, or ``None`` for the 3×4 default).
    gamma : float
        The discount factor.
    atol : float
        An action is optimal when its ``Q*`` is within ``atol`` of the best.

    Returns
    -------
    np.ndarray
        A boolean array ``(n_states, 4)``.
    """
    env = _resolve_env(env)
    q = optimal_q(env, gamma)
    mask = q >= q.max(axis=1, keepdims=True) - atol
    for r, c in zip(*np.nonzero(env.wall_mask)):
        mask[env.to_index((int(r), int(c)))] = False
    mask[env.to_index(env.goal)] = False
    return mask


def policy_accuracy(Q: Any, env: GridWorldEnv | str | None = None, gamma: float = 0.9) -> float:
    """The fraction of non-terminal states whose greedy action under ``Q`` is optimal.

    A state counts as correct when its greedy action (``argmax``, the first among ties) is *one of*
    the optimal actions (ties allowed).

    Parameters
    ----------
    Q : array-like, dict, torch.Tensor or callable
        The learned Q function (anything :func:`as_q_table` accepts).
    env : GridWorldEnv, str or None
        The layout (a :class:`GridWorldEnv`, a text map, or ``None`` for the 3×4 default).
    gamma : float
        The discount factor that defines the optimal actions.

    Returns
    -------
    float
        In ``[0, 1]``.
    """
    env = _resolve_env(env)
    greedy = as_q_table(Q, env).argmax(axis=1)
    mask = optimal_actions(env, gamma)
    states = [env.to_index(cell) for cell in env.nonterminal_states()]
    return float(np.mean([mask[s, greedy[s]] for s in states]))
