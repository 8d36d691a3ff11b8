"""Argument checks shared by the student-facing functions of :mod:`helpers`.

One concern: turn a wrong integer argument into an error that says what was wrong and what to do,
with the same wording in every module. Private to the package (students never call it).
"""

from __future__ import annotations

import operator
from typing import Any

__all__ = ["check_int"]


def check_int(
    value: Any, name: str, *, minimum: int | None = 1, maximum: int | None = None, hint: str = ""
) -> int:
    """Return ``value`` as a plain ``int`` after checking it is an integer in ``[minimum, maximum]``.

    Python, NumPy and torch integers (scalars or 0-d arrays) are accepted; ``True``/``False`` are not,
    although Python counts them as integers.

    Parameters
    ----------
    value : Any
        The argument to check.
    name : str
        Its name as the caller wrote it (``"batch_size"``, ``"DQNConfig.total_steps"``), for the message.
    minimum, maximum : int or None
        Inclusive bounds (``None``: unbounded on that side). The default asks for a positive integer.
    hint : str
        What to do instead, appended to the message (e.g. ``"e.g. 100"``).

    Returns
    -------
    int
        ``value`` as a Python ``int``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (a float, a string, ``None``, a bool, an array of several numbers).
    ValueError
        If ``value`` lies outside ``[minimum, maximum]``.

    Examples
    --------
    >>> check_int(64, "batch_size")
    64
    >>> check_int(0, "batch_size")
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive integer, got 0
    """
    wanted = _describe(minimum, maximum)
    suffix = f"; {hint}" if hint else ""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be {wanted}, got {value!r} of type {type(value).__name__}{suffix}") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be {wanted}, got {number!r}{suffix}")
    return number


def _describe(minimum: int | None, maximum: int | None) -> str:
    if maximum is not None:
        return f"an integer from {minimum} to {maximum}" if minimum is not None else f"an integer <= {maximum}"
    if minimum == 1:
        return "a positive integer"
    if minimum == 0:
        return "a non-negative integer"
    return f"an integer >= {minimum}" if minimum is not None else "an integer"
