"""Unit tests for helpers.gridworld_render: Q and value plots of the GridWorld."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from helpers.gridworld import LAYOUT_5X5, GridWorldEnv, optimal_actions, optimal_q
from helpers.gridworld_render import plot_q, plot_values

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


@pytest.mark.parametrize("shape", [(12,), (11, 4), (12, 3), (4, 3, 4)])
def test_wrong_q_shape_raises(shape):
    with pytest.raises(ValueError, match=r"needs \(12, 4\)"):
        plot_q(np.zeros(shape))


def test_plot_q_draws_triangles_and_arrows():
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

    env = GridWorldEnv()
    fig = plot_q(optimal_q(env), env)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    polys = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(polys) == 1 and len(polys[0].get_paths()) == 10 * 4  # 10 cells where the agent acts
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 10
    labels = [t.get_text() for t in ax.texts]
    assert any("GOAL" in label for label in labels) and "wall" in labels
    big = GridWorldEnv(layout=LAYOUT_5X5)
    fig = plot_q(optimal_q(big), big, title="5x5")
    assert fig.axes[0].get_title() == "5x5"


def test_plot_values_with_policies():
    from matplotlib.figure import Figure

    env = GridWorldEnv()
    q = optimal_q(env)
    v = q.max(axis=1)
    one_action = np.where(optimal_actions(env).any(axis=1), optimal_actions(env).argmax(axis=1), -1)  # -1: none
    fig = plot_values(v, one_action, env=env)
    assert isinstance(fig, Figure)
    assert len([t for t in fig.axes[0].texts if getattr(t, "arrow_patch", None) is not None]) == 10
    fig = plot_values(v.reshape(3, 4), optimal_actions(env), env=env)  # ties: 11 arrows
    assert len([t for t in fig.axes[0].texts if getattr(t, "arrow_patch", None) is not None]) == 11
    dlfs4_policy = {cell: {0: 0.25, 1: 0.25, 2: 0.25, 3: 0.25} for cell in env.states()}
    fig = plot_values({cell: 0.0 for cell in env.states()}, dlfs4_policy, env=env)
    assert len([t for t in fig.axes[0].texts if getattr(t, "arrow_patch", None) is not None]) == 40
    with pytest.raises(ValueError, match="V has shape"):
        plot_values(np.zeros(5), env=env)
    with pytest.raises(ValueError, match="policy has shape"):
        plot_values(v, np.zeros(3), env=env)
