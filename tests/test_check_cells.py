"""The graded check cells of exercises that are classes: the course's reference gets full marks, a stub is
"not answered", and typical wrong answers fail the check that names their mistake."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import failed_checks, grade_check_cell

from helpers.atari import NatureCNN
from helpers.replay import ConsecutiveBuffer, ReplayBuffer


# --- 14 · pixels, exercise q3: the Nature CNN as a module ----------------------------------------------------
class _OneSequential(torch.nn.Module):
    """The right layers under other names: its weights cannot load a NatureCNN state_dict."""

    def __init__(self, n_actions, in_channels=4):
        super().__init__()
        self.net = torch.nn.Sequential(*NatureCNN(n_actions, in_channels).features,
                                       *NatureCNN(n_actions, in_channels).head)

    def forward(self, x):
        return self.net(x.float() / 255.0 if x.dtype == torch.uint8 else x)


class _NoScaling(NatureCNN):
    """Forgets the notes' normalisation step: uint8 frames enter as 0–255."""

    def forward(self, x):
        return self.head(self.features(x.float()))


class _StubNet(torch.nn.Module):
    def __init__(self, n_actions, in_channels=4):
        super().__init__()

    def forward(self, x):
        ...


# --- 12 · ablation, exercise q3: a buffer that keeps the order -----------------------------------------------
class _StubBuffer(ReplayBuffer):
    def sample(self, batch_size):
        ...


class _OldestFirst(ReplayBuffer):
    def sample(self, batch_size):
        return self.gather(np.arange(batch_size))


class _NoWrap(ReplayBuffer):  # right until the ring wraps around
    def sample(self, batch_size):
        return self.gather(np.arange(self.size - 1, self.size - 1 - batch_size, -1))


# (notebook, exercise, the name it asks for, the course's reference, points, a stub)
EXERCISES = [
    ("14_dqn_pixels", "q3", "PixelQNet", NatureCNN, 3, _StubNet),
    ("12_dqn_ablation", "q3", "ConsecutiveBuffer", ConsecutiveBuffer, 2, _StubBuffer),
]
# (notebook, exercise, the name it asks for, a wrong answer, the check that must name it)
WRONG = [
    ("14_dqn_pixels", "q3", "PixelQNet", _NoScaling, "with NatureCNN's weights loaded, its Q-values on uint8 frames"),
    ("14_dqn_pixels", "q3", "PixelQNet", _OneSequential,
     "the same weight names and shapes as NatureCNN (features.0.weight, …, head.2.bias)"),
    ("12_dqn_ablation", "q3", "ConsecutiveBuffer", _OldestFirst, "5 added to 8 slots: sample(3) gives t = 4, 3, 2"),
    ("12_dqn_ablation", "q3", "ConsecutiveBuffer", _NoWrap,
     "wrapped around: 5 added to 3 slots (they hold 3, 4, 2): sample(3) gives 4, 3, 2"),
]


@pytest.mark.parametrize(("notebook", "qid", "name", "reference", "points", "stub"), EXERCISES)
def test_the_reference_gets_full_marks_and_a_stub_is_not_answered(notebook, qid, name, reference, points, stub):
    quiz = grade_check_cell(notebook, qid, **{name: reference})
    assert quiz.status == "ok" and quiz.earned == quiz.points == points, quiz.report()
    assert grade_check_cell(notebook, qid, **{name: stub}).status == "not answered"


@pytest.mark.parametrize(("notebook", "qid", "name", "answer", "failing"), WRONG)
def test_a_wrong_answer_fails_the_check_that_names_its_mistake(notebook, qid, name, answer, failing):
    quiz = grade_check_cell(notebook, qid, **{name: answer})
    assert failing in failed_checks(quiz) and quiz.earned < quiz.points, quiz.report()
