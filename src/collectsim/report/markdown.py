"""Writing the sweep report: ``report.md`` plus the CSV tables it summarises.

The report is meant to be read on its own: what was run, which jobs failed and why,
per-cell means with confidence intervals, paired differences against the baseline
with verdicts, the figures, and how to read all of it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from collectsim.metrics import DIRECTIONS
from collectsim.report.compare import CONFIDENCE, Paired
from collectsim.report.gather import Gathered

#: Figure name -> (title, caption) in the report.
FIGURES = {
    "recovery_vs_stress": (
        "Recovery against debtor stress",
        "One point per cell: mean recovery_rate against mean stress_peak_p95, with 95% CI bars; "
        "the marker area grows with mean cost_total. The dashed line joins the Pareto front: cells "
        "that no other cell beats (at least as much recovery and at most as much stress, better on "
        "one). Every cell off the front is beaten by some cell on it.",
    ),
    "recovery_curves": (
        "Recovery curves",
        "Cumulative amount collected divided by the exposure, by day: mean across replications with "
        "a 95% band for that mean. A curve that rises earlier collects sooner.",
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
        "Collector utilisation and mean backlog of calls waiting per cell (mean with 95% CI), and the "
        "backlog by day (mean across replications). Utilisation near 1 with a growing backlog means the "
        "team is too small for the policy.",
    ),
}
_ERROR_CHARS = 300


def fmt_number(x: float, decimals: int | None = None) -> str:
    """A number with thousands separators; 4 significant digits unless ``decimals`` is given."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if decimals is None:
        decimals = 0 if x == 0 else min(6, max(0, 3 - math.floor(math.log10(abs(x)))))
    return f"{x:,.{decimals}f}"


def _decimals(half_width: float) -> int | None:
    """Decimals that show two significant digits of ``half_width`` (None when it is 0 or NaN)."""
    if not math.isfinite(half_width) or half_width <= 0:
        return None
    return min(6, max(0, 1 - math.floor(math.log10(half_width))))


def fmt_ci(mean: float, half_width: float, signed: bool = False) -> str:
    """``mean ± half-width``, rounded to the precision of the half-width."""
    d = _decimals(half_width)
    m = fmt_number(mean, d)
    if signed and math.isfinite(mean) and mean >= 0:
        m = "+" + m
    if not math.isfinite(half_width):
        return m
    return f"{m} ± {fmt_number(half_width, d if d is not None else 0 if half_width == 0 else None)}"


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
    task = ((g.multirun.get("hydra") or {}).get("overrides") or {}).get("task") if g.multirun else None
    if task:
        lines += [f"Command: `collectsim -m {' '.join(str(t) for t in task)}`", ""]
    common = ", ".join(f"`{k}={v}`" for k, v in g.common.items())
    lines += [
        f"- {len(cells)} cell(s) from {n_jobs} job(s): {len(g.jobs)} succeeded, {len(g.failed)} failed",
        *([f"- settings shared by every cell: {common}"] if common else []),
        f"- replications: {rep_text}; base seed(s): {seeds} (replication k of every cell uses the same "
        "random streams, so cells are compared under common random numbers)",
        f"- collectsim version: {', '.join(versions)}; total simulation wall time {wall_s:,.1f} s",
        "",
    ]
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


def _paired(paired: Paired, kpis: Sequence[str]) -> list[str]:
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
        f"Each cell minus its {paired.baseline} cell with the same other settings, replication by "
        f"replication (same seeds), then averaged; ± is the half-width of the {pct}% t interval of the "
        "mean difference. **better**/**worse**: the interval excludes 0 in the KPI's good/bad direction; "
        "higher/lower: the same for KPIs with no good direction; not distinguishable: the interval "
        "contains 0.",
        "",
    ]
    order = {k: i for i, k in enumerate(kpis)}
    for _cell, sub in t.groupby("cell", sort=False):
        sub = sub.sort_values("kpi", key=lambda s: s.map(order))
        head = sub.iloc[0]
        counts = sub["verdict"].value_counts()
        summary = ", ".join(
            f"{v} on {int(counts[v])}"
            for v in ("better", "worse", "higher", "lower", "not distinguishable")
            if counts.get(v, 0)
        )
        lines += [
            f"### {head['label']} vs {head['baseline_label']}",
            "",
            f"{summary} of {len(sub)} KPI(s); {int(sub['n'].max())} paired replication(s).",
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


def _figures(figures: dict[str, Path], out_dir: Path) -> list[str]:
    if not figures:
        return []
    lines = ["## Figures", ""]
    for name, path in figures.items():
        title, caption = FIGURES.get(name, (name, ""))
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
    "twenty 'better'/'worse' verdicts by chance when there is no real difference. recovery_rate is collected "
    "over exposure (it can exceed 1 because of interest and fees); stress KPIs measure debtor distress and "
    "are better when lower.\n"
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
    """
    out = Path(out_dir)
    kpis = [k for k in kpis if k in set(comparison["kpi"])]
    lines = [
        f"# Sweep report: {g.sweep_dir.name}",
        "",
        f"Sweep folder `{g.sweep_dir}`, report written {datetime.now():%Y-%m-%d %H:%M}.",
        "",
        "## What was run",
        "",
        *_what_was_run(g),
        "",
        *_failed(g),
        *_comparison(g, comparison, kpis),
        *_paired(paired, kpis),
        *_figures(figures, out),
        HOW_TO_READ,
        "## Files",
        "",
        "- `tidy_kpis.csv`: every KPI of every replication and group (overall, segments, policy arms), "
        "one row each, with the cell's overrides as columns",
        "- `comparison.csv`: mean, CI half-width and n of every KPI in every cell",
        "- `paired.csv`: paired differences against the baseline for every KPI, with verdicts",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


__all__ = ["FIGURES", "fmt_ci", "fmt_number", "write_report", "write_tables"]
