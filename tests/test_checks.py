"""helpers._checks.check_int: one wording for every integer argument of the student library."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers._checks import check_int


@pytest.mark.parametrize("value", [3, np.int64(3), np.array(3), torch.tensor(3)])
def test_integers_of_every_kind_pass_as_int(value):
    out = check_int(value, "n")
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [2.5, 3.0, "3", None, True, np.array([1, 2]), np.float32(3)])
def test_non_integers_are_a_type_error_naming_the_type(value):
    with pytest.raises(TypeError, match=rf"n must be a positive integer, got .* of type {type(value).__name__}"):
        check_int(value, "n")


@pytest.mark.parametrize(
    "kwargs, value, wanted",
    [
        ({}, 0, "a positive integer"),
        ({"minimum": 0}, -1, "a non-negative integer"),
        ({"minimum": 16}, 4, "an integer >= 16"),
        ({"minimum": 0, "maximum": 3}, 4, "an integer from 0 to 3"),
        ({"minimum": None, "maximum": 3}, 4, "an integer <= 3"),
    ],
)
def test_out_of_range_is_a_value_error_saying_what_is_wanted(kwargs, value, wanted):
    with pytest.raises(ValueError, match=rf"^n must be {wanted}, got {value}$"):
        check_int(value, "n", **kwargs)
    assert check_int(value, "n", minimum=None) == value  # unbounded: anything goes


def test_the_hint_says_what_to_do():
    with pytest.raises(ValueError, match=r"^batch_size must be a positive integer, got 0; e\.g\. 64$"):
        check_int(0, "batch_size", hint="e.g. 64")
