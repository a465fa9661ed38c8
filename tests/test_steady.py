"""Steady state: MSER-5 truncation, the autocorrelation-corrected trend test, and the
trend KPIs and warnings every stream run reports."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from tests.conftest import small

from collectsim import load_scenario, steady
from collectsim.engine import run


# --------------------------------------------------------------------------- MSER
def test_mser_on_a_hand_made_series() -> None:
    # Batch means [10, 0, 0, 0, 0, 0] (batch 1): deleting the first batch leaves no
    # variance at all, so MSER(1) = 0 is the minimum.
    t = steady.mser(np.array([10.0, 0, 0, 0, 0, 0]), batch=1)
    assert (t.days, t.statistic, t.at_limit) == (1, 0.0, False)
    # By hand with batches of 2: means [4, 1, 2, 2]; MSER(0) = 4.75 / 16, MSER(1) = (2/3) / 9,
    # MSER(2) = 0 / 4 = 0: the minimum at the end of the searched half.
    t = steady.mser(np.array([5.0, 3, 1, 1, 2, 2, 2, 2, 9]), batch=2)
    assert t.days == 4 and t.statistic == 0.0 and t.at_limit


def test_mser_finds_the_end_of_a_transient_and_none_in_a_steady_series() -> None:
    rng = np.random.default_rng(1)
    days = np.arange(400)
    # A backlog that rises to its level with a 30-day time constant: the transient is
    # below the noise (sd 20) after about 150 days.
    ramp = 1000.0 * (1.0 - np.exp(-days / 30.0)) + rng.normal(0.0, 20.0, days.size)
    t = steady.mser(ramp)
    assert 90 <= t.days <= 200 and t.days % steady.MSER_BATCH == 0 and not t.at_limit
    flat = 1000.0 + rng.normal(0.0, 20.0, days.size)
    assert steady.mser(flat).days < 100
    assert steady.mser(np.zeros(50)).days == 0


def test_mser_of_a_ratio_uses_ratios_of_batch_sums() -> None:
    busy = np.array([0.0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9])
    avail = np.where(busy > 0, 10.0, 0.0)  # off duty on the first days
    np.testing.assert_allclose(steady.batch_means(busy, 5, avail), [0.0, 0.9, 0.8, 0.9])
    assert steady.mser(busy, avail).days == 5


# --------------------------------------------------------------------------- trend
def test_trend_of_a_straight_line_is_its_slope() -> None:
    y = 50.0 + 2.0 * np.arange(90)
    tr = steady.trend(y)
    assert tr.per_30d == pytest.approx(60.0)
    assert tr.pvalue < 1e-10
    assert tr.change_share == pytest.approx(2.0 * 89 / y.mean())
    flat = steady.trend(np.full(90, 7.0))
    assert (flat.per_30d, flat.pvalue, flat.significant()) == (0.0, 1.0, False)
    assert np.isnan(steady.trend(np.ones(5)).pvalue)


def test_trend_test_holds_its_level_on_white_noise() -> None:
    # 2,000 trendless series of 90 days: the test rejects at most as often as its level
    # (the lag-1 correction only widens the interval), within a 99.9% binomial bound.
    rng = np.random.default_rng(7)
    n, alpha = 2000, 0.05
    rejected = sum(steady.trend(rng.normal(size=90)).pvalue < alpha for _ in range(n))
    assert rejected <= stats.binom.ppf(0.999, n, alpha)


def test_the_correction_widens_the_test_for_autocorrelated_noise() -> None:
    # AR(1) noise with phi = 0.8: the plain t-test rejects far more often than 5%; the
    # corrected one much less often (docs/centre.md gives its rate in model runs).
    rng = np.random.default_rng(3)
    plain = corrected = 0
    for _ in range(500):
        e = rng.normal(size=90)
        y = np.empty(90)
        y[0] = e[0] / np.sqrt(1 - 0.64)
        for i in range(1, 90):
            y[i] = 0.8 * y[i - 1] + e[i]
        plain += stats.linregress(np.arange(90), y).pvalue < 0.05
        corrected += steady.trend(y).pvalue < 0.05
    assert corrected < plain / 2


def test_trend_across_replications() -> None:
    m, p = steady.trend_across(np.array([5.0, 6.0, 7.0, 6.0]))
    assert m == 6.0 and p < 0.01
    m, p = steady.trend_across(np.array([-1.0, 1.0]))
    assert m == 0.0 and p == pytest.approx(1.0)
    assert np.isnan(steady.trend_across(np.array([3.0]))[1])


# --------------------------------------------------------------------------- in runs
def test_a_stream_run_without_warm_up_reports_a_trend_and_warns() -> None:
    # 200 new accounts a day for one collector (who makes about 260 calls a day) and no
    # warm-up: the queue of calls can only grow across the 30-day window.
    overloaded = [
        "portfolio.n_accounts=12000",
        "collectors.size=1",
        "portfolio.warmup_days=0",
        "portfolio.arrival_days=30",
        "portfolio.cooldown_days=30",
        "policy=soft_first",
    ]
    res = run(load_scenario(overloaded), 0)
    k = res.kpis
    assert k["backlog_trend_per_30d"] > 0 and k["backlog_trend_pvalue"] < steady.TREND_ALPHA
    assert 0.0 <= k["occupancy_trend_pvalue"] <= 1.0
    assert any(w.startswith("the backlog trends across the measured window") for w in res.warnings)


def test_a_cohort_has_no_trend_kpis_nor_warnings() -> None:
    res = run(small(n=300), 0)
    assert not any("_trend_" in k for k in res.kpis)
    assert res.warnings == []


def test_the_default_warm_up_keeps_the_inflow_rate() -> None:
    # The default book grows with its days: about 190 new accounts a day.
    p = load_scenario().portfolio
    rate = p.n_accounts / (p.warmup_days + p.arrival_days + p.cooldown_days)
    assert rate == pytest.approx(40000 / 210, rel=1e-4)
    # Every measured account lives its in-house life beside the inflow.
    assert p.cooldown_days >= load_scenario().simulation.horizon_days


@pytest.mark.slow
def test_no_built_in_policy_trends_across_the_default_window() -> None:
    # The check of scripts/warmup.py on fewer replications: the mean trend of the
    # backlog across replications is not significant for any policy (at 1% each, so
    # that the three tests together reject a steady centre at most about 3% of the time).
    for policy in ("soft_first", "staged", "early_escalation"):
        sc = load_scenario([f"policy={policy}"])
        per = np.array([run(sc, r).kpis["backlog_trend_per_30d"] for r in range(4)])
        _, p = steady.trend_across(per)
        assert not p < 0.01, (policy, per, p)
