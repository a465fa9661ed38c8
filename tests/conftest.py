"""Shared helpers: small scenarios built from the real configs."""

from __future__ import annotations

import pytest

from collectsim import Scenario, load_scenario


def small(*overrides: str, n: int = 2000) -> Scenario:
    """The default scenario with ``n`` accounts and collectors scaled to one per 1,000."""
    base = [f"portfolio.n_accounts={n}", f"collectors.size={max(1, n // 1000)}"]
    return load_scenario([*base, *overrides])


@pytest.fixture
def tiny() -> Scenario:
    return small(n=300)
