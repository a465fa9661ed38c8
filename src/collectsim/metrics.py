"""Outcomes of a run: KPIs per replication, per segment and per policy arm, and the
daily series. Names read ``<quantity>_<aggregation>`` (docs/model.md lists them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from collectsim.compliance import RULES
from collectsim.state import COST_CHANNELS, CURED, OPEN, WRITTEN_OFF

if TYPE_CHECKING:
    from collectsim.engine import Simulation

#: KPIs where larger is better (+1) or smaller is better (-1); the report and any
#: optimiser read directions from here.
DIRECTIONS: dict[str, int] = {
    "collected_total": 1,
    "recovery_rate": 1,
    "net_recovery": 1,
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
    """

    kpis: dict[str, float]
    groups: list[dict[str, Any]]
    series: dict[str, np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)

    def records(self) -> list[dict[str, Any]]:
        """Tidy rows: the overall KPIs (group ``all``), then one row per group."""
        base = {"replication": self.info.get("replication"), "seed": self.info.get("seed")}
        rows = [{**base, "group": "all", "name": "all", **self.kpis}]
        rows += [{**base, **g} for g in self.groups]
        return rows


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def account_kpis(sim: Simulation, mask: np.ndarray, alloc: dict[str, np.ndarray]) -> dict[str, float]:
    """KPIs computed from the accounts selected by ``mask``."""
    st, pf = sim.st, sim.pf
    n = int(mask.sum())
    k: dict[str, float] = {"accounts": float(n)}
    exposure = float(pf.principal[mask].sum())
    owed = exposure + float(st.interest[mask].sum())
    collected = float(st.collected[mask].sum() + st.sale_proceeds[mask].sum())
    costs = {f"cost_{c}": float(st.cost[c][mask].sum()) for c in COST_CHANNELS}
    reg = sim.sc.compliance
    costs["cost_regulatory"] += float(st.complaints[mask].sum()) * reg.cost_per_complaint_yuan
    if not reg.enforce:
        costs["cost_regulatory"] += float(sim.comp.by_account[:, mask].sum()) * reg.cost_per_breach_yuan
    costs["cost_collectors"] = float(alloc["collectors"][mask].sum())
    costs["cost_training"] = float(alloc["training"][mask].sum())
    cost_total = sum(costs.values())
    life = st.close_time[mask] - pf.entry_time[mask]
    cured = st.status[mask] == CURED
    m2 = life >= 30.0
    m3 = life >= 60.0
    wo = st.status[mask] == WRITTEN_OFF
    k.update(
        exposure_total=exposure,
        owed_total=owed,
        collected_total=collected,
        # Share of what was owed (balance at entry plus interest and penalties accrued)
        # that was collected: always in [0, 1].
        recovery_rate=_ratio(collected, owed),
        **costs,
        cost_total=cost_total,
        net_recovery=collected - cost_total,
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
    )
    prefix = "blocked_" if sim.comp.enforce else "breaches_"
    for r, rule in enumerate(RULES):
        k[prefix + rule] = float(sim.comp.by_account[r, mask].sum())
    return k


def compute_result(sim: Simulation, wall_seconds: float) -> RunResult:
    """Gather the KPIs, groups and series of a finished simulation."""
    st, pf, pool = sim.st, sim.pf, sim.pool
    co = sim.sc.collectors
    wages = pool.agent_days * co.wage_yuan_per_day
    training = co.size * co.training.cost_yuan_per_agent if co.training.enabled else 0.0
    minutes = st.handle_minutes
    total_min = minutes.sum()
    share = minutes / total_min if total_min > 0 else np.full(pf.n, 1.0 / max(pf.n, 1))
    alloc = {"collectors": wages * share, "training": training * share}
    measured = pf.measured
    kpis = account_kpis(sim, measured, alloc)
    series = {k: np.asarray(v, dtype=float) for k, v in sim.series.items()}
    backlog = series["backlog"]
    kpis.update(
        collector_utilisation=_ratio(pool.busy_minutes, pool.agent_days * pool.available_minutes),
        calls_per_agent_day=_ratio(pool.calls, pool.agent_days),
        backlog_mean=float(backlog.mean()) if backlog.size else 0.0,
        backlog_end=float(backlog[-1]) if backlog.size else 0.0,
        open_at_end=float((st.status == OPEN).sum()),
    )
    groups: list[dict[str, Any]] = []
    for s, name in enumerate(pf.segment_names):
        groups.append({"group": "segment", "name": name, **account_kpis(sim, measured & (pf.segment == s), alloc)})
    arms = getattr(sim.policy, "arms", None)
    if arms is not None and np.size(arms) == pf.n:
        for a, name in enumerate(sim.policy.arm_names):  # type: ignore[attr-defined]
            groups.append({"group": "arm", "name": name, **account_kpis(sim, measured & (arms == a), alloc)})
    info = {
        "seed": sim.sc.simulation.seed,
        "replication": sim.replication,
        "policy": sim.policy.name,
        "wall_seconds": wall_seconds,
        "accounts_total": pf.n,
        "days_simulated": sim.days_run,
        "end_time": sim.end_time,
        "simpy_events": _events_scheduled(sim),
        "calls": pool.calls,
    }
    return RunResult(kpis=kpis, groups=groups, series=series, info=info)


def _events_scheduled(sim: Simulation) -> int:
    # SimPy numbers every scheduled event with an itertools counter; its next value is
    # the number of events scheduled so far.
    return int(next(sim.env._eid))  # noqa: SLF001
