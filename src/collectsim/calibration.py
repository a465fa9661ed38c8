"""Calibration targets, split into those used to set parameters (fitted) and those only
checked (held-out), and what the model gives for each.

A target compares like with like: a flow with a flow (shares of the accounts or of the
balance entering collection), never a stock such as a 90+ day delinquency ratio over all
outstanding loans (the model has no performing book to divide by), and never a survey
distribution read as a share of accounts.

- :data:`FITTED`: occupancy, attempts to reach the right party, the 30-day cure and the
  M1-to-M2 roll. The defaults were set by hand to hit them, and
  :mod:`collectsim.calibration_fit` fits named behaviour and response parameters to them.
- :data:`HELD_OUT`: the 30-day collection rate, the M1-to-M3 multiplier and the share of
  the day-90 balance collected later (no published figure: reported). None of them is
  used to set a parameter.

The field experiments the model is checked against run as their randomised designs
(:mod:`collectsim.field_experiments`).

>>> from collectsim import load_scenario
>>> rows = measure_replications(load_scenario(), 5)            # doctest: +SKIP
>>> print(markdown(evaluate(FITTED, rows)))                    # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from collectsim.engine import Simulation
from collectsim.metrics import RunResult
from collectsim.scenario_types import Scenario
from collectsim.stats import t_interval


@dataclass(frozen=True)
class TargetSpec:
    """A published figure: the model quantity ``measure`` (a key of
    :func:`measure_run`'s dict) and the published range ``[low, high]`` (``None``: no
    published figure, reported only)."""

    name: str
    measure: str
    measured_as: str
    low: float | None
    high: float | None
    source: str

    @property
    def mid(self) -> float:
        assert self.low is not None and self.high is not None
        return 0.5 * (self.low + self.high)

    @property
    def half(self) -> float:
        assert self.low is not None and self.high is not None
        return 0.5 * (self.high - self.low)


#: Targets used to set parameters (by hand for the defaults; by
#: :func:`collectsim.calibration_fit.fit` for the reported fit). The 30-day cure and the
#: M1-to-M2 roll are nearly complements (an account either cures within 30 days or is
#: still open at day 30), so they are one constraint, not two.
FITTED: tuple[TargetSpec, ...] = (
    TargetSpec(
        "accounts cured within 30 days",
        "cured_30d_rate",
        "`cured_30d_rate`",
        0.75,
        0.85,
        "industry rule of thumb (about 80%)",
    ),
    TargetSpec(
        "M1 to M2 roll (accounts)",
        "roll_m1_m2",
        "`roll_m1_m2`",
        0.15,
        0.25,
        "industry rule of thumb (about 1 in 5)",
    ),
    TargetSpec(
        "attempts to reach the right party",
        "attempts_to_rpc_mean",
        "`attempts_to_rpc_mean` (mean over accounts)",
        2.0,
        4.0,
        "TransUnion 2020 survey: most responding agencies typically need 2-4 attempts",
    ),
    TargetSpec(
        "agent occupancy",
        "collector_utilisation",
        "`collector_utilisation`",
        0.75,
        0.90,
        "call-centre practice (industry figure)",
    ),
)

#: Targets only checked: no parameter is set from them.
HELD_OUT: tuple[TargetSpec, ...] = (
    TargetSpec(
        "balance collected within 30 days",
        "collected_30d_rate",
        "`collected_30d_rate`",
        0.83,
        0.89,
        "Qifu Technology, 30-day collection rate 86.3% (Q2 2024, as reported by a broker)",
    ),
    TargetSpec(
        "M1 to M3 roll (accounts)",
        "roll_m1_m3",
        "`roll_m1_m2 * roll_m2_m3`",
        0.01,
        0.03,
        'Chinese "collection multiplier", about 2% (industry figure)',
    ),
    TargetSpec(
        "day-90 balance collected later",
        "late_recovery_90d",
        "collected after day 90 / owed at day 90 or accrued later",
        None,
        None,
        "no published figure for this flow was found (see below)",
    ),
    TargetSpec(
        "entering accounts written off",
        "writeoff_rate",
        "`writeoff_rate`",
        None,
        None,
        "no flow figure found; the 90+ ratios of Chinese lenders are stocks (see below)",
    ),
)


def measure_run(sim: Simulation, result: RunResult) -> dict[str, float]:
    """The run's KPIs plus the derived quantities the targets compare with:
    ``roll_m1_m3`` (accounts entering that are still open at day 60) and
    ``late_recovery_90d`` (of the accounts still open at day 90 past due, what they paid
    afterwards over what they owed at day 90 plus interest accrued later: payments and
    sale proceeds after day 90 over those plus discounts, write-offs, claims sold and the
    balance left at the end)."""
    out = dict(result.kpis)
    out["roll_m1_m3"] = result.kpis["roll_m1_m2"] * result.kpis["roll_m2_m3"]
    pf, st = sim.pf, sim.st
    life = np.where(np.isnan(st.close_time), np.inf, st.close_time - pf.entry_time)
    alive = pf.measured & (life >= 90.0)
    later = st.collected[alive] + st.sale_proceeds[alive] - st.recovered_90d[alive]
    left = st.discount[alive] + st.written_off[alive] + st.sold[alive] + st.balance[alive]
    paid = float(later.sum())
    out["late_recovery_90d"] = paid / (paid + float(left.sum())) if alive.any() else float("nan")
    return out


def _one(scenario: Scenario, replication: int) -> dict[str, float]:
    sim = Simulation(scenario, replication)
    return measure_run(sim, sim.run())


def default_jobs() -> int:
    """Worker processes: one per core (``COLLECTSIM_JOBS`` overrides)."""
    return int(os.environ.get("COLLECTSIM_JOBS", os.cpu_count() or 1))


def measure_many(
    jobs: Sequence[tuple[Scenario, int]], workers: int | None = None, pool: Executor | None = None
) -> list[dict[str, float]]:
    """:func:`measure_run` of each (scenario, replication), in the order given: in
    ``pool`` if given, else over ``workers`` new processes (1: in this process)."""
    if pool is not None and len(jobs) > 1:
        return list(pool.map(_one, [sc for sc, _ in jobs], [k for _, k in jobs]))
    workers = default_jobs() if workers is None else workers
    if workers <= 1 or len(jobs) <= 1:
        return [_one(sc, k) for sc, k in jobs]
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as new:
        return list(new.map(_one, [sc for sc, _ in jobs], [k for _, k in jobs]))


def measure_replications(scenario: Scenario, replications: int, workers: int | None = None) -> list[dict[str, float]]:
    """Replications ``0 .. R-1`` of ``scenario`` (common random numbers: the same seeds
    for every scenario), measured."""
    return measure_many([(scenario, k) for k in range(replications)], workers)


@dataclass(frozen=True)
class Target:
    """A target with the model's value: mean and 95% half-width over replications."""

    spec: TargetSpec
    mean: float
    half: float

    @property
    def hit(self) -> bool | None:
        """The published range and the model's interval overlap (``None``: no figure)."""
        s = self.spec
        if s.low is None or s.high is None:
            return None
        return self.mean - self.half <= s.high and self.mean + self.half >= s.low


def evaluate(specs: Sequence[TargetSpec], rows: Sequence[dict[str, float]]) -> list[Target]:
    """The model's value of each target over the measured replications ``rows``."""
    out = []
    for s in specs:
        mean, half, _ = t_interval(np.array([r[s.measure] for r in rows]))
        out.append(Target(s, mean, half))
    return out


def _is_count(s: TargetSpec) -> bool:
    return s.measure == "attempts_to_rpc_mean"


def fmt_value(s: TargetSpec, mean: float, half: float | None = None) -> str:
    """A model value as the target reads it (percent, or a count)."""
    if _is_count(s):
        return f"{mean:.2f}" + ("" if half is None else f" ± {half:.2f}")
    return f"{100 * mean:.1f}%" + ("" if half is None else f" ± {100 * half:.1f}")


def fmt_range(s: TargetSpec) -> str:
    if s.low is None or s.high is None:
        return "none found"
    return f"{s.low:g}-{s.high:g}" if _is_count(s) else f"{100 * s.low:g}-{100 * s.high:g}%"


def markdown(targets: Sequence[Target]) -> str:
    """One table: each target, how the model measures it, its value (95% CI), the
    published range, hit or miss, and the source."""
    lines = [
        "| target | measured as | model (95% CI) | published | status | source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in targets:
        s = t.spec
        status = "reported" if t.hit is None else ("hit" if t.hit else "**missed**")
        lines.append(
            f"| {s.name} | {s.measured_as} | {fmt_value(s, t.mean, t.half)} | {fmt_range(s)} | {status} | {s.source} |"
        )
    return "\n".join(lines) + "\n"
