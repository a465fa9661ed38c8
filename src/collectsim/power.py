"""Sizing a live champion/challenger test by simulation.

A lender that wants to try a new collection policy on real borrowers splits the newly
delinquent accounts at random between the champion (today's policy) and the challenger,
waits for the outcome and tests the difference. Unlike the simulator, it has no common
random numbers: each arm holds different borrowers, so the test has to see through the
spread between borrowers, and amounts collected are mostly the whole balance or nothing,
with a long tail of large balances.

The command simulates that test as the lender would run it:

1. **The live test inside the model.** The default centre runs the ``champion_challenger``
   policy: every entering account is assigned to an arm at random, and the two arms share
   one team, one queue and one dialler, as they would in a lender's centre (so arms that
   compete for agents interfere, as they do in a real test). Each measured account gives
   its outcome: the amount recovered within ``horizon`` days of entry (or by its end).
   Several replications (different borrowers) are pooled into each arm's population.
2. **Many live tests.** A test of ``n`` accounts per arm is ``n`` accounts drawn at random
   from each arm's population (with replacement: the population stands for the lender's
   borrowers). The lender's test is Welch's two-sample t-test on the mean outcome per
   account, two-sided: with thousands of accounts per arm the central limit theorem
   covers the skewed, zero-heavy amounts, and it is what an analyst runs on such data.
   The share of ``draws`` tests that reject at ``alpha`` is the power at ``n``, with a
   Clopper-Pearson interval; a grid of ``n`` around the normal-approximation size finds
   where it crosses the target (80%).
3. **Beside it, the simulator's own comparison**: the same two policies run as whole
   books on common random numbers (the same borrowers, the same draws), ``crn``
   replications, paired; its interval on the mean outcome per account shows why a handful
   of paired runs settle what the live test needs thousands of accounts for.

    collectsim-power --champion soft_first --challenger early_escalation
    collectsim-power --outcome recovered --replications 3 portfolio=hardship

docs/power.md has a worked example.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from collectsim.errors import CollectsimError, ConfigError

if TYPE_CHECKING:
    from collectsim.scenario_types import Scenario

#: outcome name -> what it reads per account (yuan)
OUTCOMES = {
    "recovered_30d": "recovered within 30 days of entry",
    "recovered_60d": "recovered within 60 days of entry",
    "recovered_90d": "recovered within 90 days of entry",
    "recovered": "recovered by the end of the account's life (payments and sale proceeds)",
}
#: horizon in days the lender waits after the last enrolment, per outcome (``recovered``:
#: the in-house horizon, read from the scenario)
_HORIZON = {"recovered_30d": 30, "recovered_60d": 60, "recovered_90d": 90}
#: multiples of the normal-approximation size at which the power is simulated
GRID = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)


# --------------------------------------------------------------------------- the statistics
def normal_power(a: np.ndarray, b: np.ndarray, n: int, alpha: float = 0.05) -> float:
    """Power of a two-sided z-test of equal means at ``n`` accounts per arm, for arms drawn
    from the populations ``a`` and ``b`` (their means and variances taken as the truth)."""
    se = math.sqrt((float(np.var(a)) + float(np.var(b))) / n)
    if se == 0.0:
        return float(float(np.mean(a)) != float(np.mean(b)))
    z = stats.norm.ppf(1.0 - alpha / 2.0)
    d = abs(float(np.mean(b)) - float(np.mean(a))) / se
    return float(stats.norm.cdf(d - z) + stats.norm.cdf(-d - z))


def normal_n(a: np.ndarray, b: np.ndarray, alpha: float = 0.05, power: float = 0.8) -> float:
    """Accounts per arm the normal approximation needs: ``(z_{1-alpha/2} + z_power)^2
    (var_a + var_b) / delta^2`` (infinite when the means are equal)."""
    delta = float(np.mean(b)) - float(np.mean(a))
    if delta == 0.0:
        return math.inf
    z = stats.norm.ppf(1.0 - alpha / 2.0) + stats.norm.ppf(power)
    return float(z * z * (float(np.var(a)) + float(np.var(b))) / (delta * delta))


def _sample_stats(pop: np.ndarray, n: int, draws: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Means and sample standard deviations of ``draws`` samples of ``n`` drawn with
    replacement from ``pop`` (by index for small samples, by multinomial counts for
    samples larger than the population, so memory does not grow with ``n``)."""
    means, sds = np.empty(draws), np.empty(draws)
    size = pop.size
    chunk = max(1, min(draws, 4_000_000 // max(min(n, size), 1)))
    for lo in range(0, draws, chunk):
        k = min(chunk, draws - lo)
        if n <= size:
            x = pop[rng.integers(0, size, size=(k, n))]
            means[lo : lo + k] = x.mean(axis=1)
            sds[lo : lo + k] = x.std(axis=1, ddof=1)
        else:
            counts = rng.multinomial(n, np.full(size, 1.0 / size), size=k)
            s1, s2 = counts @ pop, counts @ (pop * pop)
            means[lo : lo + k] = s1 / n
            sds[lo : lo + k] = np.sqrt(np.maximum(s2 - s1 * s1 / n, 0.0) / (n - 1))
    return means, sds


@dataclass(frozen=True)
class PowerPoint:
    """The simulated power at ``n`` accounts per arm, with its Clopper-Pearson interval."""

    n: int
    power: float
    low: float
    high: float
    normal: float


def simulated_power(
    a: np.ndarray, b: np.ndarray, n: int, *, alpha: float = 0.05, draws: int = 2000, seed: int = 0, level: float = 0.95
) -> PowerPoint:
    """Share of ``draws`` Welch t-tests of ``n`` accounts per arm, drawn from the
    populations ``a`` and ``b``, that reject equal means at ``alpha`` (two-sided)."""
    if n < 2:
        raise ValueError(f"n must be >= 2 accounts per arm, got {n}")
    rng = np.random.default_rng(seed)
    ma, sa = _sample_stats(np.asarray(a, dtype=float), n, draws, rng)
    mb, sb = _sample_stats(np.asarray(b, dtype=float), n, draws, rng)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = stats.ttest_ind_from_stats(ma, sa, n, mb, sb, n, equal_var=False).pvalue
    hits = int(np.sum(np.nan_to_num(p, nan=1.0) < alpha))
    ci = stats.binomtest(hits, draws).proportion_ci(level, method="exact")
    return PowerPoint(n, hits / draws, float(ci.low), float(ci.high), normal_power(a, b, n, alpha))


def power_curve(
    a: np.ndarray,
    b: np.ndarray,
    *,
    alpha: float = 0.05,
    target: float = 0.8,
    draws: int = 2000,
    seed: int = 0,
    grid: Sequence[float] = GRID,
) -> tuple[list[PowerPoint], float]:
    """Simulated power at multiples of the normal-approximation size, and the accounts
    per arm where the simulated power first reaches ``target`` (linear interpolation
    between grid points; infinite when it is not reached on the grid)."""
    n0 = normal_n(a, b, alpha, target)
    if not math.isfinite(n0):
        return [], math.inf
    ns = sorted({max(2, int(round(f * n0))) for f in grid})
    points = [simulated_power(a, b, n, alpha=alpha, draws=draws, seed=seed + k) for k, n in enumerate(ns)]
    need = math.inf
    for lo, hi in zip([None, *points[:-1]], points):
        if hi.power >= target:
            if lo is None or hi.power == lo.power:
                need = float(hi.n)
            else:
                need = lo.n + (target - lo.power) * (hi.n - lo.n) / (hi.power - lo.power)
            break
    return points, need


# --------------------------------------------------------------------------- the model
def _outcome(sim: Any, outcome: str) -> np.ndarray:
    st = sim.st
    if outcome == "recovered":
        return np.asarray(st.collected + st.sale_proceeds, dtype=float)
    return np.asarray(getattr(st, outcome), dtype=float)


def live_test(
    champion: str,
    challenger: str,
    overrides: Sequence[str] = (),
    *,
    outcome: str = "recovered_90d",
    replications: int = 2,
    share: float = 0.5,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, Scenario]:
    """Per measured account, the outcome of each arm of a randomised split run inside
    the model (replications pooled), and the split run's scenario."""
    from collectsim.config import load_scenario
    from collectsim.engine import Simulation
    from collectsim.policies.champion_challenger import ChampionChallenger

    sc = load_scenario(
        [
            "policy=champion_challenger",
            f"policy@policy.champion={champion}",
            f"policy@policy.challenger={challenger}",
            f"policy.challenger_share={share}",
            *overrides,
        ]
    )
    arms: list[list[np.ndarray]] = [[], []]
    for r in range(replications):
        t0 = time.perf_counter()
        sim = Simulation(sc, r)
        sim.run()
        y, m = _outcome(sim, outcome), sim.pf.measured
        policy = sim.policy
        assert isinstance(policy, ChampionChallenger)
        split = policy.arms
        for k in (0, 1):
            arms[k].append(y[m & (split == k)])
        if progress:
            progress(f"live test, replication {r + 1}/{replications}: {time.perf_counter() - t0:.0f} s")
    return np.concatenate(arms[0]), np.concatenate(arms[1]), sc


def crn_comparison(
    champion: str,
    challenger: str,
    overrides: Sequence[str] = (),
    *,
    outcome: str = "recovered_90d",
    replications: int = 3,
    progress: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """The two policies run as whole books on common random numbers: the paired
    difference of the mean outcome per measured account, with its 95% t-interval."""
    from collectsim.config import load_scenario
    from collectsim.engine import Simulation
    from collectsim.stats import t_interval

    scenarios = {policy: load_scenario([f"policy={policy}", *overrides]) for policy in (champion, challenger)}
    diffs, accounts = [], 0
    for r in range(replications):
        means = []
        for policy, sc in scenarios.items():
            t0 = time.perf_counter()
            sim = Simulation(sc, r)
            sim.run()
            y, m = _outcome(sim, outcome), sim.pf.measured
            accounts = int(m.sum())
            means.append(float(y[m].mean()))
            if progress:
                progress(f"paired runs, replication {r + 1}/{replications}, {policy}: {time.perf_counter() - t0:.0f} s")
        diffs.append(means[1] - means[0])
    mean, hw, n = t_interval(np.array(diffs))
    return {"difference": mean, "half_width": hw, "replications": n, "accounts_per_run": accounts}


# --------------------------------------------------------------------------- the command
@dataclass
class Sizing:
    """What the command found (also written as JSON with ``--json``)."""

    champion: str
    challenger: str
    outcome: str
    alpha: float
    target: float
    accounts_simulated: list[int]
    mean: list[float]
    sd: list[float]
    normal_n: float
    needed_n: float
    inflow_per_day: float
    share: float
    horizon_days: float
    curve: list[dict[str, float]] = field(default_factory=list)
    crn: dict[str, float] = field(default_factory=dict)

    @property
    def enrolment_weeks(self) -> float:
        """Weeks of inflow to put ``needed_n`` accounts in the smaller arm."""
        per_arm = self.inflow_per_day * min(self.share, 1.0 - self.share)
        return self.needed_n / per_arm / 7.0 if per_arm > 0 else math.inf


def report(s: Sizing) -> str:
    """The command's plain-text answer."""
    delta = s.mean[1] - s.mean[0]
    lines = [
        f"live champion/challenger test: {s.champion} (champion) against {s.challenger}, "
        f"outcome: {OUTCOMES[s.outcome]} (yuan per account)",
        f"  simulated arms: {s.accounts_simulated[0]:,} and {s.accounts_simulated[1]:,} accounts; mean "
        f"{s.mean[0]:,.0f} and {s.mean[1]:,.0f} (difference {delta:+,.0f}), sd {s.sd[0]:,.0f} and {s.sd[1]:,.0f}",
        f"  test: Welch's two-sample t-test, two-sided, alpha {s.alpha:g}; target power {s.target:.0%}",
        "",
        "  accounts per arm   power (95% CI)          normal approximation",
    ]
    for p in s.curve:
        lines.append(f"  {int(p['n']):>16,}   {p['power']:.3f} ({p['low']:.3f}-{p['high']:.3f})   {p['normal']:.3f}")
    if math.isfinite(s.needed_n):
        lines += [
            "",
            f"  needed: about {s.needed_n:,.0f} accounts per arm ({2 * s.needed_n:,.0f} in the test; normal "
            f"approximation {s.normal_n:,.0f})",
            f"  time: {s.enrolment_weeks:.1f} weeks of enrolment at {s.inflow_per_day:,.0f} new delinquent "
            f"accounts a day (share {s.share:g} to the challenger), then {s.horizon_days / 7:.1f} weeks to read "
            "the outcome",
        ]
        if s.needed_n > min(s.accounts_simulated):
            lines.append(
                "  note: the test needs more accounts than were simulated per arm; the power rests on drawing "
                "from a smaller population (more --replications widen it)"
            )
    else:
        lines.append("  the arms' simulated means are equal: no test size reaches the target")
    if s.crn:
        c = s.crn
        lines += [
            "",
            f"  the simulator's paired comparison ({int(c['replications'])} replications per policy on common random "
            f"numbers, {int(c['accounts_per_run']):,} measured accounts a run): difference "
            f"{c['difference']:+,.0f} ± {c['half_width']:,.0f} yuan per account (95%)",
        ]
    return "\n".join(lines)


def size_test(args: argparse.Namespace, progress: Callable[[str], None] | None = None) -> Sizing:
    """Run the live test in the model, its power curve and the paired comparison."""
    a, b, sc = live_test(
        args.champion,
        args.challenger,
        args.overrides,
        outcome=args.outcome,
        replications=args.replications,
        share=args.share,
        progress=progress,
    )
    if progress:
        progress(f"power at {len(GRID)} test sizes, {args.draws} simulated tests each ...")
    curve, need = power_curve(a, b, alpha=args.alpha, target=args.power, draws=args.draws, seed=args.seed)
    crn = (
        crn_comparison(
            args.champion,
            args.challenger,
            args.overrides,
            outcome=args.outcome,
            replications=args.crn,
            progress=progress,
        )
        if args.crn >= 2
        else {}
    )
    p = sc.portfolio
    inflow = p.n_accounts / (p.span_days if p.arrival == "stream" else 1.0)
    horizon = _HORIZON.get(args.outcome) or float(sc.simulation.horizon_days)
    return Sizing(
        args.champion,
        args.challenger,
        args.outcome,
        args.alpha,
        args.power,
        [int(a.size), int(b.size)],
        [float(a.mean()), float(b.mean())],
        [float(a.std()), float(b.std())],
        normal_n(a, b, args.alpha, args.power),
        need,
        inflow,
        args.share,
        float(horizon),
        [asdict(p) for p in curve],
        crn,
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="collectsim-power",
        description="Accounts and weeks a live champion/challenger test needs for the target power, "
        "simulated as a lender would run it (a random split, one shared team), beside the simulator's "
        "paired comparison.",
    )
    p.add_argument("--champion", default="soft_first", help="the policy in use (default soft_first)")
    p.add_argument("--challenger", default="early_escalation", help="the policy tried (default early_escalation)")
    p.add_argument("--outcome", default="recovered_90d", choices=sorted(OUTCOMES), help="per-account outcome")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level, two-sided (default 0.05)")
    p.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    p.add_argument("--share", type=float, default=0.5, help="share of accounts given to the challenger")
    p.add_argument("--replications", type=int, default=2, help="split runs pooled into the arms (default 2)")
    p.add_argument("--crn", type=int, default=3, help="paired replications per policy (default 3; 0 skips)")
    p.add_argument("--draws", type=int, default=2000, help="simulated tests per size (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated tests' draws")
    p.add_argument("--json", default=None, help="also write the result to this JSON file")
    p.add_argument("overrides", nargs="*", help="Hydra-style overrides of the scenario, e.g. portfolio=hardship")
    return p


def check_args(args: argparse.Namespace) -> None:
    """One clear error per bad option, naming it and what is allowed."""
    from collectsim.config import group_options

    policies = [
        p for p in group_options("policy") if p not in ("call_holdout", "champion_challenger", "tunable_staged")
    ]
    for opt in ("champion", "challenger"):
        name = getattr(args, opt)
        if name not in policies:
            raise ConfigError(f"--{opt}={name} is not a policy; allowed: {', '.join(policies)}")
    if args.champion == args.challenger:
        raise ConfigError("--champion and --challenger name the same policy")
    for opt, lo, hi in (("alpha", 0.0, 1.0), ("power", 0.0, 1.0), ("share", 0.0, 1.0)):
        v = getattr(args, opt)
        if not lo < v < hi:
            raise ConfigError(f"--{opt} must lie strictly between {lo:g} and {hi:g}, got {v:g}")
    for opt, least in (("replications", 1), ("draws", 100)):
        if getattr(args, opt) < least:
            raise ConfigError(f"--{opt} must be >= {least}, got {getattr(args, opt)}")
    if args.crn == 1 or args.crn < 0:
        raise ConfigError(f"--crn must be 0 (skip) or >= 2, got {args.crn}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        check_args(args)
        t0 = time.perf_counter()
        sizing = size_test(args, lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    except CollectsimError as exc:
        print(f"collectsim-power: error: {exc}", file=sys.stderr)
        return 2
    print(report(sizing))
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({**asdict(sizing), "enrolment_weeks": sizing.enrolment_weeks}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
