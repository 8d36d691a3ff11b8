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
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["yours_or_reference"]

_STUBS = (None, Ellipsis)


def yours_or_reference(name: str, reference: Callable[..., Any], *,
                       checks: Sequence[tuple[str, Callable[[Callable[..., Any]], Any]]] = (),
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
    ns = namespace if namespace is not None else sys._getframe(1).f_globals
    yours = ns.get(name)
    problem = _problem(yours, name, checks)
    if problem is None:
        print(f"✅ using your `{name}`")
        return yours
    print(f"ℹ️ using the reference implementation of `{name}` — {problem}")
    return reference


def _problem(yours: Any, name: str, checks: Sequence[tuple[str, Callable[[Callable[..., Any]], Any]]]) -> str | None:
    if yours in _STUBS:
        return f"write yours in the exercise above and run this cell again (`{name}` is not defined yet)"
    if not callable(yours):
        return f"`{name}` should be a function, but it is a {type(yours).__name__}"
    returned_none: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:  # notices the placeholder's `return None`
        result = yours(*args, **kwargs)
        returned_none.append(result is None)
        return result

    for description, test in checks:
        try:
            ok = test(spy)
            error = None
        except Exception as exc:  # the student's code crashed: say how
            ok, text = False, str(exc).strip().splitlines()
            error = f"{type(exc).__name__}{': ' + text[0] if text else ''}"
        if not ok and returned_none and all(returned_none):
            return f"write yours in the exercise above and run this cell again (`{name}` still returns None)"
        if error is not None:
            return f"fix: {description} raised {error}"
        if not ok:
            return f"fix: {description}"
    return None
