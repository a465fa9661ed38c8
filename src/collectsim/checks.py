"""Simulation experiments that validate the model against theory (used by the tests and
by ``scripts/validate.py``, which writes docs/validation.md).

Each check returns the per-replication estimates, their mean and 95% confidence
interval, the theoretical value and the two-sided t-test p-value of "the mean equals
the theory". The suite is judged as a family: Holm's step-down adjustment keeps the
chance that any check of a correct model fails at 5% (:func:`holm`); a 95% interval
per check alone misses its theory for about one check in twenty.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy
from scipy import stats

from collectsim import theory
from collectsim.actions import Action
from collectsim.behaviour.standard_response import StandardResponse
from collectsim.channels import ChannelTable
from collectsim.collectors import MIN_PER_DAY, CollectorPool
from collectsim.compliance import Compliance
from collectsim.engine import Simulation
from collectsim.portfolio import build_portfolio
from collectsim.random_streams import RandomStreams
from collectsim.scenario_types import Scenario
from collectsim.state import OPEN, AccountState
from collectsim.stats import t_interval


@dataclass
class Check:
    """An estimate over replications against a theoretical value."""

    name: str
    values: np.ndarray
    theory: float

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def ci(self) -> tuple[float, float]:
        mean, half, _ = t_interval(self.values)
        return mean - half, mean + half

    @property
    def p_value(self) -> float:
        """Two-sided one-sample t-test of ``mean == theory`` over the replications."""
        v = self.values
        se = v.std(ddof=1) / np.sqrt(v.size)
        if se == 0:
            return 1.0 if self.mean == self.theory else 0.0
        t = abs(self.mean - self.theory) / se
        return float(2 * stats.t.sf(t, v.size - 1))

    @property
    def holds(self) -> bool:
        lo, hi = self.ci
        return lo <= self.theory <= hi

    def row(self) -> dict[str, Any]:
        lo, hi = self.ci
        return {
            "check": self.name,
            "estimate": self.mean,
            "ci_low": lo,
            "ci_high": hi,
            "theory": self.theory,
            "replications": int(self.values.size),
            "holds": self.holds,
        }


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order.

    A check fails at family-wise level ``alpha`` when its adjusted p-value is below
    ``alpha``; the probability that any check of a correct model fails is then at most
    ``alpha``, whatever the dependence between the checks.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


# --------------------------------------------------------------------------- M/M/c


def mmc_replication(
    scenario: Scenario, arrivals_per_minute: float, days: float, warmup_days: float, replication: int
) -> tuple[float, float]:
    """One replication of the collector pool as an M/M/c queue.

    Calls arrive as a Poisson process straight into the work queue (FIFO by arrival
    time); the scenario must make every call connect and use a round-the-clock team
    with exponential handle times. Returns (share of calls that waited, mean wait in
    minutes) over calls arriving between the warm-up and one day before the end.
    """
    streams = RandomStreams(scenario.simulation.seed, replication)
    rng = streams["arrivals"]
    rate_per_day = arrivals_per_minute * MIN_PER_DAY
    n_max = int(rate_per_day * days * 1.2 + 100)
    times = np.cumsum(rng.exponential(1.0 / rate_per_day, size=n_max))
    times = times[times < days]
    n = times.size
    pf = build_portfolio(dataclasses.replace(scenario.portfolio, n_accounts=n, arrival="cohort"), streams)
    channels = ChannelTable(scenario.channels)
    st = AccountState(pf, scenario.stress.half_life_days, len(channels), channels.cost_keys)
    st.status[:] = OPEN
    env = simpy.Environment()
    response = StandardResponse(dataclasses.replace(scenario.stress, contactability_effect=0.0), scenario.conversation)
    response.start(pf, streams, channels)
    pool = CollectorPool(
        env, scenario, st, Compliance(scenario.compliance, n), streams["collectors"], response, channels
    )
    if not pool.continuous:
        raise ValueError("the M/M/c check needs a round-the-clock team (shift 0-24, no break)")
    pool.start()
    code = np.array([int(Action.SOFT_CALL)])

    def arrive():  # type: ignore[no-untyped-def]
        for i, t in enumerate(times.tolist()):
            yield env.timeout(t - env.now)
            pool.queue.push_many(np.array([t]), np.array([i]), code, np.zeros(1))

    env.process(arrive())
    env.run(until=days)
    log = pool.take_log()
    start = np.full(n, np.nan)
    start[log["idx"]] = log["time"]
    sel = (times >= warmup_days) & (times < days - 1.0)
    waits = (start[sel] - times[sel]) * MIN_PER_DAY
    if np.isnan(waits).any():
        raise RuntimeError("some calls were never answered: run longer or lower the load")
    return float(np.mean(waits > 1e-9)), float(np.mean(waits))


def mmc_checks(
    scenario: Scenario,
    arrivals_per_minute: float,
    servers: int,
    mean_service_minutes: float,
    days: float = 4.0,
    warmup_days: float = 1.0,
    replications: int = 10,
) -> list[Check]:
    reps = [mmc_replication(scenario, arrivals_per_minute, days, warmup_days, r) for r in range(replications)]
    p_wait, wq = theory.erlang_c(arrivals_per_minute, 1.0 / mean_service_minutes, servers)
    rho = arrivals_per_minute * mean_service_minutes / servers
    tag = f"M/M/{servers}, load {rho:.2f}"
    return [
        Check(f"{tag}: P(wait)", np.array([r[0] for r in reps]), p_wait),
        Check(f"{tag}: mean wait (min)", np.array([r[1] for r in reps]), wq),
    ]


# --------------------------------------------------------------------------- repayments


def _intensity_start(sim: Simulation) -> tuple[np.ndarray, np.ndarray, float]:
    """Entry intensity, floor and decay of the default behaviour model in ``sim``."""
    beh = sim.behaviour
    lam0, floor = beh.initial_state(sim.pf)  # type: ignore[attr-defined]
    return lam0, floor, float(beh.p["kappa"])  # type: ignore[attr-defined]


def repayment_checks(scenario: Scenario, t_days: int, replications: int) -> list[Check]:
    """With no actions (policy ``silent``, no hardship), the share of accounts with a
    repayment by ``t_days`` against ``1 - exp(-compensator)``."""
    est, th = [], []
    for r in range(replications):
        sim = _silent_sim(scenario, t_days, r)
        lam0, floor, kappa = _intensity_start(sim)
        est.append(float(np.mean(sim.st.first_payment_time < t_days)))
        th.append(theory.prob_repaid_by(lam0, floor, kappa, t_days))
    return [Check(f"P(repaid by day {t_days})", np.array(est), float(np.mean(th)))]


def full_payoff_amount_check(scenario: Scenario, t_days: int, replications: int) -> Check:
    """Expected total repaid by ``t_days`` (as a share of exposure) when every
    repayment pays in full, against its closed form."""
    est, th = [], []
    for r in range(replications):
        sim = _silent_sim(scenario, t_days, r)
        lam0, floor, kappa = _intensity_start(sim)
        pf = sim.pf
        exposure = pf.principal.sum()
        est.append(float(sim.st.collected.sum() / exposure))
        rate = pf.daily_rate * (1.0 + scenario.portfolio.penalty_multiplier)
        th.append(theory.amount_repaid_full_payoff(pf.principal, rate, lam0, floor, kappa, t_days) / exposure)
    return Check(f"amount repaid by day {t_days} / exposure (full payoff)", np.array(est), float(np.mean(th)))


def repayment_count_check(scenario: Scenario, t_days: int, replications: int) -> Check:
    """Mean number of repayments per account by ``t_days`` when no repayment pays in
    full, against the mean-intensity ODE solved with SciPy."""
    p = scenario.behaviour
    jump = float(p["delta10"]) + float(p["delta11"]) * p["fraction_a"] / (p["fraction_a"] + p["fraction_b"])
    est, th = [], []
    for r in range(replications):
        sim = _silent_sim(scenario, t_days, r)
        lam0, floor, kappa = _intensity_start(sim)
        est.append(float(np.mean(sim.st.repayments)))
        th.append(theory.expected_repayments(lam0, floor, kappa, jump, t_days))
    return Check(f"repayments per account by day {t_days} (no full payoff)", np.array(est), float(np.mean(th)))


def _silent_sim(scenario: Scenario, t_days: int, replication: int) -> Simulation:
    sc = dataclasses.replace(
        scenario, simulation=dataclasses.replace(scenario.simulation, horizon_days=t_days, legal_tail_days=0)
    )
    sim = Simulation(sc, replication)
    sim.run()
    return sim


# --------------------------------------------------------------------------- roll rates


def roll_rate_checks(scenario: Scenario, replications: int) -> list[Check]:
    """Monthly cure frequency per bucket with no actions against the configured matrix."""
    probs = np.asarray(scenario.behaviour["cure_prob"], dtype=float)
    per_bucket: list[list[float]] = [[] for _ in probs]
    for r in range(replications):
        sim = Simulation(scenario, r)
        sim.run()
        life = sim.st.close_time - sim.pf.entry_time
        cured = sim.st.cure_time - sim.pf.entry_time
        months = int(scenario.simulation.horizon_days // 30)
        for b in range(len(probs)):
            ms = [b] if b < len(probs) - 1 else list(range(b, months))
            at_risk = cured_in = 0
            for m in ms:
                open_at = life >= 30 * m
                at_risk += int(open_at.sum())
                cured_in += int((open_at & (cured < 30 * (m + 1))).sum())
            per_bucket[b].append(cured_in / at_risk)
    names = ["M1", "M2", "M3", "M3+"]
    return [
        Check(f"roll_rate: monthly cure in {names[b]}", np.array(v), float(probs[b])) for b, v in enumerate(per_bucket)
    ]


# --------------------------------------------------------------------------- the suite

_CONSTANT_REACH = [
    *(f"portfolio.segments.{i}.contactability={{kind:constant,value:1.0}}" for i in range(3)),
    "portfolio.reach_by_hour=[" + ",".join(["1.0"] * 24) + "]",
]
_NO_HARDSHIP = [f"portfolio.segments.{i}.hardship_prob=0.0" for i in range(3)]

#: A round-the-clock team that always reaches the borrower, with exponential handle
#: times and no contact rules: the collector pool as an M/M/c queue.
MMC_OVERRIDES = [
    "portfolio.n_accounts=100",
    "collectors.shift_start_hour=0",
    "collectors.shift_end_hour=24",
    "collectors.break_minutes=0",
    "collectors.connected_minutes={kind:exponential,mean:4.0,low:null,high:null}",
    "compliance.window_start_hour=0",
    "compliance.window_end_hour=24",
    "compliance.max_connected_per_day=null",
    "compliance.max_unanswered_per_day=null",
    *_CONSTANT_REACH,
]
#: (servers, calls per minute) with 4-minute mean handle time: loads 0.60, 0.72, 0.90.
MMC_CASES = [(2, 0.3), (5, 0.9), (3, 0.675)]
#: No contact at all and no hardship shocks: the behaviour model on its own.
# No competing creditors: their share moves the floor day by day, which the closed forms
# (a constant floor, constant monthly cure chances) leave out.
SILENT_OVERRIDES = ["policy=silent", "portfolio.arrival=cohort", "response.competition_rate=0", *_NO_HARDSHIP]


def all_checks(load: Any, scale: int = 1, seed: int = 0) -> list[Check]:
    """Every theory check. ``load(overrides)`` builds a scenario (e.g.
    ``collectsim.load_scenario``); ``scale`` multiplies portfolio sizes and runs;
    ``seed`` is the base seed of every run."""

    def at_seed(overrides: list[str]) -> Any:
        return load([*overrides, f"seed={seed}"])

    out: list[Check] = []
    for servers, lam in MMC_CASES:
        sc = at_seed([*MMC_OVERRIDES, f"collectors.size={servers}"])
        # The queue starts empty: three days of warm-up are dropped, and twelve days or
        # more keep the heavily loaded case's mean wait close to its stationary value
        # (over seeds 1-20 at scale 1 the intervals then contain Erlang C 115 times in
        # 120; with four days and one of warm-up the mean wait of M/M/3 at load 0.9 came
        # out 0.65 minutes low and the suite failed its family-wise test at 4 seeds in 20).
        out += mmc_checks(sc, lam, servers, 4.0, days=10.0 + 2.0 * scale, warmup_days=3.0, replications=10)
    n = 5000 * scale
    sc = at_seed([*SILENT_OVERRIDES, f"portfolio.n_accounts={n}"])
    for t in (7, 30, 90):
        out += repayment_checks(sc, t, 8)
    full = at_seed(
        [
            *SILENT_OVERRIDES,
            f"portfolio.n_accounts={n}",
            "behaviour.full_payoff_base=1.0",
            "behaviour.full_payoff_ability_exp=0.0",
        ]
    )
    out += [full_payoff_amount_check(full, t, 8) for t in (30, 90)]
    # Subcritical self-excitation (mean jump 0.07 < kappa 0.1) and no full payoff.
    partial = at_seed(
        [*SILENT_OVERRIDES, f"portfolio.n_accounts={n}", "behaviour.full_payoff_base=0.0", "behaviour.delta11=0.1"]
    )
    out += [repayment_count_check(partial, t, 8) for t in (10, 30)]
    roll = at_seed(
        [
            "policy=silent",
            "portfolio.arrival=cohort",
            "response.competition_rate=0",
            "behaviour=roll_rate",
            f"portfolio.n_accounts={4 * n}",
        ]
    )
    out += roll_rate_checks(roll, 8)
    return out
