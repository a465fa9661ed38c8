"""Directional checks, the model not fixing the winner, and the default calibration.

Comparisons are paired over replications on the same seeds (common random numbers)
and asserted through the 95% confidence interval of the paired difference.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import small
from tests.stats import ci

from collectsim.api import kpi_table, run_replications
from collectsim.metrics import COST_KPIS

R = 5


def paired(a: str, b: str, kpi: str, *overrides: str, n: int = 3000) -> tuple[float, float]:
    """CI of kpi(a) - kpi(b) over R paired replications."""
    ka = kpi_table(run_replications(small(f"policy={a}", *overrides, n=n), R))[kpi]
    kb = kpi_table(run_replications(small(f"policy={b}", *overrides, n=n), R))[kpi]
    return ci(ka - kb)


def test_more_collectors_shorter_backlog() -> None:
    few = kpi_table(run_replications(small("collectors.size=1", n=3000), 3))
    many = kpi_table(run_replications(small("collectors.size=6", n=3000), 3))
    assert np.all(many["backlog_mean"] < few["backlog_mean"])
    assert np.all(many["collector_utilisation"] < few["collector_utilisation"])


def test_do_nothing_costs_only_reminders() -> None:
    (res,) = run_replications(small("policy=do_nothing", n=2000), 1)
    k = res.kpis
    assert k["cost_sms"] > 0
    assert k["attempts_total"] == 0
    # No calls, so the collector team is never on duty; the only other cost is the
    # expected regulatory cost of complaints about the reminders themselves.
    others = [c for c in COST_KPIS if c not in ("cost_sms", "cost_regulatory")]
    assert all(k[c] == 0 for c in others), {c: k[c] for c in others}
    assert k["cost_total"] == pytest.approx(k["cost_sms"] + k["cost_regulatory"], rel=1e-12)


@pytest.mark.parametrize("kpi", ["stress_peak_p95", "complaints_per_1000", "distress_day_share"])
def test_early_escalation_stresses_more_than_soft_first(kpi: str) -> None:
    low, _ = paired("early_escalation", "soft_first", kpi)
    assert low > 0


def test_strategic_borrowers_favour_early_escalation() -> None:
    low, _ = paired("early_escalation", "soft_first", "recovery_rate", "portfolio=strategic", n=4000)
    assert low > 0


def test_hardship_borrowers_favour_soft_first() -> None:
    low, _ = paired("soft_first", "early_escalation", "recovery_rate", "portfolio=hardship", n=4000)
    assert low > 0


def test_default_calibration_under_staged() -> None:
    k = kpi_table(run_replications(small("policy=staged", n=20000), 4))
    lo, hi = ci(k["cured_30d_rate"])
    assert lo >= 0.75 and hi <= 0.85, (lo, hi)  # about 80% cured within 30 days past due
    lo, hi = ci(k["roll_m1_m2"])
    assert lo >= 0.15 and hi <= 0.25, (lo, hi)
