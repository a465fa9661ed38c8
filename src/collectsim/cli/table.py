"""Readable KPI tables for the terminal."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from collectsim.metrics import RunResult
from collectsim.stats import t_interval

SECTIONS: list[tuple[str, list[str]]] = [
    (
        "recovery",
        [
            "accounts",
            "exposure_total",
            "collected_total",
            "recovery_rate",
            "net_recovery",
            "recovery_rate_pv",
            "net_recovery_pv",
            "collected_30d_share",
            "collected_60d_share",
            "collected_90d_share",
            "cost_to_collect",
            "cure_rate",
            "cured_30d_rate",
            "roll_m1_m2",
            "roll_m2_m3",
            "roll_m3_writeoff",
            "writeoff_rate",
            "days_to_cure_mean",
            "discounts_total",
        ],
    ),
    (
        "contact funnel",
        [
            "attempts_total",
            "rpc_rate",
            "ptp_rate",
            "ptp_kept_rate",
            "plans_started",
            "plans_completed",
            "lawsuits_filed",
            "lawsuits_won",
            "visits_total",
            "visits_met_total",
        ],
    ),
    (
        "cost (yuan)",
        [
            "cost_total",
            "cost_sms",
            "cost_voice",
            "cost_telephony",
            "cost_collectors",
            "cost_training",
            "cost_letters",
            "cost_legal",
            "cost_outsourcing",
            "cost_regulatory",
        ],
    ),
    (
        "borrower stress",
        [
            "stress_mean",
            "stress_peak_mean",
            "stress_peak_p95",
            "distress_day_share",
            "complaints_per_1000",
            "contacts_per_account_week",
        ],
    ),
    ("capacity", ["collector_utilisation", "calls_per_agent_day", "backlog_mean", "backlog_end"]),
    (
        "steady state (measured window)",
        ["backlog_trend_per_30d", "backlog_trend_pvalue", "occupancy_trend_per_30d", "occupancy_trend_pvalue"],
    ),
]

SEGMENT_KPIS = [
    "accounts",
    "recovery_rate",
    "cure_rate",
    "cured_30d_rate",
    "roll_m1_m2",
    "writeoff_rate",
    "ptp_rate",
    "plans_started",
    "stress_peak_p95",
    "complaints_per_1000",
    "cost_to_collect",
]


def fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    return f"{v:.3f}" if a < 10 else f"{v:.2f}"


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the t confidence interval (0 for one value)."""
    mean, half, n = t_interval(values, level)
    return mean, 0.0 if n == 1 else half


def kpi_report(results: Sequence[RunResult], show_segments: bool = True) -> str:
    """The overall KPI table (mean and 95% CI over replications) and per segment/arm."""
    lines = []
    r = len(results)
    head = f"{results[0].info['policy']}: {r} replication{'s' if r > 1 else ''}, seed {results[0].info['seed']}"
    lines.append(head)
    rule = [k for k in results[0].kpis if k.startswith(("blocked_", "breaches_"))]
    listed = {k for _, keys in SECTIONS for k in keys} | set(rule)
    # A KPI no section lists (a channel added under channels.extra brings cost_<name>)
    # is shown too: the console holds every KPI of kpis.csv.
    unlisted = [k for k in results[0].kpis if k not in listed]
    sections = [
        (title, [*keys, *(k for k in unlisted if title.startswith("cost") and k.startswith("cost_"))])
        for title, keys in SECTIONS
    ]
    other = [k for k in unlisted if not k.startswith("cost_")]
    for title, keys in [*sections, ("compliance", rule), *([("other", other)] if other else [])]:
        lines.append(f"\n  {title}")
        for k in keys:
            if k not in results[0].kpis:
                continue
            m, h = mean_ci(np.array([res.kpis[k] for res in results], dtype=float))
            ci = f"  ± {fmt(h)}" if r > 1 else ""
            lines.append(f"    {k:<28}{fmt(m):>16}{ci}")
    if "collector_utilisation" in results[0].kpis:
        # Imported here: the report package loads pandas and Matplotlib, which a sweep's
        # workers (they import this module) do not need.
        from collectsim.report.fmt import idle_team_note

        note = idle_team_note(float(np.mean([res.kpis["collector_utilisation"] for res in results])))
        if note:
            lines.append(f"\n  note: {note}")
    # A load that still drifts across the measured window (collectsim.steady).
    for w in dict.fromkeys(w for res in results for w in getattr(res, "warnings", [])):
        lines.append(f"\n  warning: {w}")
    if show_segments and results[0].groups:
        names = [f"{g['name']}" for g in results[0].groups]
        width = max(14, *(len(n) + 2 for n in names))
        lines.append("\n  by segment / arm (mean over replications)")
        lines.append("    " + f"{'kpi':<24}" + "".join(f"{n:>{width}}" for n in names))
        for k in SEGMENT_KPIS:
            vals = []
            for gi in range(len(names)):
                vals.append(
                    float(np.nanmean([res.groups[gi][k] for res in results]))
                    if not all(math.isnan(res.groups[gi][k]) for res in results)
                    else float("nan")
                )
            lines.append("    " + f"{k:<24}" + "".join(f"{fmt(v):>{width}}" for v in vals))
    return "\n".join(lines)
