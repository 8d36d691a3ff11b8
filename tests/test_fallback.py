"""helpers.fallback: the student's function when it passes the visible checks, else the reference, said aloud."""

from __future__ import annotations

import pytest

from helpers.fallback import yours_or_reference


def reference(x):
    return 2 * x


CHECKS = [("doubles 3", lambda f: f(3) == 6)]


def test_a_correct_answer_is_used(capsys):
    def double(x):
        return x + x

    assert yours_or_reference("double", reference, checks=CHECKS, namespace={"double": double}) is double
    assert "using your `double`" in capsys.readouterr().out


@pytest.mark.parametrize("value, says", [
    (None, "not defined yet"), (..., "not defined yet"), ("missing", "not defined yet"),
    (lambda x: None, "still returns None"), (lambda x: 3 * x, "fix: doubles 3"),
    (lambda x: 1 / 0, "fix: doubles 3 raised ZeroDivisionError: division by zero"), (42, "should be a function"),
])  # fmt: skip
def test_anything_else_falls_back_with_the_reason(value, says, capsys):
    ns = {} if value == "missing" else {"double": value}
    assert yours_or_reference("double", reference, checks=CHECKS, namespace=ns) is reference
    out = capsys.readouterr().out
    assert "using the reference implementation of `double`" in out and says in out


def test_looks_in_the_callers_globals(capsys):
    global triple_for_test

    def triple_for_test(x):
        return 3 * x

    assert yours_or_reference("triple_for_test", reference) is triple_for_test
    with pytest.raises(ValueError, match="function name"):
        yours_or_reference("not a name", reference)
