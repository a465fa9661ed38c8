"""Writing the sweep report: ``report.md`` plus the CSV tables it summarises.

The report is meant to be read on its own: what was run, which jobs failed and why,
per-cell means with confidence intervals, paired differences against the baseline
with verdicts, the figures, and how to read all of it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from collectsim.metrics import DIRECTIONS
from collectsim.report.compare import Paired, mirrored
from collectsim.report.factors import factor_figure_name, numeric_factors
from collectsim.report.fmt import fmt_ci, fmt_number, idle_team_note, shell_quote
from collectsim.report.gather import Gathered
from collectsim.report.summary import stress_scale_lines, summary_lines
from collectsim.stats import CONFIDENCE

#: Figure name -> (title, caption) in the report.
FIGURES = {
    "recovery_vs_stress": (
        "Recovery against debtor stress",
        "One point per cell: mean recovery_rate (collected / owed) against mean stress_peak_p95, with "
        "95% CI bars; colour is the policy, the marker shape the value of the other swept settings. "
        "Markers that would cover each other are moved a few points apart (the bars stay at the true "
        "means). The dashed line joins the front on these two axes: cells with no other cell at least "
        "as good on both and better on one (cost is left out here; see the summary's Pareto set).",
    ),
    "recovery_curves": (
        "Recovery curves",
        "Cumulative amount collected divided by what was owed (balance at entry plus interest and "
        "penalties accrued), by day: mean across replications with a 95% band for that mean, so each "
        "curve ends at the cell's recovery_rate. Colour is the policy; line style the other swept "
        "settings (or the policy, when nothing else varies). A curve that rises earlier collects sooner.",
    ),
    "stress_distribution": (
        "Debtor stress across replications",
        "Box plots of stress_peak_p95 and distress_day_share over the replications of each cell "
        "(box: quartiles, line: median). Lower is better for both.",
    ),
    "cost_breakdown": (
        "Cost breakdown",
        "Mean cost per replication by channel (yuan), stacked; the bar's length is the total cost.",
    ),
    "capacity": (
        "Collector capacity",
        "Top: collector utilisation (share of paid minutes spent on calls) and mean backlog of calls "
        "waiting per cell (mean with 95% CI). Bottom: calls waiting by day, averaged over replications and "
        "over a 7-day window (the backlog builds up at weekends, when no collector works). Utilisation "
        "near 1 with a rising backlog means the team is too small for the policy.",
    ),
}


def factor_caption(key: str) -> tuple[str, str]:
    """Title and caption of the chart of KPIs against the numeric setting ``key``."""
    return (
        f"KPIs against {key}",
        f"Each panel is one KPI against {key} (a log axis when its values span a factor of 8 or more): one "
        "line per policy (colour; line style for any other swept setting), the mean per cell with a 95% "
        "confidence band. Where lines cross, the better "
        f"policy changes with {key}; where the bands overlap, read the paired differences instead.",
    )


_ERROR_CHARS = 300


def _esc(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _arrow(kpi: str) -> str:
    d = DIRECTIONS.get(kpi, 0)
    return " ↑" if d > 0 else " ↓" if d < 0 else ""


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(_esc(h) for h in header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(_esc(c) for c in r) + " |" for r in rows]
    return lines


def _what_was_run(g: Gathered) -> list[str]:
    ov, cells = g.overall(), g.cells()
    n_jobs = len(g.jobs) + len(g.failed)
    reps = ov.groupby("cell").size().reindex(cells["cell"])
    rep_text = (
        f"{int(reps.iloc[0])} per cell"
        if reps.nunique() == 1
        else "from " + f"{int(reps.min())} to {int(reps.max())} per cell"
    )
    seeds = ", ".join(str(int(s)) for s in sorted(ov["seed"].dropna().unique()))
    versions = sorted({str((j.get("versions") or {}).get("collectsim", "?")) for j in g.jobs})
    wall_s = sum(float(j.get("wall_seconds") or 0.0) for j in g.jobs)
    lines = []
    command = sweep_command(g)
    if command:
        lines += [f"Command: `{command}`", ""]
    common = ", ".join(f"`{k}={v}`" for k, v in g.common.items())
    lines += [
        f"- {len(cells)} cell(s) from {n_jobs} job(s): {len(g.jobs)} succeeded, {len(g.failed)} failed",
        *([f"- settings shared by every cell: {common}"] if common else []),
        f"- replications: {rep_text}; base seed(s): {seeds} (replication k of every cell uses the same "
        "random streams, so cells are compared under common random numbers)",
        f"- collectsim version: {', '.join(versions)}; total simulation wall time {wall_s:,.1f} s",
        "",
    ]
    if "collector_utilisation" in ov:
        util = ov.groupby("cell")["collector_utilisation"].mean()
        idle = [c for c in cells["cell"] if c in util and idle_team_note(float(util[c]))]
        if idle:
            where = "" if len(idle) == len(cells) else f" in {len(idle)} of {len(cells)} cells"
            note = idle_team_note(float(util[idle].max()), where)
            lines += [f"**Note**: {str(note).replace('only', 'at most', 1) if len(idle) > 1 else note}", ""]
    others = g.varying_keys
    rows = []
    for i, r in cells.iterrows():
        jobs = ", ".join(sorted(ov.loc[ov["cell"] == r["cell"], "job"].unique(), key=lambda s: (len(s), s)))
        rows.append(
            [i + 1, r["label"], r["policy"], *(r[k] or "(default)" for k in others), jobs, int(reps[r["cell"]])]
        )
    lines += _table(
        ["#", "cell", "policy", *others, "job folder(s)", "replications"], rows, "rll" + "l" * len(others) + "lr"
    )
    return lines


def sweep_command(g: Gathered) -> str | None:
    """The command that reruns the sweep, from its ``multirun.yaml``: the overrides, and
    ``--config-dir`` / ``--config-name`` / ``hydra.*`` overrides when the sweep used them."""
    hydra = (g.multirun.get("hydra") or {}) if g.multirun else {}
    task = (hydra.get("overrides") or {}).get("task")
    if task is None:
        return None
    parts = ["collectsim", "-m"]
    sources = ((hydra.get("runtime") or {}).get("config_sources")) or []
    for src in sources:
        if isinstance(src, dict) and src.get("provider") == "command-line" and src.get("path"):
            parts += ["--config-dir", str(src["path"]).removeprefix("file://")]
    name = (hydra.get("job") or {}).get("config_name")
    if name and name != "config":
        parts += ["--config-name", str(name)]
    extra = [str(o) for o in (hydra.get("overrides") or {}).get("hydra") or [] if not str(o).startswith("hydra.mode=")]
    parts += [str(t) for t in task] + extra
    return " ".join(shell_quote(p) for p in parts)


def _failed(g: Gathered) -> list[str]:
    if not g.failed:
        return []
    lines = [
        "## Failed jobs",
        "",
        f"{len(g.failed)} job(s) produced no usable results and are left out of everything below.",
        "",
    ]
    rows = [
        [f.folder, f.cell, f.error if len(f.error) <= _ERROR_CHARS else f.error[:_ERROR_CHARS] + "..."]
        for f in g.failed
    ]
    return [*lines, *_table(["job folder", "cell", "error"], rows, "lll"), ""]


def _comparison(g: Gathered, comparison: pd.DataFrame, kpis: Sequence[str]) -> list[str]:
    pct = int(round(CONFIDENCE * 100))
    lines = [
        "## Results per cell",
        "",
        f"Mean across replications ± half-width of the {pct}% t confidence interval of that mean "
        "(overall portfolio). ↑: larger is better, ↓: smaller is better.",
        "",
    ]
    t = comparison.set_index(["cell", "kpi"])
    rows = []
    for _, c in g.cells().iterrows():
        n = int(t.loc[(c["cell"], kpis[0]), "n"]) if kpis else 0
        row: list[object] = [c["label"], n]
        for k in kpis:
            r = t.loc[(c["cell"], k)]
            row.append(fmt_ci(float(r["mean"]), float(r["half_width"])))
        rows.append(row)
    return [*lines, *_table(["cell", "n", *(k + _arrow(k) for k in kpis)], rows), ""]


def _paired(paired: Paired, kpis: Sequence[str], mirrors: dict[str, str] | None = None) -> list[str]:
    pct = int(round(CONFIDENCE * 100))
    lines = [f"## Differences against the baseline ({paired.baseline})", ""]
    lines += [f"- {n}" for n in paired.notes]
    if paired.notes:
        lines.append("")
    t = paired.table[paired.table["kpi"].isin(kpis)]
    if t.empty:
        if not paired.notes:
            lines += ["No cell to compare with a baseline.", ""]
        return lines
    lines += [
        f"Each cell minus its {paired.baseline} cell with the same other swept settings, replication by "
        f"replication (same seeds), then averaged; ± is the half-width of the {pct}% t interval of the "
        "mean difference. **better**/**worse**: the interval excludes 0 in the KPI's good/bad direction; "
        "higher/lower: the same for KPIs with no good direction; not distinguishable: the interval "
        "contains 0.",
        "",
    ]
    order = {k: i for i, k in enumerate(kpis)}
    mirror = mirrors or {}
    if mirror:
        pairs_txt = ", ".join(f"{k} = 1 - {v}" for k, v in mirror.items())
        lines += [f"Mirrored KPIs ({pairs_txt} in every replication) are counted once in the verdict counts.", ""]
    for _cell, sub in t.groupby("cell", sort=False):
        sub = sub.sort_values("kpi", key=lambda s: s.map(order))
        head = sub.iloc[0]
        counted = sub[~sub["kpi"].isin(list(mirror))]
        counts = counted["verdict"].value_counts()
        summary = ", ".join(
            f"{v} on {int(counts[v])}"
            for v in ("better", "worse", "higher", "lower", "not distinguishable")
            if counts.get(v, 0)
        )
        lines += [
            f"### {head['label']} vs {head['baseline_label']}",
            "",
            f"{summary} of {len(counted)} KPI(s); {int(sub['n'].max())} paired replication(s).",
            "",
        ]
        rows = []
        for _, r in sub.iterrows():
            pct_txt = "n/a" if not np.isfinite(r["diff_pct"]) else f"{r['diff_pct']:+.1f}%"
            v = r["verdict"]
            rows.append(
                [
                    r["kpi"] + _arrow(r["kpi"]),
                    fmt_number(float(r["baseline_mean"])),
                    fmt_ci(float(r["diff_mean"]), float(r["diff_half_width"]), signed=True),
                    pct_txt,
                    f"**{v}**" if v in ("better", "worse") else v,
                    int(r["n"]),
                ]
            )
        lines += _table(["KPI", f"{paired.baseline} mean", "difference", "change", "verdict", "n"], rows, "lrrrlr")
        lines.append("")
    return lines


def _figures(figures: dict[str, Path], out_dir: Path, factor_keys: dict[str, str]) -> list[str]:
    if not figures:
        return []
    lines = ["## Figures", ""]
    for name, path in figures.items():
        title, caption = FIGURES.get(name) or factor_caption(factor_keys.get(name, name))
        rel = Path(os.path.relpath(Path(path).resolve(), out_dir.resolve())).as_posix()
        lines += [f"### {title}", "", f"![{title}]({rel})", "", caption, ""]
    return lines


HOW_TO_READ = (
    "## How to read this\n\n"
    "Every cell of the sweep is one configuration (a policy plus any other overrides) run for several "
    "replications; a replication is one simulated portfolio, and replication k uses the same random numbers in "
    "every cell. The per-cell table gives the mean over replications and a 95% confidence interval for it: with "
    "few replications the intervals are wide, and overlapping intervals there do not settle a comparison. The "
    "paired table is the sharper test: it subtracts the baseline from each cell replication by replication, "
    "which removes the noise both share, and calls a KPI better or worse only when the interval of the mean "
    "difference excludes zero. 'Not distinguishable' means this sweep cannot tell the two apart, not that they "
    "are equal; more replications narrow the intervals. Many KPIs are tested at once, so expect about one in "
    "twenty 'better'/'worse' verdicts by chance when there is no real difference. recovery_rate is what was "
    "collected over what was owed (balance at entry plus interest and penalties accrued), so it lies in [0, 1]; "
    "stress KPIs measure debtor distress (see the stress scale above) and are better when lower.\n"
)


def write_tables(g: Gathered, comparison: pd.DataFrame, paired: Paired, out_dir: str | Path) -> dict[str, Path]:
    """Write ``comparison.csv``, ``paired.csv`` and ``tidy_kpis.csv`` into ``out_dir``."""
    out = Path(out_dir)
    paths = {"comparison": out / "comparison.csv", "paired": out / "paired.csv", "tidy_kpis": out / "tidy_kpis.csv"}
    comparison.to_csv(paths["comparison"], index=False)
    paired.table.to_csv(paths["paired"], index=False)
    g.kpis.to_csv(paths["tidy_kpis"], index=False)
    return paths


def write_report(
    g: Gathered,
    comparison: pd.DataFrame,
    paired: Paired,
    figures: dict[str, Path],
    out_dir: str | Path,
    kpis: Sequence[str],
    levers: Sequence[str] = (),
) -> Path:
    """Write ``report.md`` into ``out_dir`` and return its path.

    Parameters
    ----------
    g : the gathered sweep.
    comparison : :func:`collectsim.report.compare.comparison_table` (must cover ``kpis``).
    paired : :func:`collectsim.report.compare.paired_differences`.
    figures : figure name -> PNG path (inside ``out_dir``).
    out_dir : where to write (normally the sweep folder).
    kpis : KPIs shown in the tables.
    levers : keys ranked as levers besides those :mod:`collectsim.keys` calls levers.
    """
    path = Path(out_dir) / "report.md"
    path.write_text(report_text(g, comparison, paired, figures, out_dir, kpis, levers), encoding="utf-8")
    return path


def report_text(
    g: Gathered,
    comparison: pd.DataFrame,
    paired: Paired,
    figures: dict[str, Path],
    out_dir: str | Path,
    kpis: Sequence[str],
    levers: Sequence[str] = (),
) -> str:
    """The Markdown of the report (see :func:`write_report`)."""
    out = Path(out_dir)
    kpis = [k for k in kpis if k in set(comparison["kpi"])]
    factors = numeric_factors(g)
    factor_note = (
        [f"Swept numeric setting(s): {', '.join(factors)}; see the figure 'KPIs against {factors[0]}'.", ""]
        if factors
        else []
    )
    lines = [
        f"# Sweep report: {g.sweep_dir.name}",
        "",
        f"Sweep folder `{g.sweep_dir}`, report written {datetime.now():%Y-%m-%d %H:%M}.",
        "",
        *summary_lines(g, paired, levers=levers),
        *factor_note,
        "## What was run",
        "",
        *_what_was_run(g),
        "",
        *_failed(g),
        *stress_scale_lines(g),
        *_comparison(g, comparison, kpis),
        *_paired(paired, kpis, mirrored(g, list(kpis))),
        *_figures(figures, out, {factor_figure_name(k): k for k in factors}),
        HOW_TO_READ,
        "## Files",
        "",
        "- `tidy_kpis.csv`: every KPI of every replication and group (overall, segments, policy arms), "
        "one row each, with the cell's overrides as columns",
        "- `comparison.csv`: mean, CI half-width and n of every KPI in every cell",
        "- `paired.csv`: paired differences against the baseline for every KPI, with verdicts",
        "- `report.html`: this report as one self-contained web page (figures embedded)",
        "",
    ]
    return "\n".join(lines)


__all__ = [
    "FIGURES",
    "factor_caption",
    "fmt_ci",
    "fmt_number",
    "report_text",
    "sweep_command",
    "write_report",
    "write_tables",
]
