"""helpers.quiz: scoring, "not answered yet", never raising, self-checks."""

from __future__ import annotations

import pytest

from helpers.quiz import Quiz, self_check


def run_quiz(namespace, body, points=2):
    with Quiz("q1", points=points, namespace=namespace) as quiz:
        body(quiz)
    return quiz


def test_full_marks_when_every_check_passes():
    q = run_quiz({"f": lambda x: 2 * x}, lambda quiz: (
        quiz.check("doubles", lambda: quiz.answer("f")(2) == 4),
        quiz.check("zero", lambda: quiz.answer("f")(0) == 0)))
    assert q.status == "ok" and q.earned == 2
    assert q.as_dict()["score"] == 2 and "2 / 2" in q.report()


def test_partial_marks_are_proportional_to_weights():
    q = run_quiz({}, lambda quiz: (quiz.check("a", lambda: True, weight=3), quiz.check("b", lambda: False)))
    assert q.earned == pytest.approx(1.5)
    assert "❌ b" in q.report()


@pytest.mark.parametrize("namespace", [{}, {"answer": None}, {"answer": ...}])
def test_missing_or_placeholder_answer_is_not_answered(namespace):
    q = run_quiz(namespace, lambda quiz: quiz.check("x", lambda: quiz.answer("answer") == 1))
    assert q.status == "not answered" and q.earned == 0
    assert "not answered yet" in q.report()


def test_stub_function_returning_none_is_not_answered():
    def stub(x):
        ...

    q = run_quiz({"f": stub}, lambda quiz: quiz.require(lambda: quiz.answer("f")(1) is not None))
    assert q.status == "not answered"


def test_student_code_that_raises_is_a_failed_check_not_a_crash():
    def broken(x):
        raise ZeroDivisionError("boom")

    q = run_quiz({"f": broken}, lambda quiz: quiz.check("runs", lambda: quiz.answer("f")(1) == 1, hint="look"))
    assert q.earned == 0 and q.status == "ok"
    assert "ZeroDivisionError: boom" in q.report() and "hint: look" in q.report()


def test_an_exception_outside_checks_is_caught_too():
    q = run_quiz({}, lambda quiz: 1 / 0)
    assert q.earned == 0 and "ZeroDivisionError" in q.report()


def test_assertion_messages_are_reported():
    def body(quiz):
        def t():
            raise AssertionError("shape should be (1, 12)")
        quiz.check("shape", t)

    assert "shape should be (1, 12)" in run_quiz({}, body).report()


def test_score_gives_clamped_partial_credit():
    assert run_quiz({}, lambda quiz: quiz.score(0.5, "half the states"), points=4).earned == 2
    assert run_quiz({}, lambda quiz: quiz.score(1.7), points=4).earned == 4
    assert run_quiz({}, lambda quiz: quiz.score(float("nan")), points=4).earned == 0


def test_bad_quiz_definitions_are_rejected_clearly():
    with pytest.raises(ValueError, match="positive"):
        Quiz("q1", points=0, namespace={})
    with pytest.raises(ValueError, match="non-empty"):
        Quiz("", points=1, namespace={})


def test_namespace_defaults_to_the_callers_globals():
    quiz = Quiz("q1", points=1)
    assert quiz.namespace is globals()


def test_self_check_validates_and_prints_outside_jupyter(capsys):
    self_check("2 + 2?", ["3", "4"], answer=1, explain="arithmetic")
    assert "A. 3" in capsys.readouterr().out
    with pytest.raises(ValueError, match="index"):
        self_check("q", ["a", "b"], answer=2)
    with pytest.raises(ValueError, match="two options"):
        self_check("q", ["a"], answer=0)


def test_self_check_widget_gives_feedback():
    from helpers.quiz import _self_check_widget

    box = _self_check_widget("2 + 2?", ["3", "4"], 1, "arithmetic")
    _, choice, button, feedback = box.children
    button.click()
    assert "Pick an option" in feedback.value
    choice.value = choice.options[0]
    button.click()
    assert "Not quite" in feedback.value and "B" in feedback.value
    choice.value = choice.options[1]
    button.click()
    assert "Right" in feedback.value
