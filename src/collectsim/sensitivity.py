"""Which behaviour assumptions decide whether early escalation beats soft-first?

A global sensitivity study of the paired difference ``early_escalation - soft_first``
(same seeds, so the difference is measured replication by replication) over uncertain
behaviour parameters, with SALib:

1. Morris screening (elementary effects, ``r`` trajectories) of every factor;
2. Sobol indices (first order and total, Saltelli sampling) of the factors the
   screening keeps, the others fixed at their defaults, where affordable;
3. where in the factor space the sign of the difference flips, against the two
   strongest drivers.

    python -m collectsim.sensitivity --mode tiny                  # seconds, for tests
    python -m collectsim.sensitivity --mode study --publish-dir experiments/sensitivity
    python -m collectsim.sensitivity --mode full --n-jobs 8       # hours of CPU; see experiments/sensitivity/

Outputs, in ``--out`` (default ``multirun/sensitivity/<date_time>``): ``samples.csv``
(every evaluated point: factors, per-policy means and differences), ``indices.csv``,
``indices.png`` (indices with 95% confidence intervals), ``flips.csv`` and
``flips.png`` (share of points where early escalation wins, by the top two drivers)
and ``report.md``.

The simulation runs through the Python API; SALib is needed (``pip install
'collectsim[sensitivity]'``).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import math
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collectsim.errors import ConfigError

CONFIDENCE = 0.95
#: KPIs whose paired difference is analysed; the first one drives the flip analysis unless told.
OUTPUTS = ("net_recovery", "recovery_rate", "stress_peak_p95")


@dataclass(frozen=True)
class Factor:
    """An uncertain input: ``path`` into the scenario (``*`` = every list element),
    either set to a value in [low, high] (``op="set"``) or multiplied by one
    (``op="scale"``, the nominal value then being 1)."""

    name: str
    path: str
    low: float
    high: float
    op: str = "set"
    description: str = ""

    def apply(self, data: dict[str, Any], value: float) -> None:
        """Write ``value`` into the scenario dict ``data`` (in place)."""
        parts = self.path.split(".")

        def walk(node: Any, i: int) -> None:
            key: Any = parts[i]
            last = i + 1 == len(parts)
            if key == "*":
                if not isinstance(node, list) or last:
                    raise ConfigError(f"sensitivity factor {self.name}: '*' in {self.path} must stand for a list")
                for item in node:
                    walk(item, i + 1)
                return
            if isinstance(node, list):
                key = int(key)
            elif not isinstance(node, dict) or key not in node:
                raise ConfigError(f"sensitivity factor {self.name}: no key {'.'.join(parts[: i + 1])} in the scenario")
            if last:
                node[key] = float(value) if self.op == "set" else float(node[key]) * float(value)
            else:
                walk(node[key], i + 1)

        walk(data, 0)

    def nominal(self, data: dict[str, Any]) -> float:
        """The factor's value in the unmodified scenario (1 for a scale factor)."""
        if self.op == "scale":
            return 1.0
        node: Any = data
        for key in self.path.split("."):
            node = node[0] if key == "*" else node[int(key)] if isinstance(node, list) else node[key]
        return float(node)


#: The behaviour uncertainties studied by default (DESIGN 4; docs/model.md).
DEFAULT_FACTORS = (
    Factor(
        "stress_willingness",
        "stress.willingness_effect",
        0.05,
        1.0,
        "set",
        "how much stress lowers willingness to pay (willingness x exp(-effect x stress); default 0.3)",
    ),
    Factor(
        "hardship_share",
        "portfolio.segments.*.hardship_prob",
        0.5,
        2.0,
        "scale",
        "share of borrowers hit by an income shock, as a multiple of each segment's default (0.10/0.06/0.25)",
    ),
    Factor(
        "willingness",
        "portfolio.segments.*.willingness.a",
        0.6,
        1.6,
        "scale",
        "willingness to pay: multiple of the Beta a-parameter of every segment (mean about 0.50 to 0.73)",
    ),
    Factor(
        "firm_call_response",
        "channels.firm_call.impulse",
        0.2,
        0.7,
        "set",
        "response to a firm call (its repayment impulse; default 0.45)",
    ),
    Factor("score_auc", "portfolio.score_auc", 0.55, 0.90, "set", "quality of the lender score (AUC; default 0.70)"),
)


@dataclass
class Settings:
    """Effort of a study. ``mode`` presets fill the fields not given explicitly."""

    mode: str = "tiny"
    accounts: int = 1000
    replications: int = 2
    morris_r: int = 2
    morris_levels: int = 4
    sobol_n: int = 2
    sobol_max_factors: int = 2
    seed: int = 0
    n_jobs: int = 2
    baseline: str = "soft_first"
    challenger: str = "early_escalation"
    output: str = "net_recovery"
    overrides: list[str] = field(default_factory=list)


#: Presets: tiny (tests, seconds), study (the documented run, minutes), full (hours of CPU).
MODES: dict[str, dict[str, Any]] = {
    "tiny": dict(accounts=1000, replications=2, morris_r=2, sobol_n=2, sobol_max_factors=2),
    "study": dict(accounts=4000, replications=2, morris_r=10, sobol_n=32, sobol_max_factors=3),
    "full": dict(accounts=20000, replications=4, morris_r=30, sobol_n=256, sobol_max_factors=5),
}


def settings_for(mode: str, **given: Any) -> Settings:
    """The preset ``mode`` with the values in ``given`` (those not None) on top."""
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return Settings(mode=mode, **{**MODES[mode], **{k: v for k, v in given.items() if v is not None}})


# --------------------------------------------------------------------------- evaluation


def base_scenarios(s: Settings) -> dict[str, dict[str, Any]]:
    """The scenario of each policy as a plain dict (composed once, modified per sample)."""
    from omegaconf import OmegaConf

    from collectsim.config import SCENARIO_KEYS, compose

    common = [
        f"portfolio.n_accounts={s.accounts}",
        f"collectors.size={max(1, round(s.accounts / 1000))}",
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
        rows = [evaluate(bases, factors, x, *args) for x in X]
    else:
        rows = Parallel(n_jobs=s.n_jobs)(delayed(evaluate)(bases, factors, x, *args) for x in X)
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


def _drivers(indices: pd.DataFrame, output: str) -> list[str]:
    """The two strongest drivers of ``d_<output>``: by Sobol total index when computed, else Morris mu*."""
    sob = indices[(indices["method"] == "sobol") & (indices["output"] == f"d_{output}")]
    mor = indices[(indices["method"] == "morris") & (indices["output"] == f"d_{output}")]
    order = list(mor.sort_values("mu_star", ascending=False)["factor"])
    if len(sob) >= 2:
        top = list(sob.sort_values("ST", ascending=False)["factor"])
        order = top + [f for f in order if f not in top]
    return [str(f) for f in order[:2]]


def flip_table(
    samples: pd.DataFrame, factors: Sequence[Factor], drivers: Sequence[str], output: str, bins: int = 4
) -> pd.DataFrame:
    """Share of evaluated points where the challenger wins on ``output``, by equal-width
    bins of the two drivers over their ranges (direction from DIRECTIONS)."""
    from collectsim.metrics import DIRECTIONS

    sign = DIRECTIONS.get(output, 1) or 1
    by = {f.name: f for f in factors}
    df = samples.copy()
    cols = []
    for name in drivers:
        f = by[name]
        edges = np.linspace(f.low, f.high, bins + 1)
        df[f"{name}_bin"] = pd.cut(df[name], edges, include_lowest=True)
        cols.append(f"{name}_bin")
    df["challenger_wins"] = (sign * df[f"d_{output}"]) > 0
    g = df.groupby(cols, observed=True)
    out = g.agg(
        points=(f"d_{output}", "size"),
        mean_diff=(f"d_{output}", "mean"),
        challenger_win_share=("challenger_wins", "mean"),
    ).reset_index()
    for c in cols:
        out[c] = out[c].astype(str)
    return out


# --------------------------------------------------------------------------- output


def plot_indices(st: Study, out: Path) -> Path:
    """``indices.png``: Morris mu* (and Sobol S1/ST when computed) with 95% CIs."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = st.settings
    ix = st.indices[st.indices["output"] == f"d_{s.output}"]
    mor = ix[ix["method"] == "morris"].sort_values("mu_star")
    sob = ix[ix["method"] == "sobol"]
    ncols = 2 if len(sob) else 1
    fig = Figure(figsize=(5.6 * ncols, 3.8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    ax = axes[0]
    y = np.arange(len(mor))
    ax.barh(y, mor["mu_star"], xerr=mor["mu_star_conf"], color="tab:blue", capsize=3, label="μ* (95% CI)")
    ax.scatter(mor["sigma"], y, marker="x", c="k", zorder=3, label="σ (interactions, non-linearity)")
    ax.set_yticks(y, mor["factor"])
    ax.set_xlabel(f"Morris μ* of Δ {s.output} ({s.challenger} − {s.baseline})")
    ax.legend(fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    if len(sob):
        ax = axes[1]
        sob = sob.sort_values("ST")
        y = np.arange(len(sob))
        ax.barh(y + 0.2, sob["ST"], height=0.4, xerr=sob["ST_conf"], color="tab:orange", capsize=3, label="total ST")
        ax.barh(
            y - 0.2, sob["S1"], height=0.4, xerr=sob["S1_conf"], color="tab:green", capsize=3, label="first order S1"
        )
        ax.set_yticks(y, sob["factor"])
        ax.axvline(0, c="k", lw=0.6)
        ax.set_xlabel(f"Sobol index of Δ {s.output} (95% CI)")
        ax.legend(fontsize=7)
        ax.grid(axis="x", alpha=0.3)
    path = out / "indices.png"
    fig.savefig(path, dpi=100)
    return path


def plot_flips(st: Study, out: Path) -> Path | None:
    """``flips.png``: every evaluated point on the top two drivers, coloured by which policy wins."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from collectsim.metrics import DIRECTIONS

    s = st.settings
    if len(st.drivers) < 2:
        return None
    a, b = st.drivers
    d = st.samples[f"d_{s.output}"] * (DIRECTIONS.get(s.output, 1) or 1)
    fig = Figure(figsize=(6.0, 4.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    size = 12 + 60 * (d.abs() / max(d.abs().max(), 1e-12))
    win = d > 0
    ax.scatter(
        st.samples.loc[~win, a],
        st.samples.loc[~win, b],
        s=size[~win],
        c="tab:blue",
        alpha=0.6,
        label=f"{s.baseline} better",
    )
    ax.scatter(
        st.samples.loc[win, a],
        st.samples.loc[win, b],
        s=size[win],
        c="tab:red",
        alpha=0.6,
        label=f"{s.challenger} better",
    )
    if a in st.nominal and b in st.nominal:
        ax.scatter([st.nominal[a]], [st.nominal[b]], marker="*", s=160, c="k", label="defaults")
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_title(f"Which policy has the better {s.output} (marker size: |difference|)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    path = out / "flips.png"
    fig.savefig(path, dpi=100)
    return path


def _fmt(x: Any, digits: int = 3) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return "n/a"
    if v != 0 and (abs(v) >= 1e4 or abs(v) < 1e-3):
        return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.2e}"
    return f"{v:.{digits}g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |",
        *["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows],
    ]


def _where_wins(st: Study) -> list[str]:
    """Each factor's range over the points where the challenger wins, against its full range."""
    from collectsim.metrics import DIRECTIONS

    s = st.settings
    sign = DIRECTIONS.get(s.output, 1) or 1
    d = st.samples[f"d_{s.output}"] * sign
    wins = st.samples[d > 0]
    if wins.empty or len(wins) == len(st.samples):
        who = s.baseline if wins.empty else s.challenger
        return [f"{who} is ahead at every evaluated point: no flip over the ranges studied.", ""]
    se = st.samples.loc[d > 0, f"se_{s.output}"]
    clear = int((d[d > 0] > 2 * se.fillna(np.inf)).sum())
    out = [
        f"The {len(wins)} points where {s.challenger} wins ({clear} of them by more than two standard errors), "
        "factor by factor:",
        "",
    ]
    rows = []
    for f in st.factors:
        lo, hi = float(wins[f.name].min()), float(wins[f.name].max())
        rows.append(
            [f.name, f"{_fmt(lo)} – {_fmt(hi)}", f"{_fmt(f.low)} – {_fmt(f.high)}", _fmt(wins[f.name].median())]
        )
    return out + _table(["factor", "range where it wins", "range studied", "median where it wins"], rows) + [""]


def write_outputs(st: Study, out: str | Path) -> Path:
    """Write the CSVs, figures, ``settings.json`` and ``report.md`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = st.settings
    st.samples.to_csv(out / "samples.csv", index=False)
    st.indices.to_csv(out / "indices.csv", index=False)
    st.flips.to_csv(out / "flips.csv", index=False)
    (out / "settings.json").write_text(
        json.dumps(
            {
                "settings": asdict(s),
                "factors": [asdict(f) for f in st.factors],
                "seconds": round(st.seconds, 1),
                "nominal": {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in st.nominal.items()
                },
                "notes": st.notes,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    fig_i = plot_indices(st, out)
    fig_f = plot_flips(st, out)
    o = s.output
    d_nom, se_nom = st.nominal.get(f"d_{o}", float("nan")), st.nominal.get(f"se_{o}", float("nan"))
    n_morris = int((st.samples["design"] == "morris").sum())
    n_sobol = int((st.samples["design"] == "sobol").sum())
    L = [
        f"# Sensitivity of {s.challenger} − {s.baseline} to behaviour assumptions",
        "",
        f"Mode `{s.mode}`: {s.accounts:,} accounts, {s.replications} replications per point and policy on common "
        f"seeds (base seed {s.seed}); Morris r={s.morris_r} ({n_morris} points), Sobol N={s.sobol_n} "
        f"({n_sobol} points); {st.seconds:.0f} s on {s.n_jobs} process(es). Output analysed: the paired "
        f"difference Δ {o} = {s.challenger} − {s.baseline}, mean over replications.",
        "",
    ]
    L += ["## Factors", ""]
    L += _table(
        ["factor", "what", "range", "changes"],
        [
            [
                f.name,
                f.description,
                f"{_fmt(f.low)} – {_fmt(f.high)}" + (" (× default)" if f.op == "scale" else ""),
                f"`{f.path}`",
            ]
            for f in st.factors
        ],
        align="llll",
    ) + [""]
    L += [
        "## At the defaults",
        "",
        f"Δ {o} = {_fmt(d_nom)} (standard error {_fmt(se_nom)} over {s.replications} replications): "
        f"{s.challenger if d_nom > 0 else s.baseline} is ahead at the default assumptions.",
        "",
    ]
    mor = st.indices[(st.indices["method"] == "morris") & (st.indices["output"] == f"d_{o}")].sort_values(
        "mu_star", ascending=False
    )
    L += [
        "## What drives the difference",
        "",
        f"![indices]({fig_i.name})",
        "",
        "Morris screening: μ* is the mean absolute elementary effect of moving a factor across its range "
        "(in units of the output), σ the spread of the effects (interactions or non-linearity), μ the signed "
        "mean (the direction).",
        "",
    ]
    L += _table(
        ["factor", "μ* (95% CI)", "μ", "σ"],
        [
            [r["factor"], f"{_fmt(r['mu_star'])} ± {_fmt(r['mu_star_conf'])}", _fmt(r["mu"]), _fmt(r["sigma"])]
            for _, r in mor.iterrows()
        ],
    ) + [""]
    sob = st.indices[(st.indices["method"] == "sobol") & (st.indices["output"] == f"d_{o}")].sort_values(
        "ST", ascending=False
    )
    if len(sob):
        L += [
            "Sobol indices (the share of the variance of the difference due to a factor alone, S1, and with its "
            "interactions, ST) of the factors kept by the screening, the others at their defaults:",
            "",
        ]
        L += _table(
            ["factor", "S1 (95% CI)", "ST (95% CI)"],
            [
                [r["factor"], f"{_fmt(r['S1'])} ± {_fmt(r['S1_conf'])}", f"{_fmt(r['ST'])} ± {_fmt(r['ST_conf'])}"]
                for _, r in sob.iterrows()
            ],
        ) + [""]
    L += [f"**Top two drivers of Δ {o}: {', '.join(st.drivers)}.**", ""]
    others = [k for k in OUTPUTS if k != o]
    for k in others:
        mk = st.indices[(st.indices["method"] == "morris") & (st.indices["output"] == f"d_{k}")].sort_values(
            "mu_star", ascending=False
        )
        if len(mk):
            L += [f"- For Δ {k}, the Morris ranking is {', '.join(mk['factor'])}."]
    L += [""]
    wins = float((st.samples[f"d_{o}"] > 0).mean())
    L += ["## Where the ranking flips", ""]
    if fig_f is not None:
        L += [f"![flips]({fig_f.name})", ""]
    L += [
        f"{s.challenger} has the better {o} at {wins:.0%} of the {len(st.samples)} evaluated points. "
        f"By bins of the top two drivers (share of points where {s.challenger} wins, mean Δ):",
        "",
    ]
    bcols = [c for c in st.flips.columns if c.endswith("_bin")]
    L += _table(
        [*[f"{c[:-4]} bin" for c in bcols], "points", f"{s.challenger} wins", f"mean Δ {o}"],
        [
            [*[r[c] for c in bcols], int(r["points"]), f"{r['challenger_win_share']:.0%}", _fmt(r["mean_diff"])]
            for _, r in st.flips.iterrows()
        ],
    ) + [""]
    L += _where_wins(st)
    if st.notes:
        L += ["## Notes", ""] + [f"- {n}" for n in st.notes] + [""]
    L += [
        "Files: `samples.csv` (every point: factors, per-policy means, Δ and its standard error), `indices.csv`, "
        "`flips.csv`, `settings.json`.",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(L), encoding="utf-8")
    return path


def load_study(folder: str | Path) -> Study:
    """Read a study back from its output folder (to rewrite its report without rerunning it)."""
    root = Path(folder)
    meta = json.loads((root / "settings.json").read_text(encoding="utf-8"))
    s = Settings(**meta["settings"])
    factors = [Factor(**f) for f in meta["factors"]]
    samples = pd.read_csv(root / "samples.csv")
    indices = pd.read_csv(root / "indices.csv")
    drivers = _drivers(indices, s.output)
    nominal = {k: (float("nan") if v is None else v) for k, v in (meta.get("nominal") or {}).items()}
    flips = flip_table(samples, factors, drivers, s.output, bins=3 if s.mode == "tiny" else 4)
    return Study(
        s,
        factors,
        samples,
        indices,
        flips,
        drivers,
        nominal,
        float(meta.get("seconds", 0.0)),
        list(meta.get("notes") or []),
    )


PUBLISHED = ("report.md", "indices.csv", "flips.csv", "indices.png", "flips.png", "settings.json")


def publish(out: Path, target: Path) -> None:
    """Copy the report files of a study folder to ``target`` (e.g. experiments/sensitivity)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PUBLISHED:
        if (out / name).is_file():
            shutil.copy2(out / name, target / name)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m collectsim.sensitivity``: run the study and write its report."""
    p = argparse.ArgumentParser(
        prog="python -m collectsim.sensitivity",
        description="Morris and Sobol sensitivity of the paired difference between two "
        "policies to behaviour assumptions (SALib).",
    )
    p.add_argument("--mode", default="tiny", choices=sorted(MODES), help="effort preset (default tiny)")
    p.add_argument("--out", default=None, help="output folder (default multirun/sensitivity/<date_time>)")
    p.add_argument("--publish-dir", default=None, help="also copy the report there, e.g. experiments/sensitivity")
    p.add_argument("--accounts", type=int, default=None)
    p.add_argument("--replications", type=int, default=None)
    p.add_argument("--morris-r", type=int, default=None, help="Morris trajectories")
    p.add_argument("--sobol-n", type=int, default=None, help="Sobol base samples (power of 2; 0 skips Sobol)")
    p.add_argument("--sobol-max-factors", type=int, default=None, help="factors kept for Sobol (at most)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--n-jobs", type=int, default=None, help="processes (default 2)")
    p.add_argument("--output", default=None, choices=OUTPUTS, help="KPI whose difference drives the flip analysis")
    p.add_argument("--baseline", default=None)
    p.add_argument("--challenger", default=None)
    p.add_argument("--rebuild", default=None, metavar="DIR", help="rewrite the report of an earlier study in DIR")
    p.add_argument("overrides", nargs="*", help="Hydra-style overrides of the base scenario, e.g. compliance=reg_f")
    a = p.parse_args(argv)
    if a.rebuild:
        st = load_study(a.rebuild)
        report = write_outputs(st, a.rebuild)
        print(f"report written to {report}; top drivers of Δ {st.settings.output}: {', '.join(st.drivers)}")
        if a.publish_dir:
            publish(Path(a.rebuild), Path(a.publish_dir))
            print(f"copied to {a.publish_dir}")
        return 0
    try:
        s = settings_for(
            a.mode,
            accounts=a.accounts,
            replications=a.replications,
            morris_r=a.morris_r,
            sobol_n=a.sobol_n,
            sobol_max_factors=a.sobol_max_factors,
            seed=a.seed,
            n_jobs=a.n_jobs,
            output=a.output,
            baseline=a.baseline,
            challenger=a.challenger,
            overrides=list(a.overrides) or None,
        )
        out = Path(a.out) if a.out else Path("multirun/sensitivity") / dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        st = run_study(s, log=lambda m: print(m, file=sys.stderr, flush=True))
        report = write_outputs(st, out)
    except ConfigError as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"report written to {report} ({st.seconds:.0f} s); top drivers of Δ {s.output}: {', '.join(st.drivers)}")
    if a.publish_dir:
        publish(out, Path(a.publish_dir))
        print(f"copied to {a.publish_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = [
    "DEFAULT_FACTORS",
    "MODES",
    "OUTPUTS",
    "Factor",
    "Settings",
    "Study",
    "evaluate",
    "flip_table",
    "load_study",
    "main",
    "run_study",
    "settings_for",
    "write_outputs",
]
