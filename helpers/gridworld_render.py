"""Drawing the GridWorld: Q functions and state values as matplotlib figures.

The one concern of this module is pictures; the environment, its exact dynamic-programming answers
and the conversion of any Q function into a table live in :mod:`helpers.gridworld` (as *Deep Learning
from Scratch 4* splits ``common/gridworld.py`` and ``common/gridworld_render.py``).

* :func:`plot_q` — four triangles per cell coloured by ``Q(s, a)``, greedy arrows on top;
* :func:`plot_values` — cells coloured by ``V(s)``, a policy's actions as arrows.

Both take the layout as ``env=`` (a :class:`~helpers.gridworld.GridWorldEnv`, a text map, or ``None``
for the 3×4 default) and return the :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers.gridworld import GridWorldEnv, _resolve_env, as_q_table

__all__ = ["plot_q", "plot_values"]

_ARROW_DXY = {0: (0.0, -1.0), 1: (0.0, 1.0), 2: (-1.0, 0.0), 3: (1.0, 0.0)}


def _new_axes(env: GridWorldEnv, ax: Axes | None, scale: float = 1.4) -> tuple[Figure, Axes]:
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


def _colour_scale(shown: np.ndarray, vmax: float | None = None) -> tuple[mpl.colors.Normalize, mpl.colors.Colormap]:
    """Red-yellow-green, symmetric about 0: ±``vmax``, by default the largest ``|value|`` shown (1 if none)."""
    if vmax is None:
        vmax = float(np.max(np.abs(shown))) if np.size(shown) else 0.0
        vmax = vmax if vmax > 0 else 1.0
    return mpl.colors.Normalize(-vmax, vmax), mpl.colormaps["RdYlGn"]


def _draw_special_cells(env: GridWorldEnv, ax: Axes) -> None:
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


def _draw_arrows(env: GridWorldEnv, ax: Axes, actions_per_state: dict[int, Iterable[int]], length: float = 0.28) -> None:
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
    ax: Axes | None = None,
    title: str | None = None,
    show_values: bool = True,
    show_policy: bool = True,
    vmax: float | None = None,
) -> Figure:
    """Draw a Q function: four triangles per cell coloured by ``Q(s, a)``, greedy arrows on top.

    Parameters
    ----------
    Q : array-like, dict, torch.Tensor or callable
        Anything :func:`as_q_table` accepts (array ``(n_states, 4)``, dict keyed by
        ``(state, action)``, tensor, or a Q-network).
    env : GridWorldEnv, str or None
        The layout (a :class:`GridWorldEnv`, a text map, or ``None`` for the 3×4 default).
    ax : matplotlib.axes.Axes or None
        Draw into this Axes instead of a new figure.
    title : str or None
        The title (default: "Q(s, a) and the greedy policy").
    show_values : bool
        Write each ``Q(s, a)`` in its triangle.
    show_policy : bool
        Draw the greedy action of each state as an arrow.
    vmax : float or None
        Colour scale ±vmax (default: the largest |Q| over the states where the agent acts).

    Returns
    -------
    matplotlib.figure.Figure
    """
    env = _resolve_env(env)
    table = as_q_table(Q, env)
    fig, ax = _new_axes(env, ax)
    acting = [env.to_index(cell) for cell in env.nonterminal_states()]
    norm, cmap = _colour_scale(table[acting], vmax)

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
    ax: Axes | None = None,
    title: str | None = None,
    show_values: bool = True,
) -> Figure:
    """Draw state values ``V(s)`` as coloured cells, with the policy's actions as arrows.

    Parameters
    ----------
    V : array-like or dict
        Array ``(n_states,)`` or ``(height, width)``, or a dict ``{state: value}`` (state a cell or
        an index).
    policy : None, array-like or dict
        ``None``; an int array ``(n_states,)`` of actions (-1 = none); an array ``(n_states, 4)`` of
        action probabilities or an optimal-action mask (every most-likely action gets an arrow); or
        a dict ``{state: {action: prob}}`` as in *Deep Learning from Scratch 4*.
    env : GridWorldEnv, str or None
        The layout (a :class:`GridWorldEnv`, a text map, or ``None`` for the 3×4 default).
    ax : matplotlib.axes.Axes or None
        Draw into this Axes instead of a new figure.
    title : str or None
        The title (default: "V(s) and the policy", or "V(s)" without a policy).
    show_values : bool
        Write each ``V(s)`` in its cell (not at the goal).

    Returns
    -------
    matplotlib.figure.Figure
    """
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
    norm, cmap = _colour_scale(values[acting])
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

