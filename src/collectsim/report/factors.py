"""Charts of KPIs against a swept numeric setting (``collectors.size=5,10,20``): one line
per policy (and per value of any other swept setting), a 95% confidence band per line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from collectsim.metrics import DIRECTIONS
from collectsim.report.compare import comparison_table
from collectsim.report.gather import Gathered
from collectsim.report.style import LINESTYLES, cell_styles

#: KPIs drawn against a factor, in panel order (those the sweep has).
FACTOR_KPIS = (
    "recovery_rate",
    "net_recovery",
    "cost_to_collect",
    "stress_peak_p95",
    "collector_utilisation",
    "backlog_mean",
)
_MAX_PANELS = 4


def numeric_factors(g: Gathered) -> list[str]:
    """The swept settings other than policy whose values are all numbers (at least 3
    distinct values, or 2 when nothing else but the policy varies)."""
    cells = g.cells()
    out = []
    for k in g.varying_keys:
        vals = {str(v) for v in cells[k]}
        try:
            nums = {float(v) for v in vals}
        except ValueError:
            continue
        if len(nums) >= 3 or (len(nums) == 2 and len(g.varying_keys) == 1):
            out.append(k)
    return out


def factor_figure_name(key: str) -> str:
    """File stem of the chart of ``key``: ``factor_collectors_size``."""
    return "factor_" + "".join(c if c.isalnum() else "_" for c in key)


def plot_factor(g: Gathered, key: str, out_dir: Path) -> Path | None:
    """KPIs against the numeric setting ``key``; one line per policy x other setting."""
    kpis = [k for k in FACTOR_KPIS if k in g.kpi_names][:_MAX_PANELS]
    if not kpis:
        return None
    comp = comparison_table(g, kpis)
    comp = comp.assign(x=comp[key].astype(float))
    styles = cell_styles(g)
    # Lines join the cells that differ only in ``key``.
    group_keys = ["policy", *[k for k in g.varying_keys if k != key]]
    ncols = 2 if len(kpis) > 1 else 1
    nrows = int(np.ceil(len(kpis) / ncols))
    fig = Figure(figsize=(8.0, 2.9 * nrows + 0.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    xs = sorted(set(comp["x"]))
    # Colour per policy; line style per value of the other swept settings (not ``key``).
    others = group_keys[1:]
    combos = list(dict.fromkeys(", ".join(f"{k}={r[k]}" for k in others) for _, r in comp.iterrows()))
    log_x = min(xs) > 0 and max(xs) / min(xs) >= 8
    for ax, kpi in zip(axes, kpis, strict=False):
        sub = comp[comp["kpi"] == kpi]
        for _, line in sub.groupby(group_keys, sort=False):
            line = line.sort_values("x")
            st = styles[str(line["cell"].iloc[0])]
            combo = ", ".join(f"{k}={line[k].iloc[0]}" for k in others)
            ls = LINESTYLES[combos.index(combo) % len(LINESTYLES)]
            x = line["x"].to_numpy(float)
            m = line["mean"].to_numpy(float)
            hw = line["half_width"].to_numpy(float)
            if np.isfinite(hw).any():
                ax.fill_between(
                    x, m - np.nan_to_num(hw), m + np.nan_to_num(hw), color=st.colour, alpha=0.18, linewidth=0
                )
            ax.plot(x, m, color=st.colour, linestyle=ls, marker="o", markersize=4)
        d = DIRECTIONS.get(kpi, 0)
        ax.set_title(kpi + (" (higher is better)" if d > 0 else " (lower is better)" if d < 0 else ""), fontsize=8)
        if log_x:
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks(xs, [_tick(v) for v in xs], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        if float(np.nanmax(np.abs(sub["mean"].to_numpy(float)), initial=0.0)) >= 1e5:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v / 1e6:,.2f}M"))
        ax.grid(alpha=0.3)
        ax.set_xlabel(key, fontsize=8)
    for ax in axes[len(kpis) :]:
        ax.set_visible(False)
    handles = [
        Line2D([], [], color=st.colour, linewidth=2, label=pol)
        for pol, st in {s.policy: s for s in reversed(list(styles.values()))}.items()
    ][::-1]
    if len(combos) > 1:
        handles += [
            Line2D([], [], color="0.35", linestyle=LINESTYLES[i % len(LINESTYLES)], label=c)
            for i, c in enumerate(combos)
        ]
    fig.legend(
        handles=handles,
        loc="outside right center",
        fontsize=7,
        frameon=False,
    )
    scale = ", log scale" if log_x else ""
    fig.suptitle(f"KPIs against {key} (mean per cell, band: 95% CI{scale})", fontsize=9)
    path = out_dir / f"{factor_figure_name(key)}.png"
    fig.savefig(path, dpi=100)
    return path


def _tick(v: float) -> str:
    return f"{v:g}"


def make_factor_plots(g: Gathered, out_dir: str | Path) -> dict[str, Path]:
    """Draw one chart per numeric factor; figure name -> PNG path."""
    out = Path(out_dir)
    drawn = {}
    for key in numeric_factors(g):
        path = plot_factor(g, key, out)
        if path is not None:
            drawn[factor_figure_name(key)] = path
    return drawn


__all__ = ["FACTOR_KPIS", "factor_figure_name", "make_factor_plots", "numeric_factors", "plot_factor"]
