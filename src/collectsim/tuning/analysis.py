"""Analysis of a tuning sweep: objective directions, the Pareto set, paired comparisons with the built-ins.

See :mod:`collectsim.tuning` for the steps; :func:`analyse` returns a
:class:`TuningResult`, which :mod:`collectsim.tuning.output` writes out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collectsim.errors import ConfigError, ResultsError
from collectsim.metrics import DIRECTIONS
from collectsim.report.compare import verdict
from collectsim.report.gather import gather, parse_override
from collectsim.stats import t_interval
from collectsim.tuning.sweep import SweepSetup, override_key, run_many, sweep_setup

#: Built-in policies a tuned policy is compared with unless others are named.
DEFAULT_BUILTINS = ("soft_first", "staged", "early_escalation", "score_prioritized", "do_nothing")
#: KPIs shown next to the objectives in the tables.
EXTRA_KPIS = ("recovery_rate", "cost_to_collect", "complaints_per_1000")


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


#: Assumptions the best trial is rerun under by default: the book presets.
DEFAULT_UNCERTAINTIES: dict[str, list[str]] = {"portfolio": ["default", "hardship", "strategic"]}


def analyse(
    sweep_dir: str | Path,
    objectives: Sequence[str] | None = None,
    builtins: Sequence[str] = DEFAULT_BUILTINS,
    confirm_seed_offset: int | None = 1000,
    n_jobs: int = 2,
    uncertainties: Mapping[str, Sequence[str]] | None = None,
) -> TuningResult:
    """Gather the trials of ``sweep_dir``, run the built-ins on the same seeds and
    compare (see the module docstring); with ``uncertainties`` (key -> values, e.g.
    ``{"portfolio": ["hardship", "strategic"]}``), rerun the best trial and the best
    built-in under each value. Raises ResultsError when no trial succeeded."""
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
    ref = run_many(ref_tasks, n_jobs)
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
        base = [o for o in setup.base_overrides if override_key(o) != "seed"]
        jobs_by_name = {trial_name[j["folder"]]: j for j in g.jobs}
        tasks: dict[str, tuple[list[str], Path, str]] = {}
        for b, t, _ in pairs:
            tasks[b] = ([*base, f"policy={b}", f"seed={fresh}"], root / "confirm" / b, b)
            trial_ov = [
                o
                for o in jobs_by_name[t].get("overrides") or []
                if not override_key(o).startswith("hydra") and override_key(o) != "seed"
            ]
            tasks[t] = ([*trial_ov, f"seed={fresh}"], root / "confirm" / t.replace(" ", "_"), t)
        names = list(tasks)
        conf = run_many([tasks[n] for n in names], n_jobs)
        conf_rep = pd.concat([df.assign(name=n) for n, df in zip(names, conf, strict=True)], ignore_index=True)
        for b, t, what in pairs:
            paired_rows += _paired_rows(conf_rep, b, t, kpis, f"fresh (seed {fresh})", what)
    best = headline or top_trial
    if best and best_builtin and uncertainties:
        # The trials were tuned under one set of assumptions: rerun the best of them and
        # the best built-in under other values of each uncertainty (same seeds).
        given = {override_key(o): o for o in setup.base_overrides}
        trial_ov = [f"{k}={v}" for k, v in levers[best].items() if v != ""]
        utasks: list[tuple[list[str], Path, str]] = []
        unders: list[str] = []
        for key, values in uncertainties.items():
            for value in values:
                if given.get(key) == f"{key}={value}" or (key not in given and value == "default"):
                    continue
                under = f"{key}={value}"
                folder = root / "uncertainties" / under.replace("=", "_").replace("/", "_")
                base = [o for o in setup.base_overrides if override_key(o) != key]
                utasks += [
                    ([*base, f"policy={best_builtin}", under], folder / best_builtin, best_builtin),
                    ([*base, *trial_ov, under], folder / best.replace(" ", "_"), best),
                ]
                unders.append(under)
        got = run_many(utasks, n_jobs)
        for i, under in enumerate(unders):
            rep = pd.concat([got[2 * i].assign(name=best_builtin), got[2 * i + 1].assign(name=best)], ignore_index=True)
            paired_rows += _paired_rows(rep, best_builtin, best, kpis, sweep_seeds, f"under {under}")
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
