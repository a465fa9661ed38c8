"""Choose the stream warm-up: MSER-5 on every built-in policy's daily backlog and occupancy,
then check that no policy's backlog or occupancy trends across the default measured window.

    python scripts/warmup.py                   # prints the tables, rewrites docs/centre.md
    python scripts/warmup.py --no-write        # prints only
    python scripts/warmup.py --workers 2 --replications 3 --probe-days 360

1. **Probe.** Each policy runs on the default stream book with arrivals at the default
   rate for ``--probe-days`` of warm-up and the 90-day window, no cool-down (the accounts
   scale with the days, so the rate per day is the default's). MSER-5
   (:func:`collectsim.steady.mser`, White 1997) is applied to the daily backlog and
   occupancy over the arrival span, to the mean of the replications (Hoad, Robinson and
   Davies 2010) and to each replication; the first half of the span is searched.
2. **Choice.** The warm-up is the largest truncation over policies and both series
   (on the replication means), rounded up to 30 days, plus a 30-day margin.
3. **Check.** Each policy runs the scenario as configured (``conf/``, whatever
   ``portfolio.warmup_days`` says) for ``--check-replications`` replications; the table
   gives the trend KPIs of every replication (:func:`collectsim.steady.trend`) and a
   t-test of their mean across the replications (:func:`collectsim.steady.trend_across`).

The tables go to docs/centre.md between the ``warmup:begin`` and ``warmup:end`` markers.
Takes about 6 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from collectsim import steady
from collectsim.api import load_scenario
from collectsim.engine import run

POLICIES = ("soft_first", "staged", "score_prioritized", "early_escalation", "pressure", "do_nothing")
DOC = Path(__file__).resolve().parents[1] / "docs" / "centre.md"
BEGIN, END = "<!-- warmup:begin (scripts/warmup.py writes this) -->", "<!-- warmup:end -->"
ROUND_DAYS = 30
MARGIN_DAYS = 30


def _probe(policy: str, replication: int, probe_days: int) -> dict[str, Any]:
    """One long-warm-up run: the daily series over the span with arrivals."""
    sc = load_scenario([f"policy={policy}"])
    p = sc.portfolio
    rate = p.n_accounts / p.span_days
    span = probe_days + p.arrival_days
    sc = load_scenario(
        [
            f"policy={policy}",
            f"portfolio.warmup_days={probe_days}",
            "portfolio.cooldown_days=0",
            f"portfolio.n_accounts={round(rate * span)}",
        ]
    )
    t0 = time.perf_counter()
    res = run(sc, replication)
    s = res.series
    return {
        "policy": policy,
        "replication": replication,
        "span": span,
        "backlog": s["backlog"][:span],
        "busy": s["busy_minutes"][:span],
        "available": s["available_minutes"][:span],
        "wall": time.perf_counter() - t0,
    }


def _check(policy: str, replication: int) -> dict[str, Any]:
    """One run of the scenario as configured: its trend KPIs and window series."""
    sc = load_scenario([f"policy={policy}"])
    t0 = time.perf_counter()
    res = run(sc, replication)
    return {
        "policy": policy,
        "replication": replication,
        "kpis": {k: v for k, v in res.kpis.items() if "_trend_" in k or k in ("backlog_mean", "collector_utilisation")},
        "warnings": res.warnings,
        "wall": time.perf_counter() - t0,
        "accounts": res.info["accounts_total"],
        "warmup_days": sc.portfolio.warmup_days,
    }


def _star(args: tuple[Any, ...]) -> dict[str, Any]:
    fn = _probe if len(args) == 3 else _check
    return fn(*args)


def _fmt_p(p: float) -> str:
    return "n/a" if math.isnan(p) else f"{p:.2f}"


def probe_table(runs: list[dict[str, Any]]) -> tuple[list[str], int]:
    """Markdown rows of the MSER-5 truncation per policy, and the chosen warm-up."""
    rows = [
        "| policy | backlog: MSER-5 on the mean (days) | per replication | occupancy: on the mean | per replication |",
        "| --- | ---: | --- | ---: | --- |",
    ]
    worst = 0
    for pol in POLICIES:
        rs = [r for r in runs if r["policy"] == pol]
        mean_b = np.mean([r["backlog"] for r in rs], axis=0)
        busy = np.sum([r["busy"] for r in rs], axis=0)
        avail = np.sum([r["available"] for r in rs], axis=0)
        tb, to = steady.mser(mean_b), steady.mser(busy, avail)
        per_b = [steady.mser(r["backlog"]) for r in rs]
        per_o = [steady.mser(r["busy"], r["available"]) for r in rs]
        worst = max(worst, tb.days, to.days)

        def cell(t: steady.Truncation) -> str:
            return f"{t.days}{' (at limit)' if t.at_limit else ''}"

        rows.append(
            f"| {pol} | {cell(tb)} | {', '.join(cell(t) for t in per_b)} | {cell(to)} | "
            f"{', '.join(cell(t) for t in per_o)} |"
        )
    chosen = ROUND_DAYS * math.ceil(worst / ROUND_DAYS) + MARGIN_DAYS
    return rows, chosen


def check_table(runs: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of the trend tests across the measured window per policy: each
    replication's trend (its in-run p-value in brackets) and the t-test of their mean."""
    rows = [
        "| policy | backlog mean | backlog trend per 30 days, per replication (p) | mean trend (p across replications) "
        "| occupancy mean | occupancy trend per 30 days, per replication (p) | mean trend (p across replications) |",
        "| --- | ---: | --- | --- | ---: | --- | --- |",
    ]
    for pol in POLICIES:
        k = [r["kpis"] for r in sorted((r for r in runs if r["policy"] == pol), key=lambda r: r["replication"])]
        cells = []
        for name, fmt in (("backlog", "{:+,.0f}"), ("occupancy", "{:+.4f}")):
            per = [x[f"{name}_trend_per_30d"] for x in k]
            m, p = steady.trend_across(np.array(per))
            each = ", ".join(
                f"{fmt.format(v)} ({_fmt_p(x[f'{name}_trend_pvalue'])})" for v, x in zip(per, k, strict=True)
            )
            cells.append((each, f"{fmt.format(m)} ({_fmt_p(p)})"))
        rows.append(
            f"| {pol} | {np.mean([x['backlog_mean'] for x in k]):,.0f} | {cells[0][0]} | {cells[0][1]} "
            f"| {np.mean([x['collector_utilisation'] for x in k]):.3f} | {cells[1][0]} | {cells[1][1]} |"
        )
    return rows


def write_doc(text: str, doc: Path = DOC) -> None:
    """Replace what lies between the markers of ``doc`` with ``text``."""
    old = doc.read_text()
    pat = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pat.search(old):
        raise SystemExit(f"{doc}: markers {BEGIN!r} ... {END!r} not found")
    doc.write_text(pat.sub(lambda _: f"{BEGIN}\n{text}\n{END}", old))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--probe-days", type=int, default=360, help="warm-up of the probe runs (days)")
    ap.add_argument("--replications", type=int, default=3, help="probe replications per policy")
    ap.add_argument("--check-replications", type=int, default=4, help="replications per policy of the check")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/centre.md alone")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    jobs: list[tuple[Any, ...]] = [(p, r, a.probe_days) for p in POLICIES for r in range(a.replications)]
    jobs += [(p, r) for p in POLICIES for r in range(a.check_replications)]
    out = []
    with ProcessPoolExecutor(a.workers) as ex:
        for i, o in enumerate(ex.map(_star, jobs)):
            out.append(o)
            kind = "probe" if "span" in o else "check"
            print(f"  {i + 1}/{len(jobs)} {kind} {o['policy']} r{o['replication']}: {o['wall']:.0f} s", file=sys.stderr)
    probes = [o for o in out if "span" in o]
    checks = [o for o in out if "kpis" in o]
    rows, chosen = probe_table(probes)
    check = check_table(checks)
    sc = load_scenario()
    c = checks[0]
    wall = {p: np.mean([o["wall"] for o in checks if o["policy"] == p]) for p in POLICIES}
    warned = [f"{o['policy']} (replication {o['replication']}): {w}" for o in checks for w in o["warnings"]]
    text = "\n".join(
        [
            f"MSER-5 truncation (days) of the daily series, probe runs with a {a.probe_days}-day warm-up, "
            f"{a.replications} replications per policy, seed {sc.simulation.seed}; the search covers the first half of "
            f'the {probes[0]["span"]}-day arrival span. "at limit": the minimum sits at the end of the search.',
            "",
            *rows,
            "",
            f"Largest truncation on the replication means, rounded up to {ROUND_DAYS} days, plus {MARGIN_DAYS} days: "
            f"**{chosen} days** (configured: `portfolio.warmup_days: {c['warmup_days']}`, "
            f"`portfolio.n_accounts: {c['accounts']:,}`).",
            "",
            f"Trend across the measured window of the configured default, {a.check_replications} replications per "
            "policy: each replication's least-squares trend with its in-run p-value (slope t-test corrected for "
            "lag-1 autocorrelation), and the mean trend with the p-value of a t-test across the replications:",
            "",
            *check,
            "",
            "Warnings raised by the check runs: " + ("; ".join(warned) if warned else "none") + ".",
            "",
            "Mean wall time of one configured run (seconds): "
            + ", ".join(f"{p} {w:.1f}" for p, w in wall.items())
            + f". Generated by `python scripts/warmup.py` in {time.perf_counter() - t0:.0f} s "
            f"with {a.workers} workers.",
        ]
    )
    print(text)
    if not a.no_write:
        write_doc(text)
        print(f"\nwrote {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
