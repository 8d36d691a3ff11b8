"""helpers.fallback: the student's function when it passes the visible checks, else the reference, said aloud."""

from __future__ import annotations

import numpy as np
import pytest
import torch

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


def test_a_function_that_returns_none_by_design_gets_the_failed_check_named(capsys):
    def update(target):  # changes `target` in place, wrongly
        target.append(0)

    checks = [("appends 1", lambda f: (f(box := []), box)[1] == [1])]
    assert yours_or_reference("update", reference, checks=checks, returns_none=True, namespace={"update": update}) is reference
    assert "fix: appends 1" in capsys.readouterr().out


def test_looks_in_the_callers_globals(capsys):
    global triple_for_test

    def triple_for_test(x):
        return 3 * x

    assert yours_or_reference("triple_for_test", reference) is triple_for_test
    with pytest.raises(ValueError, match="function name"):
        yours_or_reference("not a name", reference)


def test_train_with_fallback_swaps_each_failing_piece_and_says_why(capsys):
    from helpers.fallback import train_with_fallback

    def reference(x):
        return x

    def crashing(x):
        raise IndexError("index 5 is out of bounds")

    runs = []

    def train(p):
        runs.append(dict(p))
        return p["f"](1.0) + p["g"](2.0)

    pieces = {"f": lambda x: float("nan"), "g": crashing}
    assert train_with_fallback(train, pieces, {"f": reference, "g": reference}) == 3.0
    out = capsys.readouterr().out
    assert "your `f` failed during training: it returned a non-finite number" in out
    assert "your `g` failed during training: IndexError: index 5 is out of bounds" in out
    assert len(runs) == 3 and pieces == {"f": reference, "g": reference}  # updated in place
    # a piece that already is the reference is not wrapped; nothing is printed when all goes well
    assert train_with_fallback(lambda p: p["f"], {"f": reference}, {"f": reference}) is reference
    assert capsys.readouterr().out == ""


def test_train_with_fallback_keeps_the_name_of_the_inner_piece_and_the_lessons_own_errors(capsys):
    import numpy as np
    import torch

    from helpers.fallback import train_with_fallback

    def reference(x):
        return x

    def outer(x, inner):  # a student's piece calling another student's piece
        return inner(x)

    pieces = {"outer": outer, "inner": lambda x: torch.tensor([np.inf])}
    train_with_fallback(lambda p: p["outer"](1.0, p["inner"]), pieces, {"outer": outer, "inner": reference})
    assert "your `inner` failed" in capsys.readouterr().out
    with pytest.raises(KeyError):
        train_with_fallback(lambda p: {}["lesson bug"], {"f": abs}, {"f": abs})
    with pytest.raises(ValueError, match="no reference"):
        train_with_fallback(lambda p: None, {"h": reference}, {"f": reference})


def test_a_module_whose_forward_is_still_the_placeholder_is_not_answered(capsys):
    class Net(torch.nn.Module):
        def __init__(self, n):
            super().__init__()

        def forward(self, x):
            ...

    class Reference(torch.nn.Linear):
        def __init__(self, n):
            super().__init__(n, 1)

    chosen = yours_or_reference("Net", Reference, namespace={"Net": Net}, checks=[
        ("write `forward`", lambda N: N(3)(torch.zeros(2, 3)) is not None)])
    assert chosen is Reference
    out = capsys.readouterr().out
    assert "write yours in the exercise above" in out and "`Net.forward` still returns None" in out


def test_a_written_module_is_used_itself_not_the_watching_subclass(capsys):
    class Net(torch.nn.Linear):
        def __init__(self, n):
            super().__init__(n, 1)

    chosen = yours_or_reference("Net", torch.nn.Identity, namespace={"Net": Net}, checks=[
        ("one output", lambda N: N(3)(torch.zeros(2, 3)).shape == (2, 1))])
    assert chosen is Net and "✅ using your `Net`" in capsys.readouterr().out


def test_a_class_whose_named_method_is_still_the_placeholder_is_not_answered(capsys):
    from helpers.replay import ConsecutiveBuffer, ReplayBuffer

    class Mine(ReplayBuffer):
        def sample(self, batch_size):
            ...

    def newest_two(Buffer):
        buf = Buffer(4, (1,))
        for t in range(3):
            buf.add([t], 0, 0.0, [t + 1], False)
        return list(Buffer.sample(buf, 2).obs[:, 0]) == [2, 1]

    chosen = yours_or_reference("Mine", ConsecutiveBuffer, method="sample", namespace={"Mine": Mine},
                                checks=[("the newest two, newest first", newest_two)])
    assert chosen is ConsecutiveBuffer
    assert "`Mine.sample` still returns None" in capsys.readouterr().out

    class Written(ReplayBuffer):  # answered, but wrong: oldest first
        def sample(self, batch_size):
            return self.gather(np.arange(batch_size))

    chosen = yours_or_reference("Written", ConsecutiveBuffer, method="sample", namespace={"Written": Written},
                                checks=[("the newest two, newest first", newest_two)])
    out = capsys.readouterr().out
    assert chosen is ConsecutiveBuffer and "fix: the newest two, newest first\n" in out and "raised" not in out
    with pytest.raises(ValueError, match="method must be"):
        yours_or_reference("Written", ConsecutiveBuffer, method="sample()", namespace={"Written": Written})
