"""Output of a tuning report: ``pareto.png``, ``report.md``, ``comparison.csv`` and ``paired.csv``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collectsim.metrics import DIRECTIONS
from collectsim.report.fmt import fmt_ci, fmt_number
from collectsim.stats import CONFIDENCE
from collectsim.tuning.analysis import EXTRA_KPIS, TuningResult

_PREFIX = "levers."


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
    under = res.paired[res.paired["selection"].astype(str).str.startswith("under ")] if not res.paired.empty else None
    paired = res.paired.drop(under.index) if under is not None else res.paired
    # Paired comparisons.
    if not paired.empty:
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
        for (b, tr, what, s), part in paired.groupby(["builtin", "trial", "selection", "seeds"], sort=False):
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
    if under is not None and not under.empty:
        b, tr = str(under["builtin"].iloc[0]), str(under["trial"].iloc[0])
        L += [
            "## The best trial under other assumptions",
            "",
            f"The trials were tuned under one set of assumptions (the shared overrides above). {tr} and {b} "
            "rerun under other values of the uncertainties (collectsim.keys), on the sweep's seeds; paired "
            f"differences, {tr} minus {b}. Does the tuned setting keep its edge?",
            "",
        ]
        rows = []
        for what, part in under.groupby("selection", sort=False):
            d = part.set_index("kpi")
            rows.append(
                [
                    str(what).removeprefix("under "),
                    *[
                        f"{fmt_ci(d.loc[k, 'diff_mean'], d.loc[k, 'diff_half_width'], signed=True)} "
                        f"({d.loc[k, 'verdict']})"
                        for k in objs
                    ],
                ]
            )
        L += _md_table(["under", *[f"Δ {k}" + _arrow(k) for k in objs]], rows) + [""]
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
