"""The report's opening in plain words: the best cell on each objective, the Pareto set,
the trade-off with its paired differences, and what a stress level means.

Objectives are read from :data:`collectsim.metrics.DIRECTIONS` (maximise recovery,
minimise cost and stress); nothing here runs the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from collectsim.keys import split_keys
from collectsim.metrics import DIRECTIONS
from collectsim.report.compare import Paired, pair_cells
from collectsim.report.gather import Gathered, subset

#: The objectives the summary names a winner for and builds the Pareto set on.
OBJECTIVES = ("recovery_rate", "cost_to_collect", "stress_peak_p95")
#: Plain names of the objectives.
OBJECTIVE_NAMES = {
    "recovery_rate": "recovery",
    "cost_to_collect": "cost",
    "stress_peak_p95": "borrower stress",
}
#: Channels whose stress increment the scale quotes, with plain names.
_SCALE_CHANNELS = (
    ("sms", "an SMS"),
    ("soft_call", "a soft collector call"),
    ("firm_call", "a firm collector call"),
    ("legal_warning", "a legal warning"),
    ("lawsuit", "a lawsuit filing"),
)


@dataclass
class Summary:
    """What the summary says, as data (the Markdown is :func:`summary_lines`).

    Attributes
    ----------
    winners : objective KPI -> (label, mean, half-width) of the best cell.
    runner_up : objective KPI -> (label, paired difference row or None) of the second best.
    pareto : labels of the cells no other cell beats (see :func:`pareto_set`).
    dominated : label -> label of a cell that beats it.
    tradeoff : sentences on what moving between Pareto cells gains and loses.
    """

    winners: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    runner_up: dict[str, tuple[str, pd.Series | None]] = field(default_factory=dict)
    pareto: list[str] = field(default_factory=list)
    dominated: dict[str, str] = field(default_factory=dict)
    tradeoff: list[str] = field(default_factory=list)


def _fmt(x: float, hw: float | None = None, signed: bool = False) -> str:
    from collectsim.report.fmt import fmt_ci, fmt_number

    if hw is None:
        return fmt_number(x)
    return fmt_ci(x, hw, signed=signed)


def _beats(a: dict[str, str], objectives: Sequence[str]) -> bool:
    """Whether verdicts ``a`` (objective -> verdict of X against Y) say X beats Y: better
    on one objective, worse on none."""
    vs = [a.get(k, "not distinguishable") for k in objectives]
    return "better" in vs and "worse" not in vs


def pareto_set(g: Gathered, objectives: Sequence[str] = OBJECTIVES) -> tuple[list[str], dict[str, str]]:
    """Cells that no other cell beats, and for each other cell one cell that beats it.

    Cell X beats cell Y when, paired replication by replication, X is **better** than Y
    on at least one objective (the 95% interval of the difference excludes 0 in the
    good direction) and **worse** on none. A difference the sweep cannot resolve never
    removes a cell, so two cells that tie both stay. Without pairs (one replication),
    plain means decide.

    Returns
    -------
    pareto : cells in sweep order.
    beaten_by : beaten cell -> a cell that beats it.
    """
    cells = list(g.cells()["cell"])
    objectives = [k for k in objectives if k in g.kpi_names]
    beaten_by: dict[str, str] = {}
    means = g.overall().groupby("cell")[objectives].mean()
    for y in cells:
        for x in cells:
            if x == y:
                continue
            t = pair_cells(g, x, y, objectives)
            if len(t) and (t["n"] >= 2).all():
                verdicts = dict(zip(t["kpi"], t["verdict"], strict=True))
            else:
                verdicts = {}
                for k in objectives:
                    d = (means.loc[x, k] - means.loc[y, k]) * DIRECTIONS.get(k, 0)
                    verdicts[k] = "better" if d > 0 else "worse" if d < 0 else "not distinguishable"
            if _beats(verdicts, objectives):
                beaten_by[y] = x
                break
    return [c for c in cells if c not in beaten_by], beaten_by


def summarise(g: Gathered, objectives: Sequence[str] = OBJECTIVES) -> Summary:
    """Winners, runners-up, the Pareto set and the trade-off sentences of a sweep."""
    objectives = [k for k in objectives if k in g.kpi_names]
    cells = g.cells()
    labels = dict(zip(cells["cell"], cells["label"], strict=True))
    ov = g.overall()
    out = Summary()
    if not objectives:
        return out
    from collectsim.stats import t_interval

    stats_by = {
        k: {c: t_interval(ov.loc[ov["cell"] == c, k].to_numpy(float)) for c in cells["cell"]} for k in objectives
    }
    best: dict[str, str] = {}
    for k in objectives:
        d = DIRECTIONS.get(k, 1)
        ranked = sorted(
            (c for c in cells["cell"] if math.isfinite(stats_by[k][c][0])), key=lambda c: -d * stats_by[k][c][0]
        )
        if not ranked:
            continue
        best[k] = ranked[0]
        m, hw, _ = stats_by[k][ranked[0]]
        out.winners[k] = (labels[ranked[0]], m, hw)
        if len(ranked) > 1:
            t = pair_cells(g, ranked[1], ranked[0], [k])
            out.runner_up[k] = (labels[ranked[1]], t.iloc[0] if len(t) else None)
    pareto, beaten_by = pareto_set(g, objectives)
    out.pareto = [labels[c] for c in pareto]
    out.dominated = {labels[c]: labels[b] for c, b in beaten_by.items()}
    # The trade-off among the unbeaten cells: the best of them on the first objective
    # against the best of them on each other objective.
    top: dict[str, str] = {}
    for k in objectives:
        d = DIRECTIONS.get(k, 1)
        ok = [c for c in pareto if math.isfinite(stats_by[k][c][0])]
        if ok:
            top[k] = min(ok, key=lambda c: -d * stats_by[k][c][0])
    anchor = top.get(objectives[0])
    if anchor is None:
        return out
    wins: dict[str, list[str]] = {}
    for k, c in top.items():
        wins.setdefault(c, []).append(k)
    rivals = [c for c in wins if c != anchor]
    among = "" if anchor == best.get(objectives[0]) else " among the unbeaten cells"
    if not rivals:
        out.tradeoff.append(
            f"{labels[anchor]} is best{among} on {_names(wins[anchor])} and no cell beats it on another "
            "objective without losing on one, so this sweep shows no trade-off between the objectives."
        )
    for c in rivals[:2]:
        t = pair_cells(g, c, anchor, objectives).set_index("kpi")
        if t.empty:
            continue
        gains: list[str] = []
        losses: list[str] = []
        ties: list[str] = []
        for k in objectives:
            r = t.loc[k]
            words = _change(k, float(r["diff_mean"]), float(r["diff_half_width"]), float(r["diff_pct"]))
            {"better": gains, "worse": losses}.get(str(r["verdict"]), ties).append(words)
        among_c = "" if all(best.get(k) == c for k in wins[c]) else " among the unbeaten cells"
        text = (
            f"Against {labels[anchor]} (best{among} on {_names(wins[anchor])}), "
            f"{labels[c]} (best{among_c} on {_names(wins[c])})"
        )
        tied = [k for k in objectives if str(t.loc[k, "verdict"]) not in ("better", "worse")]
        if not gains and not losses:
            text += f" cannot be told apart on {', '.join(tied)}: more replications are needed to see the trade-off"
        else:
            if gains:
                text += " " + " and ".join(gains)
            if losses:
                text += (", but" if gains else "") + " " + " and ".join(losses)
            if ties:
                text += f"; {', '.join(tied)} cannot be told apart"
        out.tradeoff.append(text + ".")
    rest = [c for c in pareto if c != anchor and c not in rivals[:2]]
    kept = []
    for c in rest[:4]:
        t = pair_cells(g, c, anchor, objectives)
        gains = [
            _change(str(r["kpi"]), float(r["diff_mean"]), float(r["diff_half_width"]), float(r["diff_pct"]))
            for _, r in t.iterrows()
            if r["verdict"] == "better"
        ]
        if gains:
            kept.append(f"{labels[c]} ({' and '.join(gains)})")
    if kept:
        out.tradeoff.append(f"Also unbeaten, for what they do better than {labels[anchor]}: {'; '.join(kept)}.")
    return out


def _names(kpis: Sequence[str]) -> str:
    return " and ".join(OBJECTIVE_NAMES.get(k, k) for k in kpis)


def _change(kpi: str, diff: float, hw: float, pct: float) -> str:
    """``raises recovery_rate by 0.012 ± 0.003 (+1.2%)``."""
    from collectsim.report.fmt import fmt_ci

    verb = "raises" if diff > 0 else "lowers"
    pct_txt = (
        f" ({pct:+.0f}%)" if math.isfinite(pct) and abs(pct) >= 1 else f" ({pct:+.1f}%)" if math.isfinite(pct) else ""
    )
    return f"{verb} {kpi} by {fmt_ci(abs(diff), hw)}{pct_txt}"


def summary_lines(
    g: Gathered, paired: Paired, objectives: Sequence[str] = OBJECTIVES, levers: Sequence[str] = ()
) -> list[str]:
    """The ``## Summary`` section of the report, in Markdown.

    Only levers (:mod:`collectsim.keys`: policy, team, rules, and the keys in
    ``levers``) are ranked and paired: when the sweep also varies uncertainties
    (behaviour, stress, the book) or settings, the ranking is given for each of their
    combinations, followed by whether the winner changes across them.
    """
    lines = ["## Summary", ""]
    if not [k for k in objectives if k in g.kpi_names]:
        return [*lines, "This sweep has none of the objective KPIs (" + ", ".join(objectives) + ").", ""]
    lever_keys, conditions = split_keys(g.varying_keys, levers)
    n_reps = int(g.overall().groupby("cell").size().min())
    if not conditions:
        lines += _ranking(g, objectives)
    else:
        lines += _per_condition(g, paired, objectives, lever_keys, conditions)
    lines += [
        f"Differences are paired replication by replication ({n_reps} or more replications per cell, same "
        "random numbers); ± is the half-width of the 95% interval, and 'beaten' needs an interval that "
        "excludes 0. recovery_rate is the share of what was owed (balance at entry plus interest and "
        "penalties accrued) that was collected, in [0, 1]; cost_to_collect is cost per yuan collected.",
        "",
    ]
    return lines


def _ranking(g: Gathered, objectives: Sequence[str]) -> list[str]:
    """Winners, Pareto set and trade-off of the cells of ``g`` (which differ in levers only)."""
    s = summarise(g, objectives)
    lines: list[str] = []
    for k, (label, m, hw) in s.winners.items():
        d = DIRECTIONS.get(k, 0)
        word = "Most" if d > 0 else "Least"
        text = f"- **{word} {OBJECTIVE_NAMES.get(k, k)}** ({k}{' ↑' if d > 0 else ' ↓'}): **{label}**, {_fmt(m, hw)}"
        ru = s.runner_up.get(k)
        if ru is not None:
            other, row = ru
            if row is not None and int(row["n"]) >= 2:
                diff = float(row["diff_mean"])
                gap = _fmt(abs(diff), float(row["diff_half_width"]))
                side = "higher" if diff > 0 else "lower"
                tie = row["verdict"] == "not distinguishable"
                text += f"; next {other}, {gap} {side} (paired" + (", not distinguishable)" if tie else ")")
            else:
                text += f"; next {other}"
        lines.append(text + ".")
    sep = "; " if any("," in lbl for lbl in s.pareto) else ", "
    if len(s.pareto) == len(g.cells()):
        lines.append(f"- **Pareto set**: every cell ({sep.join(s.pareto)}): none beats another.")
    else:
        lines.append(
            f"- **Pareto set** (no other cell is better on one objective and worse on none): {sep.join(s.pareto)}."
        )
        by_beater: dict[str, list[str]] = {}
        for beaten, by in s.dominated.items():
            by_beater.setdefault(by, []).append(beaten)
        for by, group in by_beater.items():
            lines.append(f"  - beaten by {by} (better on at least one objective, worse on none): {'; '.join(group)}.")
    lines.append("")
    if s.tradeoff:
        lines += ["**Trade-off** (paired differences, 95% intervals): " + " ".join(s.tradeoff), ""]
    return lines


def _against_baseline(paired: Paired, labels: dict[str, str], objectives: Sequence[str]) -> list[str]:
    """One line per challenger among the cells ``labels`` names (cell -> label): its
    paired differences from its baseline."""
    t = paired.table
    t = t[t["cell"].isin(list(labels)) & t["kpi"].isin(list(objectives))]
    out = []
    for cell, rows in t.groupby("cell", sort=False):
        bcell = str(rows["baseline_cell"].iloc[0])
        base = labels.get(bcell, str(rows["baseline_label"].iloc[0]))
        parts = [
            f"{r['kpi']} {_fmt(float(r['diff_mean']), float(r['diff_half_width']), signed=True)} ({r['verdict']})"
            for _, r in rows.iterrows()
        ]
        out.append(f"  - {labels[str(cell)]} against {base}: {'; '.join(parts)}.")
    return out


def _per_condition(
    g: Gathered, paired: Paired, objectives: Sequence[str], lever_keys: list[str], conditions: list[str]
) -> list[str]:
    """The ranking of the levers under each combination of the swept uncertainties (and
    settings), and whether the winner on each objective changes across them."""
    shown = ", ".join(["policy", *lever_keys])
    lines = [
        f"This sweep varies levers (what a lender chooses: {shown}) and assumptions that are not choices "
        f"({', '.join(conditions)}). Levers are ranked and paired only against cells under the same "
        "assumptions, so the ranking is given for each of them.",
        "",
    ]
    combos = g.cells()[conditions].astype(str).drop_duplicates()
    winners: list[tuple[str, dict[str, str]]] = []
    for _, combo in combos.iterrows():
        where = {k: str(combo[k]) for k in conditions}
        name = ", ".join(f"{k}={v}" for k, v in where.items())
        sub = subset(g, where)
        lines += [f"### Under {name}", ""]
        if len(sub.cells()) < 2:
            lines += [f"One cell only ({sub.cells()['label'].iloc[0]}): nothing to rank.", ""]
            continue
        lines += _ranking(sub, objectives)
        cells = sub.cells()
        against = _against_baseline(paired, dict(zip(cells["cell"], cells["label"], strict=True)), objectives)
        if against:
            lines += [f"- **Against the baseline ({paired.baseline})**, paired:", *against, ""]
        s = summarise(sub, objectives)
        winners.append((name, {k: w[0] for k, w in s.winners.items()}))
    if len(winners) > 1:
        lines += ["### Does the winner change?", ""]
        keys = [k for k in objectives if any(k in w for _, w in winners)]
        lines += [
            "| under | " + " | ".join(f"best on {OBJECTIVE_NAMES.get(k, k)}" for k in keys) + " |",
            "|---|" + "---|" * len(keys),
            *(f"| {name} | " + " | ".join(w.get(k, "") for k in keys) + " |" for name, w in winners),
            "",
        ]
        for k in keys:
            best = {w.get(k, "") for _, w in winners}
            what = OBJECTIVE_NAMES.get(k, k)
            if len(best) == 1:
                lines.append(f"- Best on {what}: **{best.pop()}** under every assumption swept.")
            else:
                lines.append(f"- Best on {what}: **the winner changes** with {', '.join(conditions)}.")
        lines.append("")
    return lines


# --------------------------------------------------------------------- stress scale
def _job_config(g: Gathered, job: dict[str, Any] | None = None) -> dict[str, Any]:
    """The composed config (``.hydra/config.yaml``) of ``job``, else of the sweep's first
    successful job that has one, or the defaults under ``conf/``."""
    import yaml

    for j in [job] if job is not None else g.jobs:
        path = g.sweep_dir / str(j.get("folder", "")) / ".hydra" / "config.yaml"
        try:
            cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(cfg, dict) and "stress" in cfg:
            return cfg
    return default_config()


def default_config() -> dict[str, Any]:
    """The ``stress`` and ``channels`` groups of the default config, read from ``conf/``."""
    import yaml

    from collectsim.config import config_dir

    root = Path(config_dir())
    out: dict[str, Any] = {}
    for group in ("stress", "channels"):
        try:
            out[group] = yaml.safe_load((root / group / "default.yaml").read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            out[group] = {}
    return out


def _effects(st: dict[str, Any], threshold: float) -> str:
    """``willingness to pay x0.55, ...``: what a stress level of ``threshold`` does."""
    w, c, p = (
        float(st.get(k, v))
        for k, v in (("willingness_effect", 0.3), ("contactability_effect", 0.2), ("complaint_effect", 0.5))
    )
    return (
        f"willingness to pay x{math.exp(-w * threshold):.2f}, chance of "
        f"answering a call x{math.exp(-c * threshold):.2f}, complaint chance x{1 + p * threshold:.1f}"
        + (
            f", every contact's effect x{math.exp(-float(st['response_effect']) * threshold):.2f}"
            if "response_effect" in st
            else ""
        )
        # The intensity model's floor goes with willingness squared (floor_willingness_exp 2).
        + (
            f", own repayment floor x{math.exp(-float(st['intensity_effect']) * threshold) ** 2:.2f} "
            "(willingness x" + f"{math.exp(-float(st['intensity_effect']) * threshold):.2f}, squared in the floor)"
            if "intensity_effect" in st
            else ""
        )
    )


def stress_scale_lines(g: Gathered) -> list[str]:
    """What a stress level means in this sweep: the increments per contact, the decay, the
    distress threshold and the effects, with the numbers of the sweep's own config (for
    each value when the sweep varies them)."""
    cfg = _job_config(g)
    st = cfg.get("stress") or {}
    ch = cfg.get("channels") or {}
    threshold = float(st.get("distress_threshold", 2.0))
    half_life = float(st.get("half_life_days", 7.0))
    incs = [
        f"{name} {float(ch[key]['stress_increment']):g}"
        for key, name in _SCALE_CHANNELS
        if isinstance(ch.get(key), dict) and "stress_increment" in ch[key]
    ]
    reactive = {
        name: float(c["reactance"])
        for name, c in [*((k, v) for k, v in ch.items() if k != "extra"), *((ch.get("extra") or {}).items())]
        if isinstance(c, dict) and float(c.get("reactance", 0.0) or 0.0) > 0
    }
    if "reactance_threshold" in st and reactive:
        react = (
            f"- **Reactance**: above level {float(st['reactance_threshold']):g} a contact on "
            + ", ".join(f"{n} loses {v:g}" for n, v in reactive.items())
            + " per unit of stress above it (such contact can backfire); other channels carry none."
        )
    else:
        react = ""
    varied = [k for k in g.varying_keys if k.startswith(("stress.", "channels."))]
    first = "" if not varied else " (first cell)"
    lines = [
        "## Stress scale",
        "",
        "A borrower's stress level starts at 0. Each delivered contact adds its channel's increment "
        "times the borrower's sensitivity (about 1 on average; collector calls also times the "
        f"collector's harshness){first}: {', '.join(incs)}. So a level of 1 is about one firm call's worth. "
        f"Stress halves every {half_life:g} days without contact.",
        "",
        f"- **Distress**: a borrower-day that ends above **{threshold:g}** (`stress.distress_threshold`) is a "
        f"distress day; distress_day_share is the share of open borrower-days in distress.",
    ]
    if not varied:
        lines.append(f"- **Effects at level {threshold:g}**: {_effects(st, threshold)}.")
    else:
        lines.append(f"- **Effects at level {threshold:g}**, for each value of {', '.join(varied)} in this sweep:")
        seen: set[tuple[str, ...]] = set()
        cells = g.kpis.drop_duplicates("job")
        for job in g.jobs:
            row = cells[cells["job"] == job.get("folder")]
            if row.empty:
                continue
            values = tuple(str(row[k].iloc[0]) for k in varied)
            if values in seen:
                continue
            seen.add(values)
            jcfg = _job_config(g, job)
            jst = jcfg.get("stress") or {}
            jt = float(jst.get("distress_threshold", threshold))
            at = "" if jt == threshold else f" (distress above {jt:g}; effects at level {jt:g})"
            name = ", ".join(f"{k}={v}" for k, v in zip(varied, values, strict=True))
            lines.append(f"  - {name}{at}: {_effects(jst, jt)}.")
    lines.append(
        "- **stress_peak_p95**: 5% of borrowers reached a peak level at least this high (peaks are taken "
        "right after a contact); stress_mean is the mean end-of-day level over open borrower-days."
    )
    if react:
        lines.append(react + (" (first cell)" if varied else ""))
    return [*lines, "", "See docs/model.md, section 6, for the equations.", ""]


__all__ = [
    "OBJECTIVES",
    "Summary",
    "default_config",
    "pareto_set",
    "stress_scale_lines",
    "summarise",
    "summary_lines",
]
