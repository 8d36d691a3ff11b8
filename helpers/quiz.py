"""Graded exercises with instant feedback, and ungraded self-check questions.

A graded exercise's check cell (tagged ``quiz:<id>`` and ``points:<n>``) looks like::

    from helpers.quiz import Quiz

    with Quiz("q1", points=2) as quiz:
        f = quiz.answer("discounted_return")              # missing or None -> "not answered yet"
        quiz.require(lambda: f([1.0], 0.9) is not None)   # a stub returning None -> "not answered yet"
        quiz.check("three rewards", lambda: abs(f([1, 1, 1], 0.5) - 1.75) < 1e-9, hint="G = r0 + γ G1")

Nothing inside the ``with`` block ever escapes it: a wrong answer, a crash in the student's code or a
missing name is reported as ❌ or "not answered yet", so "Run All" on a fresh lecture completes.

When the block ends the cell shows a short report and publishes a machine-readable result
(MIME type :data:`RESULT_MIME`: the score and every check's name, pass/fail and message) that
``workbook grade`` reads from the check cell's own output. In a lecture the report says how many
*visible* checks ran: the grader puts the hidden tests back, so a ✅ there is not the final grade.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Quiz", "NotAnswered", "self_check", "RESULT_MIME"]

#: MIME type of the result a check cell publishes; the grader reads only this.
RESULT_MIME = "application/vnd.deepq.quiz+json"

_STUBS = (None, Ellipsis)

#: Set by ``workbook grade`` in the graded kernel (hidden tests included): the report then reads as final.
GRADER_RUN = False


class NotAnswered(Exception):
    """Raised inside a :class:`Quiz` block when the student has not answered yet."""


@dataclass
class _Result:
    name: str
    passed: bool
    weight: float
    message: str = ""
    hint: str = ""
    fraction: float | None = None  # partial credit, for quiz.score()


@dataclass
class Quiz:
    """Collects the checks of one graded exercise and reports them.

    Parameters
    ----------
    qid:
        The exercise id, ``"q1"``, ``"q2"``, … as printed in the exercise's heading.
    points:
        Points the exercise is worth; the score is ``points`` × the weighted share of checks passed.
    namespace:
        Where :meth:`answer` looks up the student's names; defaults to the calling cell's globals.
    """

    qid: str
    points: float
    namespace: dict[str, Any] | None = None
    results: list[_Result] = field(default_factory=list)
    status: str = "ok"
    error: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.qid, str) or not self.qid:
            raise ValueError(f"Quiz id must be a non-empty string like 'q1', got {self.qid!r}")
        if not isinstance(self.points, (int, float)) or self.points <= 0:
            raise ValueError(f"Quiz points must be a positive number, got {self.points!r}")
        if self.namespace is None:
            self.namespace = sys._getframe(2).f_globals  # the cell that wrote `Quiz(...)`

    # -- the student's answer -------------------------------------------------------------
    def answer(self, name: str) -> Any:
        """Return the student's value called ``name``; a missing name or ``None`` means unanswered."""
        if name not in self.namespace or self.namespace[name] in _STUBS:
            raise NotAnswered(f"`{name}` is not defined yet: run the answer cell above after filling it in")
        return self.namespace[name]

    def require(self, condition: Callable[[], Any], message: str = "") -> None:
        """Treat the exercise as unanswered unless ``condition()`` is true (a stub returns ``None``)."""
        try:
            ok = bool(condition())
        except NotImplementedError:
            ok = False
        except NotAnswered:
            raise
        except Exception as exc:  # the student's code crashed: that is an answer, and a wrong one
            self.results.append(_Result("your code runs", False, 1.0, _describe(exc)))
            return
        if not ok:
            raise NotAnswered(message or "the answer cell still holds the placeholder")

    # -- checks -----------------------------------------------------------------------------
    def check(self, name: str, test: Callable[[], Any], *, hint: str = "", weight: float = 1.0) -> bool:
        """Run one check. ``test()`` returns a truthy value to pass, or raises ``AssertionError``."""
        try:
            value = test()
            passed = bool(value) and value is not Ellipsis
            message = ""
        except NotAnswered:
            raise
        except AssertionError as exc:
            passed, message = False, str(exc)
        except Exception as exc:
            passed, message = False, _describe(exc)
        self.results.append(_Result(name, passed, float(weight), message, hint))
        return passed

    def score(self, fraction: float, message: str = "", *, name: str = "score", weight: float = 1.0) -> None:
        """Give partial credit: ``fraction`` in [0, 1] of this check's weight."""
        fraction = float(fraction)
        if math.isnan(fraction):
            fraction = 0.0
        fraction = min(max(fraction, 0.0), 1.0)
        self.results.append(_Result(name, fraction >= 1.0, float(weight), message, fraction=fraction))

    # -- scoring and report -----------------------------------------------------------------
    @property
    def earned(self) -> float:
        """Points earned so far (0 while unanswered)."""
        if self.status != "ok" or not self.results:
            return 0.0
        total = sum(r.weight for r in self.results)
        got = sum(r.weight * (r.fraction if r.fraction is not None else float(r.passed)) for r in self.results)
        return round(self.points * got / total, 2) if total > 0 else 0.0

    def __enter__(self) -> Quiz:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            if issubclass(exc_type, NotAnswered):
                self.status = "not answered"
                self.error = str(exc)
            elif issubclass(exc_type, (KeyboardInterrupt, SystemExit)):
                return False
            else:
                self.results.append(_Result("your code runs", False, 1.0, _describe(exc)))
        self._publish()
        return True  # never let the check cell raise

    def report(self) -> str:
        """The human-readable report shown under the check cell."""
        head = f"{self.qid.upper()} ({_fmt(self.points)} point{'s' if self.points != 1 else ''})"
        if self.status == "not answered":
            return f"⏳ {head}: not answered yet. {self.error}".rstrip()
        n = len(self.results)
        scope = (f" ({n} check{'s' if n != 1 else ''})" if GRADER_RUN else
                 f" on the {n} check{'s' if n != 1 else ''} in this cell — your instructor's hidden tests may find more")
        lines = [f"{'✅' if self.earned >= self.points else '❌'} {head}: "
                 f"{_fmt(self.earned)} / {_fmt(self.points)}{scope}"]
        for r in self.results:
            mark = "✅" if r.passed else ("🟡" if r.fraction else "❌")
            line = f"  {mark} {r.name}"
            if r.fraction is not None and not r.passed:
                line += f" ({r.fraction:.0%})"
            if r.message:
                line += f": {r.message}"
            if not r.passed and r.hint:
                line += f"\n     hint: {r.hint}"
            lines.append(line)
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable result, as published for the grader."""
        return {
            "id": self.qid,
            "points": self.points,
            "score": self.earned,
            "status": self.status,
            "passed": sum(r.passed for r in self.results),
            "checks": len(self.results),
            "error": self.error,  # why it counts as not answered
            "results": [{"name": r.name, "passed": r.passed, "message": r.message, "hint": r.hint,
                         "fraction": r.fraction} for r in self.results],
        }

    def _publish(self) -> None:
        text = self.report()
        try:
            from IPython import get_ipython
            from IPython.core.display_functions import display

            if get_ipython() is not None:
                display({"text/plain": text, RESULT_MIME: self.as_dict()}, raw=True)
                return
        except ImportError:  # pragma: no cover - IPython is a dependency of the course
            pass
        print(text)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _fmt(x: float) -> str:
    return f"{x:g}"


# -------------------------------------------------------------------------------------------
# Self-check questions (ungraded)
# -------------------------------------------------------------------------------------------
def self_check(question: str, options: Sequence[str], answer: int, explain: str = "") -> None:
    """Show a multiple-choice concept check with instant feedback (ungraded).

    Parameters
    ----------
    question:
        The question, plain text (Korean terms welcome).
    options:
        The choices, in display order.
    answer:
        Index of the correct choice in ``options``.
    explain:
        Why the answer is right, shown once the student picks it or presses "Reveal answer".

    In Jupyter it displays ipywidgets radio buttons, a Check button and a Reveal answer button; a wrong
    pick says "try again" without giving the answer away. Outside a notebook it prints the question.
    """
    options = list(options)
    if len(options) < 2:
        raise ValueError("self_check needs at least two options")
    if not isinstance(answer, int) or not 0 <= answer < len(options):
        raise ValueError(f"answer must be the index of the right option (0..{len(options) - 1}), got {answer!r}")
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        print(_plain_question(question, options))
        return None
    display(_self_check_widget(question, options, answer, explain))
    return None


def _self_check_widget(question: str, options: list[str], answer: int, explain: str) -> Any:
    """Build (not display) the self-check widget; see :func:`self_check`."""
    import ipywidgets as widgets

    labels = [f"{chr(65 + i)}. {opt}" for i, opt in enumerate(options)]
    choice = widgets.RadioButtons(options=labels, value=None, layout=widgets.Layout(width="max-content"))
    check = widgets.Button(description="Check", button_style="primary")
    reveal = widgets.Button(description="Reveal answer")
    feedback = widgets.HTML()

    def on_check(_: Any) -> None:
        if choice.value is None:
            feedback.value = "<b>Pick an option first.</b>"
        elif labels.index(choice.value) == answer:
            feedback.value = f"<b>✅ Right.</b> {explain}"
        else:
            feedback.value = "<b>❌ Not quite — try again</b> (or press <i>Reveal answer</i>)."

    def on_reveal(_: Any) -> None:
        feedback.value = f"<b>The answer is {labels[answer]}.</b> {explain}"

    check.on_click(on_check)
    reveal.on_click(on_reveal)
    buttons = widgets.HBox([check, reveal])
    return widgets.VBox([widgets.HTML(f"<b>Self-check.</b> {question}"), choice, buttons, feedback])


def _plain_question(question: str, options: list[str]) -> str:
    lines = [f"Self-check: {question}"] + [f"  {chr(65 + i)}. {o}" for i, o in enumerate(options)]
    return "\n".join(lines)
