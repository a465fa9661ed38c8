"""Outcomes of a run: KPIs per replication, per segment and per policy arm, and the
daily series. Names read ``<quantity>_<aggregation>`` (docs/model.md lists them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from collectsim import steady
from collectsim.compliance import RULES
from collectsim.portfolio import Portfolio
from collectsim.scenario_types import Scenario
from collectsim.state import COST_CHANNELS, CURED, OPEN, WRITTEN_OFF, AccountState


class RuleCounts(Protocol):
    """What the KPIs read of the contact rules: enforced or not, and per-account counts
    (rules x accounts) of blocked requests or breaches."""

    enforce: bool
    by_account: np.ndarray


@dataclass(frozen=True)
class Capacity:
    """The collector team's totals over a run."""

    agent_days: int
    calls: int


#: KPIs where larger is better (+1) or smaller is better (-1); the report and any
#: optimiser read directions from here.
DIRECTIONS: dict[str, int] = {
    "collected_total": 1,
    "recovery_rate": 1,
    "collected_30d_rate": 1,
    "collected_pv": 1,
    "recovery_rate_pv": 1,
    "net_recovery_pv": 1,
    "collected_30d_share": 1,
    "collected_60d_share": 1,
    "collected_90d_share": 1,
    "net_recovery": 1,
    "breach_cost": -1,
    "cost_total": -1,
    "cost_to_collect": -1,
    "cure_rate": 1,
    "cured_30d_rate": 1,
    "roll_m1_m2": -1,
    "roll_m2_m3": -1,
    "roll_m3_writeoff": -1,
    "writeoff_rate": -1,
    "days_to_cure_mean": -1,
    "rpc_rate": 1,
    "ptp_rate": 1,
    "ptp_kept_rate": 1,
    "stress_mean": -1,
    "stress_peak_p95": -1,
    "stress_peak_mean": -1,
    "distress_day_share": -1,
    "complaints_per_1000": -1,
    "contacts_per_account_week": -1,
    "backlog_mean": -1,
    "backlog_end": -1,
}

#: The daily series of a run, in order (one value per simulated day).
SERIES_KEYS = (
    "day",
    "collected_cum",
    "outstanding",
    "open_accounts",
    "stress_mean",
    "backlog",
    "busy_minutes",
    "available_minutes",
)

COST_KPIS = tuple(f"cost_{c}" for c in (*COST_CHANNELS, "collectors", "training"))


@dataclass
class RunResult:
    """KPIs of one replication.

    Attributes
    ----------
    kpis : overall KPIs (measured accounts only, plus capacity KPIs).
    groups : one dict per segment and per policy arm: ``group`` ("segment" or "arm"),
        ``name`` and the account-level KPIs.
    series : daily series (``day``, ``collected_cum``, ``outstanding``,
        ``open_accounts``, ``stress_mean``, ``backlog``), one value per simulated day.
    info : seed, replication, policy name, wall seconds, SimPy events, days simulated.
    warnings : plain-text warnings about the run for the console to print, e.g. a
        stream run whose backlog or occupancy trends across the measured window (the
        centre was not in steady state).
    """

    kpis: dict[str, float]
    groups: list[dict[str, Any]]
    series: dict[str, np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        """Tidy rows: the overall KPIs (group ``all``), then one row per group."""
        base = {"replication": self.info.get("replication"), "seed": self.info.get("seed")}
        rows = [{**base, "group": "all", "name": "all", **self.kpis}]
        rows += [{**base, **g} for g in self.groups]
        return rows


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def account_kpis(
    sc: Scenario, pf: Portfolio, st: AccountState, rules: RuleCounts, mask: np.ndarray, alloc: dict[str, np.ndarray]
) -> dict[str, float]:
    """KPIs computed from the accounts selected by ``mask``."""
    n = int(mask.sum())
    k: dict[str, float] = {"accounts": float(n)}
    exposure = float(pf.principal[mask].sum())
    owed = exposure + float(st.interest[mask].sum())
    collected = float(st.collected[mask].sum() + st.sale_proceeds[mask].sum())
    collected_pv = float(st.recovered_pv[mask].sum())
    costs = {f"cost_{c}": float(st.cost[c][mask].sum()) for c in st.cost}
    reg = sc.compliance
    costs["cost_regulatory"] += float(st.complaints[mask].sum()) * reg.cost_per_complaint_yuan
    # The assumed price of a rule breach is reported beside net recovery (breach_cost),
    # never folded into it: it is an assumption, not money that moved.
    breach_cost = 0.0 if reg.enforce else float(rules.by_account[:, mask].sum()) * reg.cost_per_breach_yuan
    costs["cost_collectors"] = float(alloc["collectors"][mask].sum())
    costs["cost_training"] = float(alloc["training"][mask].sum())
    cost_total = sum(costs.values())
    life = st.close_time[mask] - pf.entry_time[mask]
    cured = st.status[mask] == CURED
    m2 = life >= 30.0
    m3 = life >= 60.0
    wo = st.status[mask] == WRITTEN_OFF
    reached = st.attempts_to_rpc[mask]
    reached = reached[reached > 0]  # collector attempts up to the first conversation
    k.update(
        exposure_total=exposure,
        owed_total=owed,
        collected_total=collected,
        # Share of what was owed (balance at entry plus interest and penalties accrued)
        # that was collected: always in [0, 1].
        recovery_rate=_ratio(collected, owed),
        # Share of the balance at entry collected within 30 days of entry.
        collected_30d_rate=_ratio(float(st.collected_30d[mask].sum()), exposure),
        # Time-valued recovery: every yuan counted in collected_total (payments and
        # sale proceeds) discounted to the account's entry at the cost of funds.
        collected_pv=collected_pv,
        recovery_rate_pv=_ratio(collected_pv, owed),
        # Shares of what was owed collected within 30, 60 and 90 days of entry: the
        # speed of recovery, on recovery_rate's footing (the 90-day share <= recovery_rate).
        collected_30d_share=_ratio(float(st.recovered_30d[mask].sum()), owed),
        collected_60d_share=_ratio(float(st.recovered_60d[mask].sum()), owed),
        collected_90d_share=_ratio(float(st.recovered_90d[mask].sum()), owed),
        **costs,
        cost_total=cost_total,
        net_recovery=collected - cost_total,
        # Costs undiscounted: they are booked without a date, and counting them at face
        # value overstates them (they fall after entry), so this errs low.
        net_recovery_pv=collected_pv - cost_total,
        breach_cost=breach_cost,
        cost_to_collect=_ratio(cost_total, collected),
        discounts_total=float(st.discount[mask].sum()),
        written_off_total=float(st.written_off[mask].sum()),
        cure_rate=_ratio(cured.sum(), n),
        cured_30d_rate=_ratio((cured & (life < 30.0)).sum(), n),
        roll_m1_m2=_ratio(m2.sum(), n),
        roll_m2_m3=_ratio(m3.sum(), m2.sum()),
        roll_m3_writeoff=_ratio((m3 & wo).sum(), m3.sum()),
        writeoff_rate=_ratio(wo.sum(), n),
        days_to_cure_mean=float(life[cured].mean()) if cured.any() else float("nan"),
        attempts_total=float(st.attempts[mask].sum()),
        voice_attempts_total=float(st.voice_attempts[mask].sum()),
        rpc_rate=_ratio(st.conversations[mask].sum(), st.attempts[mask].sum()),
        attempts_to_rpc_mean=float(reached.mean()) if reached.size else float("nan"),
        attempts_to_rpc_5plus_share=float((reached >= 5).mean()) if reached.size else float("nan"),
        ptp_rate=_ratio(st.promises[mask].sum(), st.conversations[mask].sum()),
        ptp_kept_rate=_ratio(st.promises_kept[mask].sum(), st.promises[mask].sum()),
        plans_started=float(st.plans_started[mask].sum()),
        plans_completed=float(st.plans_completed[mask].sum()),
        lawsuits_filed=float(st.lawsuit_filed[mask].sum()),
        lawsuits_won=float(st.lawsuit_won[mask].sum()),
        stress_mean=_ratio(st.stress_sum[mask].sum(), st.open_days[mask].sum()),
        stress_peak_mean=float(st.stress_peak[mask].mean()) if n else float("nan"),
        stress_peak_p95=float(np.percentile(st.stress_peak[mask], 95)) if n else float("nan"),
        distress_day_share=_ratio(st.distress_days[mask].sum(), st.open_days[mask].sum()),
        complaints_per_1000=1000.0 * _ratio(st.complaints[mask].sum(), n),
        contacts_per_account_week=_ratio(st.contacts[mask].sum(), st.open_days[mask].sum() / 7.0),
        # Field visits made (each paid, cost_<visit channel>) and those that met the borrower.
        visits_total=float(st.visits[mask].sum()),
        visits_met_total=float(st.visits_met[mask].sum()),
    )
    prefix = "blocked_" if rules.enforce else "breaches_"
    for r, rule in enumerate(RULES):
        k[prefix + rule] = float(rules.by_account[r, mask].sum())
    return k


def compute_result(
    sc: Scenario,
    pf: Portfolio,
    st: AccountState,
    rules: RuleCounts,
    capacity: Capacity,
    arms: np.ndarray | None,
    arm_names: list[str] | None,
    info: dict[str, Any],
    series: dict[str, list[float]],
) -> RunResult:
    """Gather the KPIs, groups and series of a finished run.

    ``arms`` (an arm index per account) and ``arm_names`` come from a policy that splits
    the portfolio (champion-challenger), else ``None``.
    """
    co = sc.collectors
    wages = capacity.agent_days * co.wage_yuan_per_day
    training = co.size * co.training.cost_yuan_per_agent if co.training.enabled else 0.0
    minutes = st.handle_minutes
    total_min = minutes.sum()
    share = minutes / total_min if total_min > 0 else np.full(pf.n, 1.0 / max(pf.n, 1))
    alloc = {"collectors": wages * share, "training": training * share}
    measured = pf.measured

    def kpis_of(mask: np.ndarray) -> dict[str, float]:
        return account_kpis(sc, pf, st, rules, mask, alloc)

    kpis = kpis_of(measured)
    arr = {k: np.asarray(v, dtype=float) for k, v in series.items()}
    backlog = arr["backlog"]
    # Capacity KPIs over the measured window of days (the whole run for a cohort): in
    # steady state, not in the ramp-up or the run-off after arrivals stop.
    day = arr["day"] - 1.0
    w = (day >= pf.window[0]) & (day < pf.window[1])
    kpis.update(
        collector_utilisation=_ratio(float(arr["busy_minutes"][w].sum()), float(arr["available_minutes"][w].sum())),
        calls_per_agent_day=_ratio(capacity.calls, capacity.agent_days),
        backlog_mean=float(backlog[w].mean()) if w.any() else 0.0,
        backlog_end=float(backlog[-1]) if backlog.size else 0.0,
        open_at_end=float((st.status == OPEN).sum()),
    )
    warnings: list[str] = []
    if np.isfinite(pf.window[1]):
        steady_kpis, warnings = steady_state_checks(arr, pf.window)
        kpis.update(steady_kpis)
    groups: list[dict[str, Any]] = []
    for s, name in enumerate(pf.segment_names):
        groups.append({"group": "segment", "name": name, **kpis_of(measured & (pf.segment == s))})
    if arms is not None and arm_names is not None and np.size(arms) == pf.n:
        for a, name in enumerate(arm_names):
            groups.append({"group": "arm", "name": name, **kpis_of(measured & (arms == a))})
    return RunResult(kpis=kpis, groups=groups, series=arr, info=info, warnings=warnings)


def steady_state_checks(
    series: dict[str, np.ndarray], window: tuple[float, float]
) -> tuple[dict[str, float], list[str]]:
    """Trend tests of the daily backlog and occupancy across the measured ``window``
    of a stream run (:func:`collectsim.steady.trend`): the KPIs ``backlog_trend_per_30d``
    (accounts per 30 days), ``backlog_trend_pvalue``, ``occupancy_trend_per_30d``
    (occupancy per 30 days) and ``occupancy_trend_pvalue``, and a warning per series
    whose trend is significant and material (the centre was not in steady state)."""
    w = steady.window_days(series["day"], window)
    tests = {
        "backlog": (steady.trend(series["backlog"][w]), "accounts", "{:+,.0f}", "{:,.0f}"),
        "occupancy": (
            steady.trend(series["busy_minutes"][w], series["available_minutes"][w]),
            "occupancy",
            "{:+.3f}",
            "{:.3f}",
        ),
    }
    kpis: dict[str, float] = {}
    warnings: list[str] = []
    for name, (tr, unit, fmt_change, fmt_level) in tests.items():
        kpis[f"{name}_trend_per_30d"] = tr.per_30d
        kpis[f"{name}_trend_pvalue"] = tr.pvalue
        if tr.significant():
            warnings.append(
                f"the {name} trends across the measured window (days {window[0]:.0f}-{window[1]:.0f}): "
                f"{fmt_change.format(tr.per_30d)} {unit} per 30 days on a mean of {fmt_level.format(tr.mean)} "
                f"(p = {tr.pvalue:.3f}); the centre is not in steady state: lengthen portfolio.warmup_days "
                "(scripts/warmup.py)"
            )
    return kpis, warnings
