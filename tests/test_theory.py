"""The model against theory: each theoretical value lies inside the 95% confidence
interval computed from replications (see docs/validation.md for the figures)."""

from __future__ import annotations

import pytest

from collectsim import load_scenario
from collectsim.checks import all_checks
from collectsim.theory import erlang_c

_CACHE: dict[int, list] = {}


def checks(scale: int) -> list:
    if scale not in _CACHE:
        _CACHE[scale] = all_checks(load_scenario, scale=scale)
    return _CACHE[scale]


def test_erlang_c_known_value() -> None:
    # Two servers, load 0.5 per server: P(wait) = 1/3, mean wait = P(wait)/(c*mu - lambda).
    p, w = erlang_c(1.0, 1.0, 2)
    assert p == pytest.approx(1 / 3) and w == pytest.approx(1 / 3)


@pytest.mark.parametrize("k", range(17))
def test_theory_check_holds(k: int) -> None:
    c = checks(1)[k]
    lo, hi = c.ci
    assert lo <= c.theory <= hi, c.row()


@pytest.mark.slow
@pytest.mark.parametrize("k", range(17))
def test_theory_check_holds_at_scale(k: int) -> None:
    c = checks(4)[k]
    lo, hi = c.ci
    assert lo <= c.theory <= hi, c.row()
