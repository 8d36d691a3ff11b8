"""Train the student's own code, or fall back to the reference so that "Run All" always finishes.

After an exercise, the lesson goes on with whatever the student wrote::

    from helpers.fallback import yours_or_reference
    from helpers.mdp import policy_evaluation as reference_policy_evaluation

    evaluate_policy = yours_or_reference(
        "my_policy_evaluation", reference_policy_evaluation,
        checks=[("uniform policy on the 3×4 world", lambda f: np.allclose(f(mdp, pi)[0], v_exact, atol=1e-6))],
    )

If the name is undefined or still the placeholder (``None``, ``...``, a function returning ``None``),
or a check fails or raises, the cell prints a visible note ("using the reference implementation —
write yours above (or fix: …)") and returns the reference; otherwise it prints that the student's
function is used and returns it. The checks here are the exercise's *visible* requirements, so a
function that passes them is trusted to train; grading (hidden tests) happens in the check cell.

A function can pass its checks and still fail inside a real training run (an exception on a shape
the checks never tried, a ``nan``). :func:`train_with_fallback` runs training with the student's
pieces and, when one of them raises or returns a non-finite number, says so and trains again with
that piece's reference, so the lesson always ends with a trained agent::

    model, history = train_with_fallback(lambda p: train_a2c(SEED, p), pieces, references)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["yours_or_reference", "train_with_fallback", "StudentCodeFailed"]

_STUBS = (None, Ellipsis)


def yours_or_reference(name: str, reference: Callable[..., Any], *,
                       checks: Sequence[tuple[str, Callable[[Callable[..., Any]], Any]]] = (),
                       returns_none: bool = False,
                       method: str | None = None,
                       namespace: dict[str, Any] | None = None) -> Callable[..., Any]:
    """The student's function called ``name`` if it is written and passes ``checks``, else ``reference``.

    Parameters
    ----------
    name:
        The name the exercise asked for (looked up in the calling cell's globals).
    reference:
        The course's implementation, used when the student's is missing or fails a check.
    checks:
        ``(description, test)`` pairs; ``test(f)`` returns a truthy value when ``f`` does what the
        exercise asks (an exception or a falsy value fails it, and the description is shown).
    returns_none:
        True for a function that returns ``None`` by design (it changes its arguments in place): a
        failed check is then reported as such, not as "still returns None" (the placeholder's sign).
    method:
        For an exercise that is a class: the method the student writes (``"sample"``), whose ``None``
        is the placeholder's sign. An ``nn.Module``'s is ``"forward"`` unless named.
    namespace:
        Where to look ``name`` up; defaults to the calling cell's globals.

    Returns
    -------
    The function the rest of the lesson should call. A one-line note says which one it is.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be the exercise's function name, like 'td_target', got {name!r}")
    if not callable(reference):
        raise TypeError(f"reference must be a function, got {type(reference).__name__}")
    if method is not None and not (isinstance(method, str) and method.isidentifier()):
        raise ValueError(f"method must be the name of the method the exercise asks for, like 'sample', got {method!r}")
    ns = namespace if namespace is not None else sys._getframe(1).f_globals
    yours = ns.get(name)
    problem = _problem(yours, name, checks, returns_none, method)
    if problem is None:
        print(f"✅ using your `{name}`")
        return yours
    print(f"ℹ️ using the reference implementation of `{name}` — {problem}")
    return reference


def _problem(yours: Any, name: str, checks: Sequence[tuple[str, Callable[[Callable[..., Any]], Any]]],
             returns_none: bool = False, method: str | None = None) -> str | None:
    if yours in _STUBS:
        return f"write yours in the exercise above and run this cell again (`{name}` is not defined yet)"
    if not callable(yours):
        return f"`{name}` should be a function, but it is a {type(yours).__name__}"
    returned_none: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:  # notices the placeholder's `return None`
        result = yours(*args, **kwargs)
        returned_none.append(result is None)
        return result

    placeholder = f"`{name}` still returns None"
    if isinstance(yours, type) and method is None and issubclass(yours, torch.nn.Module):
        method = "forward"  # a module: its forward is the answer
    if isinstance(yours, type) and method is not None:
        spy, placeholder = _watch_method(yours, method, returned_none), f"`{name}.{method}` still returns None"

    for description, test in checks:
        try:
            ok = test(spy)
            error = None
        except Exception as exc:  # the student's code crashed: say how
            ok, text = False, str(exc).strip().splitlines()
            error = f"{type(exc).__name__}{': ' + text[0] if text else ''}"
        if not ok and not returns_none and returned_none and all(returned_none):
            return f"write yours in the exercise above and run this cell again ({placeholder})"
        if error is not None:
            return f"fix: {description} raised {error}"
        if not ok:
            return f"fix: {description}"
    return None


def _watch_method(cls: type, method: str, returned_none: list[bool]) -> type:
    """A subclass of the student's class that records whether ``method`` returned ``None``."""
    original = getattr(cls, method)

    def watched(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        returned_none.append(result is None)
        return result

    return type(cls.__name__, (cls,), {method: watched, "__qualname__": cls.__qualname__, "__module__": cls.__module__})


class StudentCodeFailed(Exception):
    """One of the student's functions raised, or returned nan/inf, while an agent was training."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"`{name}`: {reason}")
        self.name, self.reason = name, reason


def train_with_fallback(train: Callable[[dict[str, Callable[..., Any]]], Any],
                        pieces: MutableMapping[str, Callable[..., Any]],
                        references: Mapping[str, Callable[..., Any]]) -> Any:
    """Run ``train(pieces)``; if one of the student's pieces fails inside it, say so and train again with
    that piece's reference (the other pieces stay the student's).

    Parameters
    ----------
    train : callable
        Trains from scratch (fresh network, reseeded) with the functions in the dict it receives, and
        returns whatever the lesson needs.
    pieces : dict
        Exercise name -> the function :func:`yours_or_reference` chose. Updated in place when a piece is
        replaced, so later cells go on with the set that worked.
    references : mapping
        Exercise name -> the course's reference.

    Returns
    -------
    Whatever ``train`` returns. Errors of the lesson's own code (not of a student's piece) pass through.
    """
    unknown = set(pieces) - set(references)
    if unknown:
        raise ValueError(f"no reference for {sorted(unknown)}: give a reference for every piece")
    while True:
        guarded = {name: fn if fn is references[name] else _guard(name, fn) for name, fn in pieces.items()}
        try:
            return train(guarded)
        except StudentCodeFailed as failure:
            print(f"⚠️ your `{failure.name}` failed during training: {failure.reason} — continuing with the reference")
            pieces[failure.name] = references[failure.name]


def _non_finite(value: Any) -> bool:
    if isinstance(value, (tuple, list)):
        return any(_non_finite(v) for v in value)
    if isinstance(value, torch.Tensor):
        return bool(value.is_floating_point() and not torch.isfinite(value.detach()).all())
    if isinstance(value, np.ndarray):
        return bool(np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all())
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(float(value))
    return False


def _guard(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except StudentCodeFailed:  # raised by a piece this one calls: keep its name
            raise
        except Exception as exc:
            text = str(exc).strip().splitlines()
            raise StudentCodeFailed(name, f"{type(exc).__name__}{': ' + text[0] if text else ''}") from exc
        if _non_finite(result):
            raise StudentCodeFailed(name, "it returned a non-finite number (nan or inf)")
        return result

    return guarded
