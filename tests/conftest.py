"""Shared helpers: small scenarios built from the real configs, and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from collectsim import Scenario, load_scenario


def small(*overrides: str, n: int = 2000) -> Scenario:
    """The default scenario as a cohort of ``n`` accounts (all entering on day 0, so
    that exact and closed-form expectations hold) with one collector per 1,000."""
    base = [f"portfolio.n_accounts={n}", f"collectors.size={max(1, n // 1000)}", "portfolio.arrival=cohort"]
    return load_scenario([*base, *overrides])


@pytest.fixture
def tiny() -> Scenario:
    return small(n=300)


#: A short stream for tests of the plumbing (sweeps, files, reports, the command line):
#: 30 days of warm-up and of cool-down instead of 270 and 180, so a 300-account run
#: simulates about 300 days instead of 450. Tests of the model's numbers keep the defaults.
SHORT_STREAM = ["portfolio.warmup_days=30", "portfolio.cooldown_days=30"]

#: The installed ``collectsim`` console script next to this interpreter.
EXE = str(Path(sys.executable).with_name("collectsim"))


def collectsim(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """Run the ``collectsim`` command in ``cwd`` with extra environment variables."""
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env={**os.environ, **(env or {})}
    )
