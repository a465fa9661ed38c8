"""Running a sensitivity study: the paired simulations at each point, Morris screening and Sobol indices.

Every policy (the baseline and each challenger) runs on the same seeds at every sampled
point (SALib's Morris and Saltelli designs), through the Python API; the replications of
all points are spread over processes with joblib.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from collectsim.config import CAPACITIES as CAPACITIES
from collectsim.config import scaled_capacities as scaled_capacities
from collectsim.errors import ConfigError
from collectsim.sensitivity.analysis import d_col, drivers, flip_table, se_col, sign_table, wins_table
from collectsim.sensitivity.design import CONFIDENCE, DEFAULT_FACTORS, OUTPUTS, Factor, Settings

# --------------------------------------------------------------------------- evaluation


#: Seconds between two progress lines while the points are evaluated.
PROGRESS_SECONDS = 30.0


def book_accounts(s: Settings) -> int:
    """The study's number of accounts: ``s.accounts``, or one collector's share of the
    default book (its accounts over the default team) when None."""
    if s.accounts is not None:
        return int(s.accounts)
    from collectsim.config import compose

    cfg = compose(list(s.overrides))
    return max(1, round(int(cfg.portfolio.n_accounts) / max(1, int(cfg.collectors.size))))


def base_scenarios(s: Settings) -> dict[str, dict[str, Any]]:
    """The scenario of each policy as a plain dict (composed once, modified per sample)."""
    from omegaconf import OmegaConf

    from collectsim.config import SCENARIO_KEYS, compose

    accounts = book_accounts(s)
    common = [
        f"portfolio.n_accounts={accounts}",
        *scaled_capacities(accounts, s.overrides),
        f"seed={s.seed}",
        *s.overrides,
    ]
    out = {}
    for pol in s.policies:
        cfg = OmegaConf.to_container(compose([*common, f"policy={pol}"]), resolve=True)
        assert isinstance(cfg, dict)
        out[pol] = {k: cfg[k] for k in SCENARIO_KEYS}
    return out


def evaluate_replication(
    bases: dict[str, dict[str, Any]],
    factors: Sequence[Factor],
    x: Sequence[float],
    policies: Sequence[str],
    replication: int,
    outputs: Sequence[str] = OUTPUTS,
) -> dict[str, float]:
    """Run every policy at factor values ``x``, replication ``replication`` (the same seeds
    for all); return each output as ``<policy>:<kpi>``."""
    from collectsim.api import run
    from collectsim.scenario import scenario_from_dict

    out: dict[str, float] = {}
    for pol in policies:
        data = copy.deepcopy(bases[pol])
        for f, v in zip(factors, x, strict=True):
            f.apply(data, v)
        kpis = run(scenario_from_dict(data), replication).kpis
        for k in outputs:
            out[f"{pol}:{k}"] = float(kpis[k])
    return out


def summarise(
    reps: Sequence[dict[str, float]], baseline: str, challengers: Sequence[str], outputs: Sequence[str] = OUTPUTS
) -> dict[str, float]:
    """One point's row from its replications: each policy's mean ``<policy>_<kpi>``, the mean
    paired difference ``d_<challenger>_<kpi>`` = baseline − challenger and its standard error
    ``se_<challenger>_<kpi>`` (NaN from a single replication)."""
    row: dict[str, float] = {}
    for k in outputs:
        base = np.array([r[f"{baseline}:{k}"] for r in reps])
        row[f"{baseline}_{k}"] = float(base.mean())
        for c in challengers:
            other = np.array([r[f"{c}:{k}"] for r in reps])
            d = base - other
            row[f"{c}_{k}"] = float(other.mean())
            row[d_col(c, k)] = float(d.mean())
            row[se_col(c, k)] = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else float("nan")
    return row


def evaluate(
    bases: dict[str, dict[str, Any]],
    factors: Sequence[Factor],
    x: Sequence[float],
    baseline: str,
    challengers: Sequence[str],
    replications: int,
    outputs: Sequence[str] = OUTPUTS,
) -> dict[str, float]:
    """Run every policy at factor values ``x`` on replications ``0 .. replications-1``; the
    point's row (see :func:`summarise`)."""
    pols = [baseline, *challengers]
    reps = [evaluate_replication(bases, factors, x, pols, r, outputs) for r in range(replications)]
    return summarise(reps, baseline, challengers, outputs)


def evaluate_all(
    bases: dict[str, dict[str, Any]],
    factors: Sequence[Factor],
    X: np.ndarray,
    s: Settings,
    log: Callable[[str], None] = lambda m: None,
    replications: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Evaluate every row of ``X`` (row ``i`` on ``replications[i]`` replications, default
    ``s.replications``), the replications spread over ``s.n_jobs`` processes."""
    from joblib import Parallel, delayed

    reps_of = [s.replications] * len(X) if replications is None else list(replications)
    tasks = [(i, r) for i in range(len(X)) for r in range(reps_of[i])]
    t0 = time.perf_counter()
    if s.n_jobs == 1:
        results: Any = (evaluate_replication(bases, factors, X[i], s.policies, r) for i, r in tasks)
    else:
        # In order, as they finish: the results keep the order of the tasks.
        results = Parallel(n_jobs=s.n_jobs, return_as="generator")(
            delayed(evaluate_replication)(bases, factors, X[i], s.policies, r) for i, r in tasks
        )
    done: list[dict[str, float]] = []
    last = t0
    for res in results:
        done.append(res)
        now = time.perf_counter()
        if now - last >= PROGRESS_SECONDS and len(done) < len(tasks):
            last = now
            eta = (now - t0) / len(done) * (len(tasks) - len(done))
            log(
                f"  {len(done)}/{len(tasks)} runs of {len(s.policies)} policies, {now - t0:.0f} s, about {eta:.0f} s to go"
            )
    log(f"  {len(X)} points, {len(tasks)} runs of {len(s.policies)} policies in {time.perf_counter() - t0:.0f} s")
    rows, j = [], 0
    for n in reps_of:
        rows.append(summarise(done[j : j + n], s.baseline, s.challengers))
        j += n
    df = pd.DataFrame(X, columns=[f.name for f in factors])
    return pd.concat([df, pd.DataFrame(rows)], axis=1)


# --------------------------------------------------------------------------- the study


@dataclass
class Study:
    """Results of :func:`run_study` (tables as written to the output folder). ``drivers``:
    each challenger's two strongest drivers of Δ output; ``wins``, ``signs`` and ``flips``
    the tables of :mod:`collectsim.sensitivity.analysis`."""

    settings: Settings
    factors: list[Factor]
    samples: pd.DataFrame
    indices: pd.DataFrame
    flips: pd.DataFrame
    drivers: dict[str, list[str]]
    nominal: dict[str, float]
    seconds: float
    notes: list[str] = field(default_factory=list)
    signs: pd.DataFrame = field(default_factory=pd.DataFrame)
    wins: pd.DataFrame = field(default_factory=pd.DataFrame)


def _problem(factors: Sequence[Factor]) -> dict[str, Any]:
    return {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": [[f.low, f.high] for f in factors]}


def analyse(
    s: Settings,
    factors: list[Factor],
    samples: pd.DataFrame,
    indices: pd.DataFrame,
    nominal: dict[str, float],
    seconds: float,
    notes: list[str],
) -> Study:
    """The study from its samples and indices: drivers, wins, signs and flips (also used to reread one)."""
    drv = {c: drivers(indices, c, s.output) for c in s.challengers}
    flips = flip_table(samples, factors, drv, s.output, bins=3 if s.mode == "tiny" else 4)
    morris = samples[samples["design"] == "morris"].reset_index(drop=True)
    signs = sign_table(morris, factors, s.challengers, s.output)
    wins = wins_table(samples, s.challengers, s.output)
    return Study(s, factors, samples, indices, flips, drv, nominal, seconds, notes, signs, wins)


def _morris_indices(
    s: Settings, problem: dict[str, Any], X: np.ndarray, morris_df: pd.DataFrame
) -> list[dict[str, Any]]:
    from SALib.analyze import morris as morris_analyze

    rows: list[dict[str, Any]] = []
    for c in s.challengers:
        for k in OUTPUTS:
            r = morris_analyze.analyze(
                problem,
                X,
                morris_df[d_col(c, k)].to_numpy(),
                num_levels=s.morris_levels,
                conf_level=CONFIDENCE,
                num_resamples=1000,
                seed=s.seed,
            )
            for i, name in enumerate(r["names"]):
                rows.append(
                    {
                        "method": "morris",
                        "challenger": c,
                        "output": k,
                        "factor": name,
                        "mu": r["mu"][i],
                        "mu_star": r["mu_star"][i],
                        "mu_star_conf": r["mu_star_conf"][i],
                        "sigma": r["sigma"][i],
                    }
                )
    return rows


def _kept_for_sobol(s: Settings, indices: pd.DataFrame) -> list[str]:
    """The factors Sobol looks at: in turn each challenger's strongest (by mu* on Δ output,
    at least a tenth of its largest), at most ``s.sobol_max_factors`` (at least 2)."""
    ranked = []
    for c in s.challengers:
        m = indices[(indices["challenger"] == c) & (indices["output"] == s.output)]
        m = m.sort_values("mu_star", ascending=False, kind="stable")
        top = m["mu_star"].max()
        ranked.append([str(f) for f, v in zip(m["factor"], m["mu_star"], strict=True) if top > 0 and v >= 0.1 * top])
    kept: list[str] = []
    for depth in range(max((len(r) for r in ranked), default=0)):
        for r in ranked:
            if depth < len(r) and r[depth] not in kept:
                kept.append(r[depth])
    limit = max(2, s.sobol_max_factors)
    if len(kept) < 2:
        names = list(indices["factor"].drop_duplicates())
        kept += [n for n in names if n not in kept][: 2 - len(kept)]
    return kept[:limit]


def _sobol(
    s: Settings,
    factors: list[Factor],
    nominal_x: list[float],
    indices: pd.DataFrame,
    bases: dict[str, dict[str, Any]],
    notes: list[str],
    log: Callable[[str], None],
) -> tuple[pd.DataFrame | None, list[dict[str, Any]]]:
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    if s.sobol_n <= 0:
        notes.append("Sobol skipped (sobol_n 0): the ranking is Morris's")
        return None, []
    kept = _kept_for_sobol(s, indices)
    sub = [f for f in factors if f.name in kept]
    sub_problem = _problem(sub)
    Xs = sobol_sample.sample(sub_problem, s.sobol_n, calc_second_order=False, seed=s.seed)
    log(f"Sobol: N={s.sobol_n} on {', '.join(f.name for f in sub)} ({len(Xs)} points), the others at their defaults")
    full = np.tile(np.asarray(nominal_x, dtype=float), (len(Xs), 1))
    for j, f in enumerate(sub):
        full[:, factors.index(f)] = Xs[:, j]
    sobol_df = evaluate_all(bases, factors, full, s, log).assign(design="sobol")
    rows: list[dict[str, Any]] = []
    for c in s.challengers:
        for k in OUTPUTS:
            y = sobol_df[d_col(c, k)].to_numpy()
            if not np.isfinite(y).all() or np.std(y) == 0:
                notes.append(f"Sobol indices of Δ {k} for {c} not computed (constant or non-finite output)")
                continue
            r = sobol_analyze.analyze(
                sub_problem, y, calc_second_order=False, conf_level=CONFIDENCE, num_resamples=1000, seed=s.seed
            )
            for i, f in enumerate(sub):
                rows.append(
                    {
                        "method": "sobol",
                        "challenger": c,
                        "output": k,
                        "factor": f.name,
                        "S1": r["S1"][i],
                        "S1_conf": r["S1_conf"][i],
                        "ST": r["ST"][i],
                        "ST_conf": r["ST_conf"][i],
                    }
                )
    if s.sobol_n < 64:
        notes.append(
            f"Sobol with N={s.sobol_n} base samples gives wide intervals; treat the Sobol indices as "
            "indicative and rely on the Morris ranking (use --mode full or --sobol-n 256 for firmer ones)"
        )
    return sobol_df, rows


def run_study(
    s: Settings, factors: Sequence[Factor] = DEFAULT_FACTORS, log: Callable[[str], None] = lambda m: None
) -> Study:
    """The defaults on ``s.nominal_replications``, Morris screening, Sobol on the kept factors
    (when ``s.sobol_n`` > 0), then wins, signs and flips."""
    from SALib.sample import morris as morris_sample

    if s.output not in OUTPUTS:
        raise ConfigError(f"output must be one of {', '.join(OUTPUTS)}, got {s.output!r}")
    t0 = time.perf_counter()
    s = replace(s, accounts=book_accounts(s))
    factors = list(factors)
    notes: list[str] = []
    bases = base_scenarios(s)
    nominal_x = [f.nominal(bases[s.baseline]) for f in factors]
    problem = _problem(factors)
    X = morris_sample.sample(problem, N=s.morris_r, num_levels=s.morris_levels, seed=s.seed)
    log(
        f"{len(s.policies)} policies on {s.accounts:,} accounts; the defaults ({s.nominal_replications} replications) "
        f"and Morris screening: {s.morris_r} trajectories of {len(factors)} factors ({len(X)} points)"
    )
    first = evaluate_all(
        bases,
        factors,
        np.vstack([np.asarray(nominal_x, dtype=float), X]),
        s,
        log,
        replications=[s.nominal_replications] + [s.replications] * len(X),
    )
    nominal = first.iloc[0].to_dict()
    morris_df = first.iloc[1:].reset_index(drop=True).assign(design="morris")
    # A point's own standard error needs two replications; from one, the paired spread at
    # the defaults stands in for it (common seeds: the noise is much the same everywhere).
    if s.replications == 1:
        for c in s.challengers:
            for k in OUTPUTS:
                morris_df[se_col(c, k)] = nominal[se_col(c, k)] * math.sqrt(s.nominal_replications)
    indices = pd.DataFrame(_morris_indices(s, problem, X, morris_df))
    sobol_df, sobol_rows = _sobol(s, factors, nominal_x, indices, bases, notes, log)
    samples = [morris_df]
    if sobol_df is not None:
        if s.replications == 1:
            for c in s.challengers:
                for k in OUTPUTS:
                    sobol_df[se_col(c, k)] = nominal[se_col(c, k)] * math.sqrt(s.nominal_replications)
        samples.append(sobol_df)
        indices = pd.concat([indices, pd.DataFrame(sobol_rows)], ignore_index=True)
    all_samples = pd.concat(samples, ignore_index=True)
    if s.replications == 1:
        notes.append(
            f"one replication per point: a point's standard error is the paired spread of one replication at "
            f"the defaults (over {s.nominal_replications} replications)"
        )
    _null_notes(s, indices, morris_df, notes)
    for c in s.challengers:
        noise = nominal.get(se_col(c, s.output), float("nan")) * math.sqrt(s.nominal_replications / s.replications)
        if np.isfinite(noise):
            small = float((all_samples[d_col(c, s.output)].abs() < 2 * noise).mean())
            if small > 0.25:
                notes.append(
                    f"{c}: {small:.0%} of the points have |Δ {s.output}| below twice the replication noise "
                    f"({noise:,.4g}); there the sign is not resolved"
                )
    nominal.update({f.name: v for f, v in zip(factors, nominal_x, strict=True)})
    return analyse(s, factors, all_samples, indices, nominal, time.perf_counter() - t0, notes)


def _null_notes(s: Settings, indices: pd.DataFrame, morris_df: pd.DataFrame, notes: list[str]) -> None:
    """A note for each factor with no effect at all on Δ output, naming the challengers."""
    m = indices[(indices["method"] == "morris") & (indices["output"] == s.output)]
    for name, g in m.groupby("factor", sort=False):
        if morris_df[str(name)].nunique() < 2:
            continue
        null = [str(c) for c, v in zip(g["challenger"], g["mu_star"], strict=True) if v == 0]
        if not null:
            continue
        who = "every challenger" if len(null) == len(s.challengers) else ", ".join(null)
        why = (
            f": neither {s.baseline} nor {', '.join(null)} reads the lender score (queue_order expected_recovery does)"
            if name == "score_auc"
            else ""
        )
        notes.append(f"{name} has no effect at all on Δ {s.output} for {who}{why}")
