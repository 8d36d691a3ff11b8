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


def widget(explain="because 2 + 2 = 4"):
    from helpers.quiz import _self_check_widget

    _, choice, buttons, feedback = _self_check_widget("2 + 2?", ["3", "4", "5"], 1, explain).children
    check, reveal = buttons.children
    return choice, check, reveal, feedback


def test_self_check_asks_for_a_pick_first():
    choice, check, _, feedback = widget()
    check.click()
    assert "Pick an option" in feedback.value


def test_a_wrong_pick_says_try_again_without_giving_the_answer_away():
    choice, check, _, feedback = widget()
    choice.value = choice.options[0]
    check.click()
    assert "try again" in feedback.value
    assert "B." not in feedback.value and "because" not in feedback.value


def test_the_student_can_try_again_and_then_sees_the_explanation():
    choice, check, _, feedback = widget()
    choice.value = choice.options[2]
    check.click()
    choice.value = choice.options[1]
    check.click()
    assert "Right" in feedback.value and "because 2 + 2 = 4" in feedback.value


def test_reveal_shows_the_answer_and_the_explanation():
    _, _, reveal, feedback = widget()
    reveal.click()
    assert "B. 4" in feedback.value and "because 2 + 2 = 4" in feedback.value


def test_the_report_says_hidden_tests_may_follow_and_the_grader_run_reads_as_final(monkeypatch):
    import helpers.quiz

    body = lambda quiz: (quiz.check("a", lambda: True), quiz.check("b", lambda: True))  # noqa: E731
    lecture = run_quiz({}, body).report()
    assert "2 / 2 on the 2 checks in this cell" in lecture and "hidden tests may find more" in lecture
    monkeypatch.setattr(helpers.quiz, "GRADER_RUN", True)
    graded = run_quiz({}, body).report()
    assert "2 / 2 (2 checks)" in graded and "hidden" not in graded


def test_the_published_result_names_every_check():
    q = run_quiz({}, lambda quiz: (quiz.check("a", lambda: True),
                                   quiz.check("b", lambda: False, hint="look again"),
                                   quiz.score(0.5, "half", name="c")))
    res = q.as_dict()
    assert [(r["name"], r["passed"]) for r in res["results"]] == [("a", True), ("b", False), ("c", False)]
    assert res["results"][1]["hint"] == "look again" and res["results"][2]["fraction"] == 0.5
    assert run_quiz({}, lambda quiz: quiz.answer("missing")).as_dict()["error"].startswith("`missing`")
