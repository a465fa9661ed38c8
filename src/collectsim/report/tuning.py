"""Tuning reports: the Pareto set of an optimising sweep against the built-in policies.

``collectsim experiment=tune_staged`` runs the staged policy's levers under the Optuna
sweeper in multi-objective mode (``conf/experiment/tune_staged.yaml``). Every trial is
an ordinary job folder (``kpis.csv``, ``series.csv``, ``summary.json``, ``job.json``),
run for R replications on the same seeds as every other trial. After the sweep,
:class:`TuningReportCallback` (or ``python -m collectsim.report.tuning SWEEP_DIR``):

1. runs the built-in policies on the same portfolio and seeds (their result files go
   to ``<sweep>/builtins/<policy>/`` and are reused when the report is rebuilt);
2. finds the trials that no other trial beats on every objective (the non-dominated
   settings), using the directions of :data:`collectsim.metrics.DIRECTIONS`;
3. for each built-in, picks the trial with the best first objective among those at
   least as good on the second (e.g. the most net recovery at equal or lower
   stress_peak_p95) and gives the paired difference, replication by replication;
4. reruns the headline pairs on fresh seeds, since the trials were picked on the seeds
   they are compared on (``<sweep>/confirm/``): the best built-in on the first objective
   against its best tuned setting, or, when no trial matches it on the second
   objective, against the best trial on the first, and the best built-in that a trial
   does match against that trial;
5. writes ``report.md``, ``pareto.png``, ``comparison.csv`` (every trial and built-in,
   with its levers, objective means and 95% confidence half-widths, and whether it is
   non-dominated) and ``paired.csv`` (the comparisons of step 3 and 4).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collectsim.errors import CollectsimError, ConfigError, ResultsError
from collectsim.metrics import DIRECTIONS
from collectsim.report.compare import CONFIDENCE, t_interval, verdict
from collectsim.report.gather import gather, parse_override
from collectsim.report.markdown import fmt_ci, fmt_number

#: Built-in policies a tuned policy is compared with unless others are named.
DEFAULT_BUILTINS = ("soft_first", "staged", "early_escalation", "score_prioritized", "do_nothing")
#: KPIs shown next to the objectives in the tables.
EXTRA_KPIS = ("recovery_rate", "cost_to_collect", "complaints_per_1000")
_PREFIX = "levers."


# --------------------------------------------------------------------------- objectives


def objective_signs(objectives: Sequence[str]) -> list[int]:
    """+1 (maximise) or -1 (minimise) for each objective, from DIRECTIONS.

    Raises
    ------
    ConfigError
        for an empty list or a KPI without a direction.
    """
    if not objectives:
        raise ConfigError("objectives must list at least one KPI, e.g. [net_recovery, stress_peak_p95]")
    bad = [k for k in objectives if DIRECTIONS.get(str(k), 0) == 0]
    if bad:
        raise ConfigError(
            f"objectives: {bad[0]!r} is not a KPI with a direction; one of: {', '.join(sorted(DIRECTIONS))}"
        )
    return [DIRECTIONS[str(k)] for k in objectives]


def check_directions(objectives: Sequence[str], direction: Any) -> None:
    """Raise ConfigError unless the sweeper's ``direction`` list matches the objectives."""
    signs = objective_signs(objectives)
    dirs = [direction] if isinstance(direction, str) else list(direction or [])
    dirs = [str(getattr(d, "name", d)) for d in dirs]
    want = ["maximize" if s > 0 else "minimize" for s in signs]
    if dirs != want:
        raise ConfigError(
            f"hydra.sweeper.direction {dirs} does not match objectives {list(objectives)}: expected {want}"
        )


def pareto_mask(values: np.ndarray, signs: Sequence[int]) -> np.ndarray:
    """Rows of ``values`` (n x m) that no other row dominates.

    Row a dominates row b when it is at least as good on every column and better on
    one (``signs``: +1 larger is better, -1 smaller is better). Rows with a NaN are
    never in the set.
    """
    v = np.asarray(values, dtype=float) * np.asarray(signs, dtype=float)  # larger is better
    ok = np.isfinite(v).all(axis=1)
    keep = ok.copy()
    for i in np.flatnonzero(ok):
        others = v[ok]
        dominated = np.any(np.all(others >= v[i], axis=1) & np.any(others > v[i], axis=1))
        keep[i] = not dominated
    return keep


# --------------------------------------------------------------------------- reading the sweep


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _key(override: str) -> str:
    return override.strip().lstrip("+~").partition("=")[0].strip()


@dataclass
class SweepSetup:
    """What the trials share: the overrides that rebuild their scenario without the
    swept levers, the swept keys, the objectives, seed and replications."""

    base_overrides: list[str]
    swept: list[str]
    objectives: list[str]
    seed: int | None
    replications: int | None
    notes: list[str] = field(default_factory=list)


def sweep_setup(sweep_dir: Path, jobs: list[dict[str, Any]], objectives: Sequence[str] | None = None) -> SweepSetup:
    """Read the shared setup from the first job's ``.hydra/`` folder (or the job files)."""
    notes: list[str] = []
    first = jobs[0]
    hydra_yaml = _read_yaml(sweep_dir / str(first["folder"]) / ".hydra" / "hydra.yaml").get("hydra", {})
    config_yaml = _read_yaml(sweep_dir / str(first["folder"]) / ".hydra" / "config.yaml")
    params = ((hydra_yaml.get("sweeper") or {}).get("params") or {}) if hydra_yaml else {}
    swept = [str(k) for k in params]
    if not swept:  # no .hydra folder: the keys whose value differs between trials
        values: dict[str, set[str]] = {}
        for j in jobs:
            for o in j.get("overrides") or []:
                values.setdefault(_key(o), set()).add(o)
        swept = sorted(k for k, v in values.items() if len(v) > 1 or len(v) < len(jobs))
        notes.append(
            "no .hydra/ folder in the first job: the swept keys were taken as those that differ between trials"
        )
    base = [
        o
        for o in first.get("overrides") or []
        if _key(o) not in swept and not _key(o).startswith("hydra") and _key(o) != "policy"
    ]
    objs = [str(k) for k in (objectives or config_yaml.get("objectives") or [])]
    if not objs:
        raise ResultsError(f"{sweep_dir}: no objectives (set `objectives` in the experiment or pass --objectives)")
    seeds = {j.get("seed") for j in jobs}
    reps = {j.get("replications") for j in jobs}
    if len(seeds) > 1 or len(reps) > 1:
        notes.append(
            f"the trials do not share one seed and replication count (seeds {sorted(map(str, seeds))}, "
            f"replications {sorted(map(str, reps))}); paired differences use the common replications"
        )
    return SweepSetup(base, swept, objs, first.get("seed"), first.get("replications"), notes)


# --------------------------------------------------------------------------- running reference policies


def _compose_scenario(overrides: list[str]) -> Any:
    """Compose a scenario even inside a running Hydra app (whose global state is kept)."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.singleton import Singleton

    from collectsim.cli.schema import register_schemas
    from collectsim.config import load_scenario

    register_schemas()  # before the state is saved: it is registered once per process
    state = Singleton.get_state()
    GlobalHydra.instance().clear()
    try:
        return load_scenario(overrides)
    finally:
        Singleton.set_state(state)


def run_reference(overrides: list[str], out_dir: Path, name: str) -> pd.DataFrame:
    """Run one configuration (``overrides``) for its replications into ``out_dir``, or
    reuse the results already there for the same overrides; return its overall KPIs,
    one row per replication."""
    job_file = out_dir / "job.json"
    if job_file.is_file() and (out_dir / "kpis.csv").is_file():
        try:
            done = json.loads(job_file.read_text(encoding="utf-8"))
        except ValueError:
            done = {}
        if done.get("status") == "ok" and done.get("overrides") == list(overrides):
            return _overall(out_dir)
    from collectsim.api import run_replications
    from collectsim.cli.results import versions, write_results
    from collectsim.engine import build_plugins

    t0 = time.perf_counter()
    scenario = _compose_scenario(list(overrides))
    build_plugins(scenario)
    results = run_replications(scenario)
    job = {
        "cell": name,
        "job_num": 0,
        "overrides": list(overrides),
        "seed": scenario.simulation.seed,
        "replications": scenario.simulation.replications,
        "versions": versions(),
        "wall_seconds": time.perf_counter() - t0,
    }
    write_results(out_dir, results, job)
    return _overall(out_dir)


def _overall(job_dir: Path) -> pd.DataFrame:
    kpis = pd.read_csv(
        job_dir / "kpis.csv",
        dtype={"cell": str, "policy": str, "group": str, "name": str},
        keep_default_na=False,
        na_values=[""],
    )
    return kpis[kpis["group"] == "all"].reset_index(drop=True)


def _run_many(tasks: list[tuple[list[str], Path, str]], n_jobs: int) -> list[pd.DataFrame]:
    if n_jobs == 1 or len(tasks) <= 1:
        return [run_reference(*t) for t in tasks]
    from joblib import Parallel, delayed

    return list(Parallel(n_jobs=n_jobs)(delayed(run_reference)(*t) for t in tasks))


# --------------------------------------------------------------------------- analysis


@dataclass
class TuningResult:
    """The analysed tuning sweep.

    Attributes
    ----------
    objectives, signs : the objectives and their directions (+1 maximise, -1 minimise).
    table : one row per trial and per built-in: ``kind`` (trial/builtin), ``name``,
        ``job``, the swept levers, ``n``, ``<kpi>`` (mean) and ``<kpi>_hw`` (95%
        half-width) for the objectives and :data:`EXTRA_KPIS`, ``pareto`` (no trial
        beats it on every objective), ``front2`` (likewise on the first two only),
        ``dominated_by`` (trials that beat a built-in on every objective).
    per_rep : overall KPIs per replication of every trial and built-in (``name`` column).
    paired : one row per comparison: ``builtin``, ``trial``, ``seeds`` (sweep or
        fresh), ``kpi``, ``n``, ``builtin_mean``, ``trial_mean``, ``diff_mean``,
        ``diff_half_width``, ``diff_low``, ``diff_high``, ``verdict``.
    setup : the trials' shared setup; failed : failed trials (folder, cell, error).
    """

    objectives: list[str]
    signs: list[int]
    table: pd.DataFrame
    per_rep: pd.DataFrame
    paired: pd.DataFrame
    setup: SweepSetup
    failed: list[tuple[str, str, str]]
    best_builtin: str | None = None
    headline_trial: str | None = None
    matched_builtin: str | None = None
    matched_trial: str | None = None
    top_trial: str | None = None
    notes: list[str] = field(default_factory=list)


def _summaries(per_rep: pd.DataFrame, kpis: list[str]) -> pd.DataFrame:
    rows = []
    for name, part in per_rep.groupby("name", sort=False):
        row: dict[str, Any] = {"name": name, "n": int(len(part))}
        for k in kpis:
            if k in part:
                m, hw, _ = t_interval(part[k].to_numpy(dtype=float))
                row[k], row[f"{k}_hw"] = m, hw
        rows.append(row)
    return pd.DataFrame(rows)


def _paired_rows(
    per_rep: pd.DataFrame, builtin: str, trial: str, kpis: list[str], seeds: str, selection: str
) -> list[dict[str, Any]]:
    b = per_rep[per_rep["name"] == builtin].set_index(["seed", "replication"])
    t = per_rep[per_rep["name"] == trial].set_index(["seed", "replication"])
    common = b.index.intersection(t.index)
    rows = []
    for k in kpis:
        d = t.loc[common, k].to_numpy(dtype=float) - b.loc[common, k].to_numpy(dtype=float)
        m, hw, n = t_interval(d)
        lo, hi = m - hw, m + hw
        rows.append(
            {
                "builtin": builtin,
                "trial": trial,
                "selection": selection,
                "seeds": seeds,
                "kpi": k,
                "n": n,
                "builtin_mean": float(b.loc[common, k].mean()),
                "trial_mean": float(t.loc[common, k].mean()),
                "diff_mean": m,
                "diff_half_width": hw,
                "diff_low": lo,
                "diff_high": hi,
                "verdict": verdict(lo, hi, DIRECTIONS.get(k, 0)),
            }
        )
    return rows


def analyse(
    sweep_dir: str | Path,
    objectives: Sequence[str] | None = None,
    builtins: Sequence[str] = DEFAULT_BUILTINS,
    confirm_seed_offset: int | None = 1000,
    n_jobs: int = 2,
) -> TuningResult:
    """Gather the trials of ``sweep_dir``, run the built-ins on the same seeds and
    compare (see the module docstring). Raises ResultsError when no trial succeeded."""
    root = Path(sweep_dir)
    g = gather(root)
    setup = sweep_setup(root, g.jobs, objectives)
    objs = setup.objectives
    signs = objective_signs(objs)
    kpis = list(dict.fromkeys([*objs, *EXTRA_KPIS]))
    missing = [k for k in objs if k not in g.kpi_names]
    if missing:
        raise ResultsError(f"objective {missing[0]!r} is not a KPI of {root}")
    notes = list(setup.notes)

    overall = g.overall()
    trial_name = {j["folder"]: f"trial {j['folder']}" for j in g.jobs}
    per_rep = overall.assign(name=overall["job"].map(trial_name))
    swept = setup.swept
    levers = {}
    for j in g.jobs:
        ov = dict(p for p in (parse_override(str(o), set()) for o in j.get("overrides") or []) if p)
        levers[trial_name[j["folder"]]] = {k: ov.get(k, "") for k in swept}

    # Built-ins on the same portfolio and seeds.
    ref_tasks = [([*setup.base_overrides, f"policy={b}"], root / "builtins" / b, b) for b in builtins]
    ref = _run_many(ref_tasks, n_jobs)
    for b, df in zip(builtins, ref, strict=True):
        per_rep = pd.concat([per_rep, df.assign(name=b)], ignore_index=True)
    ref_seeds = {int(df["seed"].iloc[0]) for df in ref} if ref else set()
    if setup.seed is not None and ref_seeds and ref_seeds != {int(setup.seed)}:
        notes.append(f"the built-ins ran with seed(s) {sorted(ref_seeds)}, the trials with {setup.seed}")

    summary = _summaries(per_rep, kpis)
    summary.insert(0, "kind", np.where(summary["name"].isin(list(builtins)), "builtin", "trial"))
    summary.insert(2, "job", summary["name"].map({v: k for k, v in trial_name.items()}).fillna(""))
    for k in swept:
        summary[k] = summary["name"].map(lambda n, k=k: levers.get(n, {}).get(k, ""))
    trials = summary["kind"] == "trial"
    vals = summary[objs].to_numpy(dtype=float)
    summary["pareto"] = False
    summary.loc[trials, "pareto"] = pareto_mask(vals[trials.to_numpy()], signs)
    summary["front2"] = False
    if len(objs) >= 2:
        summary.loc[trials, "front2"] = pareto_mask(vals[trials.to_numpy()][:, :2], signs[:2])
    else:
        summary.loc[trials, "front2"] = summary.loc[trials, "pareto"]
    # Which trials beat each built-in on every objective.
    dom = []
    tv = vals[trials.to_numpy()] * np.asarray(signs)
    tnames = summary.loc[trials, "name"].tolist()
    for i, row in summary.iterrows():
        if row["kind"] != "builtin":
            dom.append("")
            continue
        b = vals[i] * np.asarray(signs)
        beats = np.all(tv >= b, axis=1) & np.any(tv > b, axis=1)
        dom.append(" ".join(n.split()[-1] for n, x in zip(tnames, beats, strict=True) if x))
    summary["dominated_by"] = dom

    # Each built-in against the trial with the best first objective among those at
    # least as good on the second; the best built-in also against the best trial on
    # the first objective alone when no trial matches it on the second.
    paired_rows: list[dict[str, Any]] = []
    best_builtin = headline = matched_builtin = matched_trial = top_trial = None
    bsum = summary[summary["kind"] == "builtin"]
    tsum = summary[trials]
    sweep_seeds = f"sweep (seed {setup.seed})"
    sel = f"best {objs[0]} at no worse {objs[1]}" if len(objs) >= 2 else f"best {objs[0]}"
    pairs: list[tuple[str, str, str]] = []
    if not bsum.empty and not tsum.empty:
        best_builtin = str(bsum.loc[(bsum[objs[0]] * signs[0]).idxmax(), "name"])
        top_trial = str(tsum.loc[(tsum[objs[0]] * signs[0]).idxmax(), "name"])
        for _, b in bsum.sort_values(objs[0], ascending=signs[0] < 0).iterrows():
            ok = tsum if len(objs) < 2 else tsum[(tsum[objs[1]] * signs[1]) >= b[objs[1]] * signs[1]]
            if ok.empty:
                continue
            t = str(ok.loc[(ok[objs[0]] * signs[0]).idxmax(), "name"])
            if matched_builtin is None:
                matched_builtin, matched_trial = str(b["name"]), t
                pairs.append((matched_builtin, t, sel))
            paired_rows += _paired_rows(per_rep, str(b["name"]), t, kpis, sweep_seeds, sel)
        if matched_builtin == best_builtin:
            headline = matched_trial
        else:
            pairs.insert(0, (best_builtin, top_trial, f"best {objs[0]}"))
            paired_rows = (
                _paired_rows(per_rep, best_builtin, top_trial, kpis, sweep_seeds, f"best {objs[0]}") + paired_rows
            )
    if pairs and confirm_seed_offset is not None and setup.seed is not None:
        # The trials were picked on the sweep's seeds: rerun the headline pairs on fresh ones.
        fresh = int(setup.seed) + int(confirm_seed_offset)
        base = [o for o in setup.base_overrides if _key(o) != "seed"]
        jobs_by_name = {trial_name[j["folder"]]: j for j in g.jobs}
        tasks: dict[str, tuple[list[str], Path, str]] = {}
        for b, t, _ in pairs:
            tasks[b] = ([*base, f"policy={b}", f"seed={fresh}"], root / "confirm" / b, b)
            trial_ov = [
                o
                for o in jobs_by_name[t].get("overrides") or []
                if not _key(o).startswith("hydra") and _key(o) != "seed"
            ]
            tasks[t] = ([*trial_ov, f"seed={fresh}"], root / "confirm" / t.replace(" ", "_"), t)
        names = list(tasks)
        conf = _run_many([tasks[n] for n in names], n_jobs)
        conf_rep = pd.concat([df.assign(name=n) for n, df in zip(names, conf, strict=True)], ignore_index=True)
        for b, t, what in pairs:
            paired_rows += _paired_rows(conf_rep, b, t, kpis, f"fresh (seed {fresh})", what)
    paired = pd.DataFrame(paired_rows)
    if len(tsum) < 2 * len(objs) + 2:
        notes.append(f"only {len(tsum)} trial(s): the front is a rough sketch (a tiny run?)")
    failed = [(f.folder, f.cell, f.error) for f in g.failed]
    return TuningResult(
        objs,
        signs,
        summary,
        per_rep,
        paired,
        setup,
        failed,
        best_builtin,
        headline,
        matched_builtin,
        matched_trial,
        top_trial,
        notes,
    )


# --------------------------------------------------------------------------- output


def _short(key: str) -> str:
    return key[len(_PREFIX) :] if key.startswith(_PREFIX) else key


def _fmt_lever(v: Any) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if x.is_integer():
        return f"{int(x):,}" if abs(x) >= 10000 else str(int(x))
    return f"{x:.3g}"


def plot_pareto(res: TuningResult, out_dir: Path) -> Path:
    """``pareto.png``: the trials, their front and the built-ins on the first two
    objectives (and on the first against the third, when there is one)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    from collectsim.report.plots import _money

    objs, t = res.objectives, res.table
    pairs = [(objs[1], objs[0])] if len(objs) >= 2 else [("cost_total", objs[0])]
    if len(objs) >= 3:
        pairs.append((objs[2], objs[0]))
    fig = Figure(figsize=(6.0 * len(pairs), 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(pairs), squeeze=False)[0]
    trials = t[t["kind"] == "trial"]
    builtins = t[t["kind"] == "builtin"]
    for ax, (xk, yk) in zip(axes, pairs, strict=True):
        if xk not in t:
            continue
        rest = trials[~trials["pareto"]]
        ax.scatter(rest[xk], rest[yk], s=14, c="0.65", label="trial (dominated)", zorder=2)
        par = trials[trials["pareto"]]
        ax.scatter(par[xk], par[yk], s=26, c="tab:blue", label="trial (non-dominated)", zorder=3)
        if xk == objs[min(1, len(objs) - 1)] and len(objs) >= 2:
            f2 = trials[trials["front2"]].sort_values(xk)
            ax.step(
                f2[xk],
                f2[yk],
                where="post" if DIRECTIONS.get(xk, -1) < 0 else "pre",
                c="tab:blue",
                lw=1.0,
                alpha=0.7,
                label=f"front on {objs[0]} and {objs[1]}",
                zorder=2,
            )
        # Keep the trials readable: a built-in far outside their range of the first
        # objective (e.g. do_nothing) is drawn on the edge, with its value.
        ty = trials[yk].to_numpy(dtype=float)
        span = float(np.nanmax(ty) - np.nanmin(ty)) if len(ty) else 0.0
        y_lo, y_hi = (
            (float(np.nanmin(ty)) - 2 * span, float(np.nanmax(ty)) + 2 * span) if span > 0 else (-np.inf, np.inf)
        )
        inside = builtins[(builtins[yk] >= y_lo) & (builtins[yk] <= y_hi)]
        if span > 0:
            both = np.concatenate([ty, inside[yk].to_numpy(dtype=float)])
            pad = 0.08 * float(np.nanmax(both) - np.nanmin(both))
            lo, hi = float(np.nanmin(both)) - pad, float(np.nanmax(both)) + pad
            ax.set_ylim(lo, hi)
        for i, (_, b) in enumerate(builtins.iterrows()):
            y, clipped = float(b[yk]), not (y_lo <= float(b[yk]) <= y_hi)
            if clipped:
                y = lo if float(b[yk]) < y_lo else hi
            ax.scatter(
                [b[xk]],
                [y],
                marker=("v" if float(b[yk]) < y_lo else "^") if clipped else "D",
                s=36,
                c="tab:red",
                zorder=4,
                clip_on=False,
                label="built-in policy" if i == 0 else None,
            )
            text = f"{b['name']} ({yk} {_money(float(b[yk]))}, off the scale)" if clipped else str(b["name"])
            ax.annotate(
                text,
                (b[xk], y),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7.5,
                color="tab:red",
            )
        marked = res.headline_trial or res.matched_trial
        ref = res.best_builtin if res.headline_trial else res.matched_builtin
        if marked is not None:
            h = trials[trials["name"] == marked]
            ax.scatter(
                h[xk],
                h[yk],
                s=90,
                facecolors="none",
                edgecolors="k",
                lw=1.2,
                zorder=5,
                label=f"{marked}: best at no more {objs[1] if len(objs) > 1 else ''} than {ref}",
            )
        ax.set_xlabel(f"{xk} ({'lower' if DIRECTIONS.get(xk, 0) < 0 else 'higher'} is better)")
        ax.set_ylabel(f"{yk} ({'higher' if DIRECTIONS.get(yk, 0) > 0 else 'lower'} is better)")
        for k, axis in ((xk, ax.xaxis), (yk, ax.yaxis)):
            if t[k].abs().max() >= 1e4:
                axis.set_major_formatter(FuncFormatter(_money))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(
        f"Tuning: {len(trials)} trials, mean of {int(trials['n'].max()) if len(trials) else 0} replication(s) each",
        fontsize=10,
    )
    path = out_dir / "pareto.png"
    fig.savefig(path, dpi=100)
    return path


def _md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    esc = [str(h).replace("|", "\\|") for h in header]
    out = ["| " + " | ".join(esc) + " |", "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return out


def _arrow(k: str) -> str:
    return " ↑" if DIRECTIONS.get(k, 0) > 0 else " ↓" if DIRECTIONS.get(k, 0) < 0 else ""


def _diffs(res: TuningResult, builtin: str, trial: str, fresh: bool) -> str | None:
    """``kpi +d ± hw (verdict), ...`` for one pair, or None when it was not compared."""
    p = res.paired
    if p.empty:
        return None
    rows = p[(p["builtin"] == builtin) & (p["trial"] == trial) & (p["seeds"].str.startswith("fresh") == fresh)]
    if rows.empty:
        return None
    d = rows.drop_duplicates("kpi").set_index("kpi")
    return ", ".join(
        f"{k} {fmt_ci(d.loc[k, 'diff_mean'], d.loc[k, 'diff_half_width'], signed=True)} ({d.loc[k, 'verdict']})"
        for k in res.objectives
    )


def _headline(res: TuningResult, builtins: pd.DataFrame) -> list[str]:
    objs = res.objectives
    bb = builtins[builtins["name"] == res.best_builtin].iloc[0]
    out = [
        f"The best built-in policy on {objs[0]} is **{res.best_builtin}** ({objs[0]} {fmt_number(bb[objs[0]])}, "
        f"{objs[1]} {fmt_number(bb[objs[1]])})."
    ]
    paired = "(paired differences, tuned minus built-in, with 95% confidence intervals)"
    fresh_note = "On fresh seeds, where the trial was not selected: "
    if res.headline_trial is not None:
        out[-1] += (
            f" Among the trials with no worse {objs[1]}, the best on {objs[0]} is **{res.headline_trial}**: "
            f"{_diffs(res, res.best_builtin or '', res.headline_trial, False)} {paired}."
        )
        f = _diffs(res, res.best_builtin or "", res.headline_trial, True)
        if f:
            out += ["", fresh_note + f + "."]
        return out
    out[-1] += f" **No trial reaches a {objs[1]} as low as that.**"
    if res.top_trial is not None:
        d = _diffs(res, res.best_builtin or "", res.top_trial, False)
        out += ["", f"The best trial on {objs[0]}, {res.top_trial}, against {res.best_builtin}: {d} {paired}."]
        f = _diffs(res, res.best_builtin or "", res.top_trial, True)
        if f:
            out += ["", fresh_note + f + "."]
    if res.matched_builtin is not None and res.matched_trial is not None:
        out += [
            "",
            f"The best built-in that a tuned setting matches on {objs[1]} is **{res.matched_builtin}**: "
            f"**{res.matched_trial}** gives {_diffs(res, res.matched_builtin, res.matched_trial, False)} {paired}.",
        ]
        f = _diffs(res, res.matched_builtin, res.matched_trial, True)
        if f:
            out += ["", fresh_note + f + "."]
    return out


def write_tuning_report(res: TuningResult, out_dir: str | Path) -> Path:
    """Write ``report.md``, ``pareto.png``, ``comparison.csv`` and ``paired.csv``."""
    out = Path(out_dir)
    objs, t = res.objectives, res.table
    levers = res.setup.swept
    t.to_csv(out / "comparison.csv", index=False)
    res.paired.to_csv(out / "paired.csv", index=False)
    fig = plot_pareto(res, out)
    trials = t[t["kind"] == "trial"]
    builtins = t[t["kind"] == "builtin"]
    reps = int(trials["n"].max()) if len(trials) else 0
    L: list[str] = [f"# Tuning report: {out.name}", ""]
    L += ["## What was run", ""]
    obj_txt = ", ".join(f"{'maximise' if s > 0 else 'minimise'} {k}" for k, s in zip(objs, res.signs, strict=True))
    L += [
        f"- Objectives: {obj_txt} (means over the replications of a trial).",
        f"- Trials: {len(trials)} successful, {len(res.failed)} failed; {reps} replication(s) each, "
        f"base seed {res.setup.seed}, the same seeds for every trial and built-in (common random numbers).",
        f"- Levers swept: {', '.join(f'`{k}`' for k in levers) or '(none)'}.",
        f"- Shared overrides: {', '.join(f'`{o}`' for o in res.setup.base_overrides) or '(none)'}.",
        f"- Built-in policies run on the same seeds: {', '.join(builtins['name'])} (results in `builtins/`).",
        "",
    ]
    L += [
        "## The Pareto set against the built-in policies",
        "",
        f"![{fig.stem}]({fig.name})",
        "",
        "Grey: trials another trial beats on every objective; blue: the non-dominated trials; red: the "
        "built-in policies, run on the same seeds. Every point is a mean over the same replications; "
        "replications differ mostly by their portfolio, which all points share, so the paired "
        "differences below are far more precise than the spread of any one point.",
        "",
    ]
    # Headline.
    if res.best_builtin and len(objs) >= 2:
        L += ["## Headline", ""] + _headline(res, builtins) + [""]
    # Non-dominated settings.
    par = trials[trials["pareto"]].sort_values(objs[0], ascending=res.signs[0] < 0)
    cols = [*objs, *[k for k in EXTRA_KPIS if k in t and k not in objs]]
    L += [
        "## Non-dominated settings",
        "",
        f"{len(par)} of {len(trials)} trials are not beaten on every objective by another trial "
        f"(mean ± 95% half-width over replications; `front2`: also non-dominated on {' and '.join(objs[:2])} alone).",
        "",
    ]
    rows = []
    for _, r in par.iterrows():
        rows.append(
            [
                r["name"],
                *[_fmt_lever(r[k]) for k in levers],
                *[fmt_ci(r[k], r[f"{k}_hw"]) for k in cols],
                "yes" if r["front2"] else "",
            ]
        )
    L += _md_table(["trial", *[_short(k) for k in levers], *[k + _arrow(k) for k in cols], "front2"], rows) + [""]
    # Built-ins.
    L += ["## Built-in policies", ""]
    rows = []
    for _, r in builtins.iterrows():
        dom = r["dominated_by"].split()
        rows.append(
            [
                r["name"],
                *[fmt_ci(r[k], r[f"{k}_hw"]) for k in cols],
                (f"{len(dom)} trial(s)" + (f" (e.g. trial {dom[0]})" if dom else "")) if dom else "none",
            ]
        )
    L += _md_table(["policy", *[k + _arrow(k) for k in cols], "beaten on every objective by"], rows) + [""]
    # Paired comparisons.
    if not res.paired.empty:
        L += [
            "## Tuned settings against each built-in",
            "",
            "For each built-in, the trial with the best "
            + objs[0]
            + (f" among those with no worse {objs[1]}" if len(objs) > 1 else "")
            + ". Paired differences (tuned minus built-in), replication by replication on common seeds, with 95% "
            "confidence intervals. The trials were chosen on the sweep's seeds, so those rows flatter them; the "
            "rows on fresh seeds do not.",
            "",
        ]
        rows = []
        for (b, tr, what, s), part in res.paired.groupby(["builtin", "trial", "selection", "seeds"], sort=False):
            d = part.set_index("kpi")
            rows.append(
                [
                    b,
                    tr,
                    what,
                    s,
                    *[
                        f"{fmt_ci(d.loc[k, 'diff_mean'], d.loc[k, 'diff_half_width'], signed=True)} "
                        f"({d.loc[k, 'verdict']})"
                        for k in objs
                    ],
                ]
            )
        L += _md_table(["built-in", "tuned", "chosen as", "seeds", *[f"Δ {k}" + _arrow(k) for k in objs]], rows) + [""]
    if res.failed:
        L += ["## Failed trials", ""]
        L += [f"- {f} ({c}): {e[:300]}" for f, c, e in res.failed] + [""]
    if res.notes:
        L += ["## Notes", ""] + [f"- {n}" for n in res.notes] + [""]
    L += [
        "Files: `comparison.csv` (every trial and built-in: levers, means, half-widths, `pareto`, `front2`), "
        "`paired.csv` (the paired comparisons), `optimization_results.yaml` (Optuna's own Pareto set), "
        f"`builtins/`, `confirm/`. Confidence level {CONFIDENCE:.0%}.",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(L), encoding="utf-8")
    return path


def build_tuning_report(
    sweep_dir: str | Path,
    objectives: Sequence[str] | None = None,
    builtins: Sequence[str] = DEFAULT_BUILTINS,
    confirm_seed_offset: int | None = 1000,
    n_jobs: int = 2,
) -> tuple[Path, TuningResult]:
    """Analyse a tuning sweep and write its report into it; return the report's path and the result."""
    res = analyse(sweep_dir, objectives, builtins, confirm_seed_offset, n_jobs)
    return write_tuning_report(res, Path(sweep_dir)), res


# --------------------------------------------------------------------------- Hydra callback


try:
    from hydra.experimental.callback import Callback as _Callback
except ImportError:  # pragma: no cover - hydra is a dependency
    _Callback = object  # type: ignore[assignment,misc]


class TuningReportCallback(_Callback):  # type: ignore[misc,valid-type]
    """Hydra callback for tuning sweeps: checks the objectives when the sweep starts
    and writes the tuning report (see the module docstring) when it ends.

    Registered by ``conf/experiment/tune_staged.yaml`` in place of the sweep report
    (``hydra.callbacks.report``), so the report is written before it is published.
    Never raises at the end: a failing report prints one line and leaves the results.
    """

    def __init__(
        self,
        baseline: str = "soft_first",
        enabled: bool = True,
        objectives: Sequence[str] | None = None,
        builtins: Sequence[str] = DEFAULT_BUILTINS,
        confirm_seed_offset: int | None = 1000,
        n_jobs: int = 2,
    ) -> None:
        self.baseline = baseline
        self.enabled = enabled
        self.objectives = [str(k) for k in objectives] if objectives else None
        self.builtins = [str(b) for b in builtins]
        self.confirm_seed_offset = confirm_seed_offset
        self.n_jobs = int(n_jobs)

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        """Exit (status 2) before the first trial when the objectives are not KPIs with a
        direction or disagree with the sweeper's ``direction`` list."""
        if not self.objectives:
            return
        from omegaconf import OmegaConf

        direction = OmegaConf.select(config, "hydra.sweeper.direction")
        if direction is not None and not isinstance(direction, str):
            direction = list(OmegaConf.to_container(direction) if OmegaConf.is_config(direction) else direction)  # type: ignore[arg-type]
        try:
            if direction is None:
                objective_signs(self.objectives)
            else:
                check_directions(self.objectives, direction)
        except ConfigError as exc:
            # Hydra turns exceptions in callbacks into warnings; exiting stops the sweep.
            print(f"collectsim: error: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        """Write the tuning report into ``hydra.sweep.dir`` and print where it is."""
        if not self.enabled:
            return
        sweep_dir = "?"
        try:
            sweep_dir = str(config.hydra.sweep.dir)
            report, res = build_tuning_report(
                sweep_dir, self.objectives, self.builtins, self.confirm_seed_offset, self.n_jobs
            )
            failed = f" ({len(res.failed)} failed trial(s) listed in it)" if res.failed else ""
            print(f"collectsim-report: tuning report written to {report}{failed}", flush=True)
        except Exception as exc:  # noqa: BLE001 - the sweep's results must never be lost to the report
            msg = str(exc) if isinstance(exc, CollectsimError) else f"{type(exc).__name__}: {exc}"
            print(
                f"collectsim-report: error: no tuning report for {sweep_dir}: {' '.join(msg.split())}",
                file=sys.stderr,
                flush=True,
            )


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m collectsim.report.tuning SWEEP_DIR``: (re)write a tuning sweep's report."""
    p = argparse.ArgumentParser(
        prog="python -m collectsim.report.tuning",
        description="Write the tuning report (Pareto set against the built-in policies) "
        "of an optimising collectsim sweep into its folder.",
    )
    p.add_argument("sweep_dir", metavar="SWEEP_DIR")
    p.add_argument("--objectives", default=None, help="comma-separated KPIs (default: the sweep's `objectives`)")
    p.add_argument("--builtins", default=",".join(DEFAULT_BUILTINS), help="comma-separated built-in policies")
    p.add_argument(
        "--confirm-seed-offset",
        default="1000",
        help="rerun the headline pair with seed + this offset; 'none' to skip (default 1000)",
    )
    p.add_argument("--n-jobs", type=int, default=2, help="processes for the built-in runs (default 2)")
    a = p.parse_args(argv)
    objs = [k.strip() for k in a.objectives.split(",") if k.strip()] if a.objectives else None
    offset = None if a.confirm_seed_offset.lower() in ("none", "null", "") else int(a.confirm_seed_offset)
    try:
        report, res = build_tuning_report(
            a.sweep_dir, objs, [b.strip() for b in a.builtins.split(",") if b.strip()], offset, a.n_jobs
        )
    except CollectsimError as exc:
        print(f"{p.prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(f"report written to {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = [
    "DEFAULT_BUILTINS",
    "TuningReportCallback",
    "TuningResult",
    "analyse",
    "build_tuning_report",
    "check_directions",
    "objective_signs",
    "pareto_mask",
    "write_tuning_report",
]
