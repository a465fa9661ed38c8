"""Running a sensitivity study: the paired simulations at each point, Morris screening and Sobol indices.

Both policies run on the same seeds at every sampled point (SALib's Morris and Saltelli
designs), through the Python API, spread over processes with joblib.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from collectsim.errors import ConfigError
from collectsim.sensitivity.analysis import _drivers, flip_table
from collectsim.sensitivity.design import CONFIDENCE, DEFAULT_FACTORS, OUTPUTS, Factor, Settings

# --------------------------------------------------------------------------- evaluation


#: Seconds between two progress lines while the points are evaluated.
PROGRESS_SECONDS = 30.0

#: Capacities scaled with the book, as the defaults have them for their book size.
CAPACITIES = ("collectors.size", "channels.lawsuit.team_size", "channels.voice_lines_per_day")


def scaled_capacities(accounts: int, overrides: Sequence[str]) -> list[str]:
    """Overrides giving a book of ``accounts`` the default team, lawyers and dialler
    lines per account (at least one of each), except where ``overrides`` set them."""
    from omegaconf import OmegaConf

    from collectsim.config import compose

    cfg = compose(list(overrides))
    ratio = accounts / int(cfg.portfolio.n_accounts)
    given = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
    return [
        f"{key}={max(1, round(float(OmegaConf.select(cfg, key)) * ratio))}" for key in CAPACITIES if key not in given
    ]


def base_scenarios(s: Settings) -> dict[str, dict[str, Any]]:
    """The scenario of each policy as a plain dict (composed once, modified per sample)."""
    from omegaconf import OmegaConf

    from collectsim.config import SCENARIO_KEYS, compose

    common = [
        f"portfolio.n_accounts={s.accounts}",
        *scaled_capacities(s.accounts, s.overrides),
        f"seed={s.seed}",
        f"replications={s.replications}",
        *s.overrides,
    ]
    out = {}
    for pol in (s.baseline, s.challenger):
        cfg = OmegaConf.to_container(compose([*common, f"policy={pol}"]), resolve=True)
        assert isinstance(cfg, dict)
        out[pol] = {k: cfg[k] for k in SCENARIO_KEYS}
    return out


def evaluate(
    bases: dict[str, dict[str, Any]],
    factors: Sequence[Factor],
    x: Sequence[float],
    baseline: str,
    challenger: str,
    replications: int,
    outputs: Sequence[str] = OUTPUTS,
) -> dict[str, float]:
    """Run both policies at factor values ``x`` on the same seeds; return the mean of
    each output per policy and the mean paired difference ``challenger - baseline``
    (``d_<kpi>``) with its standard error (``se_<kpi>``)."""
    from collectsim.api import run_replications
    from collectsim.scenario import scenario_from_dict

    kpis: dict[str, np.ndarray] = {}
    for pol in (baseline, challenger):
        data = copy.deepcopy(bases[pol])
        for f, v in zip(factors, x, strict=True):
            f.apply(data, v)
        res = run_replications(scenario_from_dict(data), replications)
        for k in outputs:
            kpis[f"{pol}:{k}"] = np.array([r.kpis[k] for r in res], dtype=float)
    row: dict[str, float] = {}
    for k in outputs:
        a, b = kpis[f"{baseline}:{k}"], kpis[f"{challenger}:{k}"]
        d = b - a
        row[f"{baseline}_{k}"] = float(a.mean())
        row[f"{challenger}_{k}"] = float(b.mean())
        row[f"d_{k}"] = float(d.mean())
        row[f"se_{k}"] = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else float("nan")
    return row


def evaluate_all(
    bases: dict[str, dict[str, Any]],
    factors: Sequence[Factor],
    X: np.ndarray,
    s: Settings,
    log: Callable[[str], None] = lambda m: None,
) -> pd.DataFrame:
    """Evaluate every row of ``X`` (in parallel over ``s.n_jobs`` processes)."""
    from joblib import Parallel, delayed

    t0 = time.perf_counter()
    args = (s.baseline, s.challenger, s.replications)
    if s.n_jobs == 1:
        results: Any = (evaluate(bases, factors, x, *args) for x in X)
    else:
        # In order, as they finish: the rows keep the order of X.
        results = Parallel(n_jobs=s.n_jobs, return_as="generator")(
            delayed(evaluate)(bases, factors, x, *args) for x in X
        )
    rows, last = [], t0
    for row in results:
        rows.append(row)
        now = time.perf_counter()
        if now - last >= PROGRESS_SECONDS and len(rows) < len(X):
            last = now
            eta = (now - t0) / len(rows) * (len(X) - len(rows))
            log(f"  {len(rows)}/{len(X)} points, {now - t0:.0f} s, about {eta:.0f} s to go")
    log(f"  {len(X)} points x 2 policies x {s.replications} replications in {time.perf_counter() - t0:.0f} s")
    df = pd.DataFrame(X, columns=[f.name for f in factors])
    return pd.concat([df, pd.DataFrame(rows)], axis=1)


# --------------------------------------------------------------------------- the study


@dataclass
class Study:
    """Results of :func:`run_study` (tables as written to the output folder)."""

    settings: Settings
    factors: list[Factor]
    samples: pd.DataFrame
    indices: pd.DataFrame
    flips: pd.DataFrame
    drivers: list[str]
    nominal: dict[str, float]
    seconds: float
    notes: list[str] = field(default_factory=list)


def _problem(factors: Sequence[Factor]) -> dict[str, Any]:
    return {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": [[f.low, f.high] for f in factors]}


def run_study(
    s: Settings, factors: Sequence[Factor] = DEFAULT_FACTORS, log: Callable[[str], None] = lambda m: None
) -> Study:
    """Morris screening, then Sobol on the kept factors, then the flip analysis."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if s.output not in OUTPUTS:
        raise ConfigError(f"output must be one of {', '.join(OUTPUTS)}, got {s.output!r}")
    t0 = time.perf_counter()
    factors = list(factors)
    notes: list[str] = []
    bases = base_scenarios(s)
    nominal_x = [f.nominal(bases[s.baseline]) for f in factors]
    problem = _problem(factors)
    X = morris_sample.sample(problem, N=s.morris_r, num_levels=s.morris_levels, seed=s.seed)
    log(f"Morris screening: {s.morris_r} trajectories of {len(factors)} factors, and the defaults")
    first = evaluate_all(bases, factors, np.vstack([np.asarray(nominal_x, dtype=float), X]), s, log)
    nominal = first.iloc[0].to_dict()
    morris_df = first.iloc[1:].reset_index(drop=True).assign(design="morris")
    rows: list[dict[str, Any]] = []
    for k in OUTPUTS:
        r = morris_analyze.analyze(
            problem,
            X,
            morris_df[f"d_{k}"].to_numpy(),
            num_levels=s.morris_levels,
            conf_level=CONFIDENCE,
            num_resamples=1000,
            seed=s.seed,
        )
        for i, name in enumerate(r["names"]):
            rows.append(
                {
                    "method": "morris",
                    "output": f"d_{k}",
                    "factor": name,
                    "mu": r["mu"][i],
                    "mu_star": r["mu_star"][i],
                    "mu_star_conf": r["mu_star_conf"][i],
                    "sigma": r["sigma"][i],
                }
            )
    indices = pd.DataFrame(rows)

    m = indices[(indices["method"] == "morris") & (indices["output"] == f"d_{s.output}")].sort_values(
        "mu_star", ascending=False
    )
    kept = [str(n) for n in m["factor"] if m.set_index("factor").loc[n, "mu_star"] >= 0.1 * m["mu_star"].max()]
    kept = kept[: max(2, s.sobol_max_factors)] if len(kept) >= 2 else [str(n) for n in m["factor"][:2]]
    samples = [morris_df]
    if s.sobol_n > 0:
        sub = [f for f in factors if f.name in kept]
        sub_problem = _problem(sub)
        Xs = sobol_sample.sample(sub_problem, s.sobol_n, calc_second_order=False, seed=s.seed)
        log(f"Sobol: N={s.sobol_n} on {', '.join(kept)} ({len(Xs)} points), the others at their defaults")
        full = np.tile(np.asarray(nominal_x, dtype=float), (len(Xs), 1))
        for j, f in enumerate(sub):
            full[:, factors.index(f)] = Xs[:, j]
        sobol_df = evaluate_all(bases, factors, full, s, log).assign(design="sobol")
        samples.append(sobol_df)
        for k in OUTPUTS:
            y = sobol_df[f"d_{k}"].to_numpy()
            if not np.isfinite(y).all() or np.std(y) == 0:
                notes.append(f"Sobol indices of d_{k} not computed (constant or non-finite output)")
                continue
            r = sobol_analyze.analyze(
                sub_problem, y, calc_second_order=False, conf_level=CONFIDENCE, num_resamples=1000, seed=s.seed
            )
            for i, f in enumerate(sub):
                indices = pd.concat(
                    [
                        indices,
                        pd.DataFrame(
                            [
                                {
                                    "method": "sobol",
                                    "output": f"d_{k}",
                                    "factor": f.name,
                                    "S1": r["S1"][i],
                                    "S1_conf": r["S1_conf"][i],
                                    "ST": r["ST"][i],
                                    "ST_conf": r["ST_conf"][i],
                                }
                            ]
                        ),
                    ],
                    ignore_index=True,
                )
        if s.sobol_n < 64:
            notes.append(
                f"Sobol with N={s.sobol_n} base samples gives wide intervals; treat the Sobol indices as "
                "indicative and rely on the Morris ranking (use --mode full or --sobol-n 256 for firmer ones)"
            )
    else:
        notes.append("Sobol skipped (--sobol-n 0)")
    all_samples = pd.concat(samples, ignore_index=True)
    for _, r in m.iterrows():
        if r["mu_star"] == 0 and (morris_df[r["factor"]].nunique() > 1):
            notes.append(
                f"{r['factor']} has no effect at all on d_{s.output}: neither policy reads what it changes "
                f"(only queue_order expected_recovery reads the lender score)"
                if r["factor"] == "score_auc"
                else f"{r['factor']} has no effect at all on d_{s.output}"
            )

    drivers = _drivers(indices, s.output)
    flips = flip_table(all_samples, factors, drivers, s.output, bins=3 if s.mode == "tiny" else 4)
    noise = nominal.get(f"se_{s.output}", float("nan"))
    if np.isfinite(noise):
        small = (all_samples[f"d_{s.output}"].abs() < 2 * noise).mean()
        if small > 0.25:
            notes.append(
                f"{small:.0%} of the points have |d_{s.output}| below twice the replication noise at the "
                f"nominal point ({noise:,.4g}); near the flip the sign is not resolved at "
                f"{s.replications} replications"
            )
    return Study(s, factors, all_samples, indices, flips, drivers, nominal, time.perf_counter() - t0, notes)
