"""The graded check cells of Part I (notebooks 01–04) award full marks to right answers and not to wrong ones.

Each test runs a check cell (the cell tagged ``quiz:<id>`` in ``solutions/``, hidden tests included) in a fresh
namespace holding a hand-written answer, then reads the :class:`helpers.quiz.Quiz` it built.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import failed_checks, grade_check_cell
from torch import nn

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def stub(*args, **kwargs):
    ...


# --- 01 · autograd: Himmelblau's gradient -------------------------------------------------------------------
def himmelblau_by_hand(x0, x1):
    u, v = x0**2 + x1 - 11, x0 + x1**2 - 7
    return 4 * x0 * u + 2 * v, 2 * u + 4 * x1 * v


def himmelblau_autograd(x0, x1):
    t0 = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    t1 = torch.tensor(float(x1), dtype=torch.float64, requires_grad=True)
    ((t0**2 + t1 - 11) ** 2 + (t0 + t1**2 - 7) ** 2).backward()
    return t0.grad.item(), t1.grad.item()


def test_01_right_answers_get_full_marks(root):
    quiz = grade_check_cell("01_autograd", "q1", himmelblau_grad_autograd=himmelblau_autograd,
                 himmelblau_grad_by_hand=himmelblau_by_hand)
    assert quiz.status == "ok" and quiz.earned == quiz.points == 3, quiz.report()


def test_01_stubs_are_not_answered(root):
    quiz = grade_check_cell("01_autograd", "q1", himmelblau_grad_autograd=stub, himmelblau_grad_by_hand=stub)
    assert quiz.status == "not answered" and quiz.earned == 0


def test_01_hard_coded_visible_answer_fails_hidden_tests(root):
    def hard_coded(x0, x1):
        return (-46.0, -38.0) if (x0, x1) == (1.0, 1.0) else (0.0, 0.0)

    quiz = grade_check_cell("01_autograd", "q1", himmelblau_grad_autograd=hard_coded, himmelblau_grad_by_hand=hard_coded)
    assert 0 < quiz.earned < quiz.points, quiz.report()


def test_01_a_sign_error_by_hand_loses_points(root):
    quiz = grade_check_cell("01_autograd", "q1", himmelblau_grad_autograd=himmelblau_autograd,
                 himmelblau_grad_by_hand=lambda a, b: tuple(-g for g in himmelblau_by_hand(a, b)))
    assert quiz.earned < quiz.points, quiz.report()


# --- 02 · PyTorch essentials: batches and Q(s, a) -----------------------------------------------------------
def to_batch(observations, device):
    batch = torch.from_numpy(np.stack(observations)).float().to(device)
    assert batch.ndim == 2, f"expected a list of 1-D observations, got a batch of shape {tuple(batch.shape)}"
    return batch


def q_of_actions(q_values, actions):
    if actions.shape != (q_values.shape[0],):
        raise ValueError(f"expected {q_values.shape[0]} actions, got shape {tuple(actions.shape)}")
    return q_values.gather(1, actions.long().unsqueeze(1)).squeeze(1)


def test_02_right_answers_get_full_marks(root):
    quiz = grade_check_cell("02_pytorch_essentials", "q1", to_batch=to_batch, q_of_actions=q_of_actions)
    assert quiz.status == "ok" and quiz.earned == quiz.points, quiz.report()


def test_02_stubs_are_not_answered(root):
    quiz = grade_check_cell("02_pytorch_essentials", "q1", to_batch=stub, q_of_actions=stub)
    assert quiz.status == "not answered" and quiz.earned == 0


def test_02_float64_batch_and_detached_q_values_lose_points(root):
    def float64_batch(observations, device):
        return torch.from_numpy(np.stack(observations)).to(device)

    def detached(q_values, actions):
        return torch.tensor([q_values[i, a].item() for i, a in enumerate(actions.tolist())])

    quiz = grade_check_cell("02_pytorch_essentials", "q1", to_batch=float64_batch, q_of_actions=detached)
    failed = failed_checks(quiz)
    assert "to_batch: float32 tensor of shape (3, 4)" in failed
    assert "gradients flow only into the chosen Q-values" in failed
    assert "q_of_actions is differentiable: gradients reach q_values" in failed
    assert quiz.earned < quiz.points, quiz.report()


def test_02_a_python_loop_and_missing_shape_asserts_lose_points(root):
    def loop(q_values, actions):  # differentiable, right values, but one indexing operation per row
        return torch.stack([q_values[i, a] for i, a in enumerate(actions.tolist())])

    def unchecked_batch(observations, device):
        return torch.from_numpy(np.stack(observations)).float().to(device)

    quiz = grade_check_cell("02_pytorch_essentials", "q1", to_batch=unchecked_batch, q_of_actions=loop)
    failed = failed_checks(quiz)
    assert failed == {"q_of_actions is vectorised: a handful of tensor operations for 1 000 rows",
                      "to_batch: rejects 2-D observations with a message",
                      "q_of_actions: rejects actions of the wrong shape with a message"}, quiz.report()


# --- 03 · linear regression: closed form --------------------------------------------------------------------
def test_03_closed_form(root):
    def fit(x, y):
        w, b = np.polyfit(np.ravel(x), np.ravel(y), 1)
        return float(w), float(b)

    assert grade_check_cell("03_linear_regression", "q1", fit_closed_form=fit).earned == 2
    assert grade_check_cell("03_linear_regression", "q1", fit_closed_form=stub).status == "not answered"
    swapped = grade_check_cell("03_linear_regression", "q1", fit_closed_form=lambda x, y: fit(x, y)[::-1])
    assert swapped.earned == 0, swapped.report()


# --- 04 · nonlinear regression: Q2, fit sin(4πx) ------------------------------------------------------------
class Sine(nn.Module):
    """A 'network' that is exactly sin(4πx) times a learnable scale (1 = perfect, 0 = predicts zero)."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale))

    def forward(self, x):
        return self.scale * torch.sin(4 * torch.pi * x)


def test_04_q2_grades_the_held_out_error(root):
    perfect = grade_check_cell("04_nonlinear_regression", "q2", q2_model=Sine(1.0))
    assert perfect.earned == perfect.points == 4, perfect.report()
    zero = grade_check_cell("04_nonlinear_regression", "q2", q2_model=Sine(0.0))  # MSE 0.5
    assert zero.earned == 0, zero.report()
    partial = grade_check_cell("04_nonlinear_regression", "q2", q2_model=Sine(0.75))  # MSE 0.03125
    assert 1 < partial.earned < 4, partial.report()
    assert grade_check_cell("04_nonlinear_regression", "q2", q2_model=None).status == "not answered"


def test_04_q2_wrong_output_shape_fails(root):
    quiz = grade_check_cell("04_nonlinear_regression", "q2", q2_model=nn.Linear(1, 3))
    assert quiz.earned == 0, quiz.report()


# --- 04 · nonlinear regression: Q1, four optimizers (retrains the reference: a few seconds) ---------------------
def test_04_q1_not_answered_and_wrong_histories(root):
    assert grade_check_cell("04_nonlinear_regression", "q1", q1_histories=None, make_optimizer=stub).status == (
        "not answered")
    # curves of the right length that were not produced by training: every comparison with the reference fails
    fake = {name: [0.5] * 2000 for name in ["SGD", "Momentum", "AdaGrad", "Adam"]}
    quiz = grade_check_cell("04_nonlinear_regression", "q1", q1_histories=fake, make_optimizer=stub, q1_fastest="Adam")
    failed = failed_checks(quiz)
    assert {f"{n}: your curve matches a reference run" for n in fake} <= failed
    assert quiz.earned < quiz.points / 2, quiz.report()


def test_04_q1_really_trained_curves_get_full_marks(root):
    torch.set_num_threads(1)
    rs = np.random.RandomState(0)
    x = rs.rand(100, 1)
    y = np.sin(2 * np.pi * x) + rs.rand(100, 1)
    x, y = torch.from_numpy(x).float(), torch.from_numpy(y).float()

    def make_optimizer(name, params):
        kinds = {"SGD": (torch.optim.SGD, {}), "Momentum": (torch.optim.SGD, {"momentum": 0.9}),
                 "AdaGrad": (torch.optim.Adagrad, {}), "Adam": (torch.optim.Adam, {})}
        cls, kwargs = kinds[name]
        return cls(params, lr=0.2, **kwargs)

    histories = {}
    for name in ["SGD", "Momentum", "AdaGrad", "Adam"]:
        init = np.random.RandomState(0)
        l1, l2 = nn.Linear(1, 10), nn.Linear(10, 1)
        with torch.no_grad():
            for layer in (l1, l2):
                n_in, n_out = layer.in_features, layer.out_features
                layer.weight.copy_(torch.from_numpy(init.randn(n_in, n_out) * np.sqrt(1 / n_in)).T)
                layer.bias.zero_()
        opt = make_optimizer(name, [*l1.parameters(), *l2.parameters()])
        history = []
        for _ in range(2000):
            loss = ((l2(torch.sigmoid(l1(x))) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            history.append(loss.item())
        histories[name] = history

    quiz = grade_check_cell("04_nonlinear_regression", "q1", q1_histories=histories, make_optimizer=make_optimizer,
                 q1_fastest="Adam")
    assert quiz.status == "ok" and quiz.earned == quiz.points == 4, quiz.report()
