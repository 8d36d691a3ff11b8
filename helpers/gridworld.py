"""The course's GridWorld: a tiny ``gymnasium.Env`` with plots and exact dynamic-programming answers.

The default layout is the 3×4 world of *Deep Learning from Scratch 4* (밑바닥부터 시작하는 딥러닝 4),
used by the seed lectures::

    . . . G        G  goal  (0, 3): reward +1, the episode ends
    . # . B        B  bomb  (1, 3): reward -1, the episode goes on
    S . . .        #  wall  (1, 1): cannot be entered
                   S  start (2, 0)

Other layouts are written as a small text map in the same characters (see :func:`parse_layout`).
States are the cell indices ``row * width + col`` (walls included, so the 3×4 world has 12 states and
start (2, 0) is state 9). :meth:`GridWorldEnv.to_cell`, :meth:`GridWorldEnv.to_index` and
:meth:`GridWorldEnv.one_hot` convert between the two views.

Plots (:func:`plot_q`, :func:`plot_values`) return matplotlib Figures; :func:`optimal_q`,
:func:`optimal_actions` and :func:`policy_accuracy` give the exact answers that notebooks compare
learned agents with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = [
    "ACTION_ARROWS",
    "ACTION_NAMES",
    "DEFAULT_LAYOUT",
    "GridWorldEnv",
    "LAYOUT_5X5",
    "as_q_table",
    "greedy_policy",
    "optimal_actions",
    "optimal_policy",
    "optimal_q",
    "parse_layout",
    "plot_q",
    "plot_values",
    "policy_accuracy",
]

Cell = tuple[int, int]

DEFAULT_LAYOUT = """
. . . G
. # . B
S . . .
"""

#: The 5×5 world of quiz Q3 in ``05_q_network``: two bombs, four walls, the goal in a corner.
LAYOUT_5X5 = """
. . . . G
. # . # B
. # . . .
. . B # .
S . . . .
"""

ACTION_NAMES: tuple[str, ...] = ("up", "down", "left", "right")
ACTION_ARROWS: tuple[str, ...] = ("↑", "↓", "←", "→")
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
        if max_steps is not None and (not isinstance(max_steps, (int, np.integer)) or max_steps < 1):
            raise ValueError(f"max_steps must be a positive integer or None, got {max_steps!r}")
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
        self._check_action(action)
        dr, dc = _MOVES[int(action)]
        nr, nc = r + dr, c + dc
        if not (0 <= nr < self.height and 0 <= nc < self.width) or self.wall_mask[nr, nc]:
            return (r, c)
        return (nr, nc)

    def transition(self, cell: Cell | int, action: int) -> tuple[Cell, float, bool]:
        """The model ``(next_cell, reward, terminated)`` of one step from ``cell``, without acting."""
        nxt = self.next_cell(cell, action)
        return nxt, float(self.reward_map[nxt]), nxt == self.goal

    # -- gymnasium API ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
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

    def step(self, action):
        if self.agent is None:
            raise RuntimeError("call env.reset() before env.step()")
        if self._done:
            raise RuntimeError("the episode has ended (goal reached or step limit); call env.reset()")
        self._check_action(action)
        self.agent, reward, terminated = self.transition(self.agent, action)
        self.steps += 1
        truncated = bool(not terminated and self.max_steps is not None and self.steps >= self.max_steps)
        self._done = terminated or truncated
        return self.to_index(self.agent), reward, terminated, truncated, {"cell": self.agent}

    def render(self):
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        if self.render_mode == "ansi":
            return self._render_text()
        return None

    def _check_action(self, action) -> None:
        if isinstance(action, np.ndarray) and action.shape == ():
            action = action.item()
        if isinstance(action, bool) or not isinstance(action, (int, np.integer)) or not 0 <= action < 4:
            raise ValueError(
                f"invalid action {action!r}: use an int 0 (up), 1 (down), 2 (left) or 3 (right)"
            )

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

    # -- plots (see the module functions) --------------------------------------------------------
    def plot_q(self, Q, **kwargs):
        """:func:`plot_q` on this layout."""
        return plot_q(Q, env=self, **kwargs)

    def plot_values(self, V, policy=None, **kwargs):
        """:func:`plot_values` on this layout."""
        return plot_values(V, policy, env=self, **kwargs)


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
    goal and of walls are 0 (nobody acts there). Returns an array ``(n_states, 4)``.
    """
    env = _resolve_env(env)
    if not 0 <= gamma < 1:
        raise ValueError(f"gamma must be in [0, 1) for value iteration to converge, got {gamma}")
    n, a = env.n_states, env.n_actions
    nxt = np.zeros((n, a), dtype=np.int64)
    rew = np.zeros((n, a))
    cont = np.zeros((n, a))
    acting = np.zeros(n, dtype=bool)
    for cell in env.nonterminal_states():
        s = env.to_index(cell)
        acting[s] = True
        for action in range(a):
            next_cell, reward, terminated = env.transition(cell, action)
            nxt[s, action], rew[s, action], cont[s, action] = env.to_index(next_cell), reward, not terminated
    q = np.zeros((n, a))
    for _ in range(100_000):
        v = q.max(axis=1)
        new = np.where(acting[:, None], rew + gamma * cont * v[nxt], 0.0)
        if np.max(np.abs(new - q)) < tol:
            return new
        q = new
    raise RuntimeError("value iteration did not converge")  # pragma: no cover


def optimal_actions(env: GridWorldEnv | str | None = None, gamma: float = 0.9, atol: float = 1e-9) -> np.ndarray:
    """A boolean mask ``(n_states, 4)``: which actions are optimal in each state.

    Ties are kept: in the 3×4 world at start (2, 0) both *up* and *right* are optimal. Rows of
    the goal and of walls are all False.
    """
    env = _resolve_env(env)
    q = optimal_q(env, gamma)
    mask = q >= q.max(axis=1, keepdims=True) - atol
    for r, c in zip(*np.nonzero(env.wall_mask)):
        mask[env.to_index((int(r), int(c)))] = False
    mask[env.to_index(env.goal)] = False
    return mask


def optimal_policy(env: GridWorldEnv | str | None = None, gamma: float = 0.9) -> np.ndarray:
    """One optimal action per state (the first among ties); -1 at the goal and at walls."""
    mask = optimal_actions(env, gamma)
    return np.where(mask.any(axis=1), mask.argmax(axis=1), -1)


def greedy_policy(Q: Any, env: GridWorldEnv | str | None = None) -> np.ndarray:
    """``argmax_a Q(s, a)`` for every state index (the first among ties), an int array ``(n_states,)``."""
    return as_q_table(Q, env).argmax(axis=1)


def policy_accuracy(Q: Any, env: GridWorldEnv | str | None = None, gamma: float = 0.9) -> float:
    """The fraction of non-terminal states whose greedy action under ``Q`` is optimal.

    A state counts as correct when its greedy action is *one of* the optimal actions (ties allowed).
    """
    env = _resolve_env(env)
    greedy = greedy_policy(Q, env)
    mask = optimal_actions(env, gamma)
    states = [env.to_index(cell) for cell in env.nonterminal_states()]
    return float(np.mean([mask[s, greedy[s]] for s in states]))


# --------------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------------
_ARROW_DXY = {0: (0.0, -1.0), 1: (0.0, 1.0), 2: (-1.0, 0.0), 3: (1.0, 0.0)}


def _new_axes(env: GridWorldEnv, ax, scale: float = 1.4):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(scale * env.width + 1.2, scale * env.height))
    else:
        fig = ax.figure
    ax.set_xlim(0, env.width)
    ax.set_ylim(env.height, 0)
    ax.set_aspect("equal")
    ax.set_xticks(np.arange(env.width) + 0.5, [str(c) for c in range(env.width)])
    ax.set_yticks(np.arange(env.height) + 0.5, [str(r) for r in range(env.height)])
    ax.tick_params(length=0)
    ax.set_xlabel("col")
    ax.set_ylabel("row")
    return fig, ax


def _draw_special_cells(env: GridWorldEnv, ax) -> None:
    from matplotlib.patches import Rectangle

    for r in range(env.height):
        for c in range(env.width):
            kind = env.grid[r, c]
            if kind == "#":
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor="0.35", edgecolor="0.35", zorder=3))
                ax.text(c + 0.5, r + 0.5, "wall", ha="center", va="center", color="white", fontsize=8, zorder=4)
            elif kind == "G":
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor="#7fc97f", edgecolor="k", lw=1.5, zorder=3))
                ax.text(
                    c + 0.5, r + 0.5, f"GOAL\nR {env.reward_map[r, c]:+.1f}", ha="center", va="center",
                    fontsize=8, fontweight="bold", zorder=4,
                )
            elif kind == "B":
                ax.add_patch(Rectangle((c + 0.03, r + 0.03), 0.94, 0.94, fill=False, edgecolor="darkred",
                                       lw=2.5, zorder=4))
                ax.text(c + 0.09, r + 0.93, f"bomb {env.reward_map[r, c]:+.0f}", ha="left", va="bottom",
                        fontsize=7, color="darkred", zorder=4)
            elif kind == "S":
                ax.text(c + 0.04, r + 0.06, "start", ha="left", va="top", fontsize=7, color="navy", zorder=4)
    for x in range(env.width + 1):
        ax.axvline(x, color="k", lw=0.8, zorder=5)
    for y in range(env.height + 1):
        ax.axhline(y, color="k", lw=0.8, zorder=5)


def _draw_arrows(env: GridWorldEnv, ax, actions_per_state: dict[int, Iterable[int]], length: float = 0.28) -> None:
    for s, actions in actions_per_state.items():
        r, c = env.to_cell(s)
        for action in actions:
            dx, dy = _ARROW_DXY[int(action)]
            ax.annotate(
                "", xy=(c + 0.5 + length * dx, r + 0.5 + length * dy), xytext=(c + 0.5, r + 0.5),
                arrowprops=dict(arrowstyle="-|>", color="k", lw=1.6, mutation_scale=12), zorder=6,
            )


def plot_q(
    Q: Any,
    env: GridWorldEnv | str | None = None,
    *,
    ax=None,
    title: str | None = None,
    show_values: bool = True,
    show_policy: bool = True,
    vmax: float | None = None,
):
    """Draw a Q function: four triangles per cell coloured by ``Q(s, a)``, greedy arrows on top.

    Parameters
    ----------
    Q:
        Anything :func:`as_q_table` accepts (array ``(n_states, 4)``, dict keyed by
        ``(state, action)``, tensor, or a Q-network).
    env:
        The layout (a :class:`GridWorldEnv`, a text map, or ``None`` for the 3×4 default).
    ax:
        Draw into this Axes instead of a new figure.
    vmax:
        Colour scale ±vmax (default: the largest |Q| over the states where the agent acts).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl
    from matplotlib.collections import PolyCollection

    env = _resolve_env(env)
    table = as_q_table(Q, env)
    fig, ax = _new_axes(env, ax)
    acting = [env.to_index(cell) for cell in env.nonterminal_states()]
    if vmax is None:
        vmax = float(np.max(np.abs(table[acting]))) if acting else 1.0
        vmax = vmax if vmax > 0 else 1.0
    norm = mpl.colors.Normalize(-vmax, vmax)
    cmap = mpl.colormaps["RdYlGn"]

    polys, values = [], []
    for s in acting:
        r, c = env.to_cell(s)
        centre = (c + 0.5, r + 0.5)
        corners = {  # the two outer corners of each action's triangle (x, y with y down)
            0: ((c, r), (c + 1, r)),
            1: ((c, r + 1), (c + 1, r + 1)),
            2: ((c, r), (c, r + 1)),
            3: ((c + 1, r), (c + 1, r + 1)),
        }
        for action, (p1, p2) in corners.items():
            polys.append([centre, p1, p2])
            values.append(table[s, action])
    if polys:
        coll = PolyCollection(polys, array=np.array(values), cmap=cmap, norm=norm, edgecolors="0.6", linewidths=0.5)
        ax.add_collection(coll)
        fig.colorbar(coll, ax=ax, fraction=0.046, pad=0.04, label="Q(s, a)")
    if show_values:
        offsets = {0: (0, -0.34), 1: (0, 0.34), 2: (-0.34, 0), 3: (0.34, 0)}
        size = 7 if max(env.shape) <= 4 else 6
        for s in acting:
            r, c = env.to_cell(s)
            for action, (dx, dy) in offsets.items():
                ax.text(c + 0.5 + dx, r + 0.5 + dy, f"{table[s, action]:.2f}", ha="center", va="center",
                        fontsize=size, zorder=4)
    _draw_special_cells(env, ax)
    if show_policy:
        greedy = table.argmax(axis=1)
        _draw_arrows(env, ax, {s: [greedy[s]] for s in acting}, length=0.22)
    ax.set_title(title if title is not None else "Q(s, a) and the greedy policy")
    return fig


def plot_values(
    V: Any,
    policy: Any = None,
    env: GridWorldEnv | str | None = None,
    *,
    ax=None,
    title: str | None = None,
    show_values: bool = True,
):
    """Draw state values ``V(s)`` as coloured cells, with the policy's actions as arrows.

    Parameters
    ----------
    V:
        Array ``(n_states,)`` or ``(height, width)``, or a dict ``{state: value}`` (state a cell or
        an index).
    policy:
        ``None``; an int array ``(n_states,)`` of actions (-1 = none); an array ``(n_states, 4)`` of
        action probabilities or an optimal-action mask (every most-likely action gets an arrow); or
        a dict ``{state: {action: prob}}`` as in *Deep Learning from Scratch 4*.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    env = _resolve_env(env)
    n = env.n_states
    if isinstance(V, Mapping):
        values = np.zeros(n)
        for state, value in V.items():
            values[env.to_index(state)] = float(value)
    else:
        if hasattr(V, "detach"):
            V = V.detach().cpu().numpy()
        values = np.asarray(V, dtype=np.float64)
        if values.shape == env.shape:
            values = values.reshape(n)
        if values.shape != (n,):
            raise ValueError(
                f"V has shape {values.shape}, but this {env.height}×{env.width} GridWorld needs ({n},) "
                f"or {env.shape}"
            )
    arrows = _policy_arrows(policy, env)

    fig, ax = _new_axes(env, ax)
    acting = [env.to_index(cell) for cell in env.states()]
    vmax = float(np.max(np.abs(values[acting]))) if acting else 1.0
    vmax = vmax if vmax > 0 else 1.0
    norm = mpl.colors.Normalize(-vmax, vmax)
    cmap = mpl.colormaps["RdYlGn"]
    for s in acting:
        r, c = env.to_cell(s)
        ax.add_patch(Rectangle((c, r), 1, 1, facecolor=cmap(norm(values[s])), zorder=1))
        if show_values and (r, c) != env.goal:
            ax.text(c + 0.96, r + 0.94, f"{values[s]:.2f}", ha="right", va="bottom", fontsize=8, zorder=4)
    fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.046, pad=0.04, label="V(s)")
    _draw_special_cells(env, ax)
    _draw_arrows(env, ax, arrows)
    ax.set_title(title if title is not None else ("V(s) and the policy" if arrows else "V(s)"))
    return fig


def _policy_arrows(policy: Any, env: GridWorldEnv) -> dict[int, list[int]]:
    if policy is None:
        return {}
    acting = {env.to_index(cell) for cell in env.nonterminal_states()}
    if isinstance(policy, Mapping):
        out = {}
        for state, probs in policy.items():
            s = env.to_index(state)
            if s not in acting:
                continue
            if isinstance(probs, Mapping):
                best = max(probs.values())
                out[s] = [int(a) for a, p in probs.items() if p == best]
            else:
                out[s] = [int(probs)]
        return out
    arr = np.asarray(policy.detach().cpu().numpy() if hasattr(policy, "detach") else policy)
    if arr.shape == (env.n_states,):
        return {s: [int(arr[s])] for s in sorted(acting) if 0 <= arr[s] < env.n_actions}
    if arr.shape == (env.n_states, env.n_actions):
        arr = arr.astype(np.float64)
        return {s: list(np.flatnonzero(arr[s] == arr[s].max())) for s in sorted(acting) if arr[s].max() > 0}
    raise ValueError(
        f"policy has shape {arr.shape}; use ({env.n_states},) actions, ({env.n_states}, {env.n_actions}) "
        "probabilities, or a dict {state: {action: prob}}"
    )

