"""Time in the KPIs: collections discounted to entry at the cost of funds
(``collected_pv``, ``recovery_rate_pv``, ``net_recovery_pv``) and the shares of what was
owed collected within 30, 60 and 90 days of entry."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pytest
from tests.conftest import small

from collectsim import ConfigError
from collectsim.compliance import RULES
from collectsim.engine import run
from collectsim.metrics import DIRECTIONS, account_kpis
from collectsim.portfolio import Portfolio
from collectsim.state import AccountState

TIME_KPIS = (
    "collected_pv",
    "recovery_rate_pv",
    "net_recovery_pv",
    "collected_30d_share",
    "collected_60d_share",
    "collected_90d_share",
)


def _portfolio(entry: list[float], principal: list[float]) -> Portfolio:
    n = len(entry)
    e = np.asarray(entry, dtype=float)
    half = np.full(n, 0.5)
    return Portfolio(
        entry_time=e,
        principal=np.asarray(principal, dtype=float),
        daily_rate=np.zeros(n),
        ability=half,
        willingness=half,
        contactability=half,
        sensitivity=np.ones(n),
        hardship_end=e.copy(),
        score=np.zeros(n),
        segment=np.zeros(n, dtype=np.int16),
        measured=np.ones(n, dtype=bool),
        segment_names=["all"],
        hardship_ability_factor=0.2,
    )


def _state(pf: Portfolio, rate: float) -> AccountState:
    st = AccountState(pf, half_life_days=7.0, n_actions=4)
    st.cost_of_funds_annual = rate
    return st


@dataclass
class _NoRules:
    enforce: bool
    by_account: np.ndarray


def _kpis(pf: Portfolio, st: AccountState) -> dict[str, float]:
    sc = small(n=300)
    zero = np.zeros(pf.n)
    return account_kpis(
        sc,
        pf,
        st,
        _NoRules(True, np.zeros((len(RULES), pf.n))),
        np.ones(pf.n, dtype=bool),
        {"collectors": zero, "training": zero},
    )


# --------------------------------------------------------------------------- by hand
def test_present_value_of_a_payment_discounts_continuously_from_entry() -> None:
    # Account 0 enters on day 10 and pays 400 on day 10 + 73; account 1 enters on day 0
    # and pays 250 at 365 days: exp(-r * d / 365) of each amount.
    r = 0.08
    pf = _portfolio([10.0, 0.0], [1000.0, 1000.0])
    st = _state(pf, r)
    st.pay(np.array([0, 1]), np.array([400.0, 250.0]), np.array([83.0, 365.0]))
    assert st.recovered_pv[0] == pytest.approx(400.0 * math.exp(-r * 73.0 / 365.0), rel=1e-12)
    assert st.recovered_pv[1] == pytest.approx(250.0 * math.exp(-r), rel=1e-12)
    k = _kpis(pf, st)
    assert k["collected_pv"] == pytest.approx(400.0 * math.exp(-r * 0.2) + 250.0 * math.exp(-r), rel=1e-12)
    assert k["collected_pv"] < k["collected_total"] == 650.0
    assert k["recovery_rate_pv"] == pytest.approx(k["collected_pv"] / 2000.0)
    # Costs are left undiscounted: net_recovery_pv = collected_pv - cost_total.
    assert k["net_recovery_pv"] == pytest.approx(k["collected_pv"] - k["cost_total"])


def test_without_a_cost_of_funds_present_value_is_the_collected_amount() -> None:
    pf = _portfolio([0.0], [500.0])
    st = _state(pf, 0.0)
    st.pay(np.array([0]), np.array([500.0]), 170.0)
    k = _kpis(pf, st)
    assert k["collected_pv"] == k["collected_total"] == 500.0


def test_a_cured_remainder_and_sale_proceeds_are_discounted_and_bucketed_by_age() -> None:
    # Account 0 pays its whole balance on day 45 (cured); account 1 is sold on day 95 at
    # 10% of its 2,000 balance. Both count in recovery_rate, so in its time forms.
    r = 0.2
    pf = _portfolio([0.0, 0.0], [1000.0, 2000.0])
    st = _state(pf, r)
    cured = st.pay(np.array([0]), np.array([1000.0]), 45.0)
    assert cured.tolist() == [0]
    st.sell(np.array([1]), 95.0, 0.1)
    k = _kpis(pf, st)
    assert k["collected_total"] == pytest.approx(1200.0)
    assert k["collected_pv"] == pytest.approx(1000.0 * math.exp(-r * 45 / 365) + 200.0 * math.exp(-r * 95 / 365))
    assert k["collected_30d_share"] == 0.0
    assert k["collected_60d_share"] == pytest.approx(1000.0 / 3000.0)
    assert k["collected_90d_share"] == pytest.approx(1000.0 / 3000.0)
    assert k["recovery_rate"] == pytest.approx(1200.0 / 3000.0)


def test_shares_equal_recovery_when_everything_is_collected_within_30_days() -> None:
    pf = _portfolio([0.0, 5.0, 12.0], [300.0, 700.0, 1000.0])
    st = _state(pf, 0.08)
    st.pay(np.array([0, 1, 2]), np.array([300.0, 350.0, 1000.0]), np.array([3.0, 30.0, 41.9]))
    st.pay(np.array([1]), np.array([350.0]), 34.5)
    k = _kpis(pf, st)
    assert k["recovery_rate"] == pytest.approx(1.0)
    for days in (30, 60, 90):
        assert k[f"collected_{days}d_share"] == pytest.approx(k["recovery_rate"])


# --------------------------------------------------------------------------- in a run
@pytest.fixture(scope="module")
def runs() -> dict[float, dict[str, float]]:
    return {
        r: run(small("policy=staged", f"simulation.cost_of_funds_annual={r}", n=1500), 0).kpis for r in (0.0, 0.08, 0.5)
    }


def test_the_cost_of_funds_reaches_the_kpis(runs: dict[float, dict[str, float]]) -> None:
    # Fails if discounting is dropped: a higher rate must lower the present value.
    k0, k8, k50 = runs[0.0], runs[0.08], runs[0.5]
    assert k0["collected_pv"] == pytest.approx(k0["collected_total"], rel=1e-12)
    assert k50["collected_pv"] < k8["collected_pv"] < k8["collected_total"]
    # Same run otherwise: the undiscounted KPIs do not move with the rate.
    assert k0["collected_total"] == k8["collected_total"] == k50["collected_total"]
    # PV at rate r lies between exp(-r * T / 365) and 1 of the collected total, T the
    # last day a payment can come (horizon plus legal tail).
    sc = small(n=10)
    t_max = sc.simulation.horizon_days + sc.simulation.legal_tail_days + 1
    for r, k in runs.items():
        assert math.exp(-r * t_max / 365) * k["collected_total"] <= k["collected_pv"] <= k["collected_total"]


def test_shares_grow_with_the_days_and_stay_below_recovery(runs: dict[float, dict[str, float]]) -> None:
    k = runs[0.08]
    assert 0.0 < k["collected_30d_share"] <= k["collected_60d_share"] <= k["collected_90d_share"] <= k["recovery_rate"]
    assert k["net_recovery_pv"] == pytest.approx(k["collected_pv"] - k["cost_total"])
    assert k["recovery_rate_pv"] == pytest.approx(k["collected_pv"] / k["owed_total"])


def test_new_kpis_have_directions() -> None:
    assert all(DIRECTIONS[k] == 1 for k in TIME_KPIS)


def test_a_negative_cost_of_funds_is_refused_by_name() -> None:
    from collectsim.validation import validate_scenario

    sc = small(n=10)
    bad = replace(sc, simulation=replace(sc.simulation, cost_of_funds_annual=-0.01))
    with pytest.raises(ConfigError, match="simulation.cost_of_funds_annual"):
        validate_scenario(bad)
