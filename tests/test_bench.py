"""bench/benchlib.py: the seed arguments every benchmark script shares."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from benchlib import ROOT, parse_seed_args, seed_arguments, seed_range  # noqa: E402


def test_defaults_and_range():
    args = parse_seed_args(seed_arguments("Title line.\n\nMore.", seeds=10, timeout=900), [])
    assert (args.seeds, args.first_seed, args.timeout) == (10, 0, 900)
    assert list(seed_range(args)) == list(range(10))
    args = parse_seed_args(seed_arguments(None, seeds=10, timeout=900), ["--seeds", "3", "--first-seed", "10"])
    assert list(seed_range(args)) == [10, 11, 12]
    no_first = parse_seed_args(seed_arguments(None, seeds=3, timeout=60, first_seed=False), ["--seeds", "2"])
    assert list(seed_range(no_first)) == [0, 1]
    assert (ROOT / "solutions").is_dir()


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--seeds", "0"], "--seeds must be at least 1"), (["--first-seed", "-1"], "--first-seed must be non-negative"),
     (["--timeout", "0"], "--timeout must be positive")],
)  # fmt: skip
def test_impossible_ranges_are_explained(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse_seed_args(seed_arguments(None, seeds=3, timeout=60), argv)
    assert message in capsys.readouterr().err


def test_seed_parameters_and_the_budget_argument():
    from benchlib import add_budget_argument, seed_parameters

    parser = seed_arguments(None, seeds=3, timeout=60, first_seed=False)
    add_budget_argument(parser)
    assert seed_parameters(parse_seed_args(parser, [])) == {"SEEDS": [0, 1, 2]}
    args = parse_seed_args(parser, ["--seeds", "2", "--total-steps", "500"])
    assert seed_parameters(args) == {"SEEDS": [0, 1], "TOTAL_STEPS": 500}
