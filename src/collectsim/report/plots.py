"""The report's figures: small PNGs drawn with Matplotlib's Agg canvas (no pyplot state).

Each ``plot_*`` function takes the gathered sweep and an output folder, writes one PNG
and returns its path, or ``None`` when the sweep lacks the columns it needs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter
from scipy import stats

from collectsim.report.compare import CONFIDENCE, comparison_table
from collectsim.report.gather import Gathered

FIGSIZE_IN = (7.0, 4.5)
DPI = 100
#: Cost columns that are totals or ratios, not channels.
_NOT_CHANNELS = frozenset({"cost_total", "cost_to_collect"})


def _figure(ncols: int = 1, sharey: bool = False, width_ratios: list[float] | None = None) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False, sharey=sharey, width_ratios=width_ratios)[0]
    return fig, axes


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    return path


def _colours(n: int) -> list[tuple[float, float, float, float]]:
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _wrap(label: str, width: int = 26) -> str:
    return "\n".join(textwrap.wrap(label, width, break_long_words=True)) or label


def _fontsize(n_cells: int) -> float:
    return 8.0 if n_cells <= 8 else 7.0 if n_cells <= 14 else 5.5


def _money(x: float, _pos: object = None) -> str:
    ax = abs(x)
    if ax >= 1e6:
        return f"{x / 1e6:.1f}M"
    if ax >= 1e3:
        return f"{x / 1e3:.0f}k"
    return f"{x:.0f}"


def _horizontal() -> dict[str, object]:
    # ``orientation`` replaced ``vert`` in Matplotlib 3.10.
    major, minor = (int(p) for p in matplotlib.__version__.split(".")[:2])
    return {"orientation": "horizontal"} if (major, minor) >= (3, 10) else {"vert": False}


def _has(g: Gathered, *cols: str) -> bool:
    return all(c in g.kpi_names for c in cols)


def _stats(g: Gathered, kpi: str) -> pd.DataFrame:
    """Per-cell mean and half-width of one KPI, in cell order."""
    t = comparison_table(g, [kpi])
    return t[["cell", "label", "mean", "half_width"]].reset_index(drop=True)


def pareto_front(x_lower: np.ndarray, y_higher: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats (x no higher and y no lower, one of
    them strictly), sorted by increasing x then decreasing y."""
    x, y = np.asarray(x_lower, float), np.asarray(y_higher, float)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    front = [i for i in ok if not any(x[j] <= x[i] and y[j] >= y[i] and (x[j] < x[i] or y[j] > y[i]) for j in ok)]
    return np.asarray(sorted(front, key=lambda i: (x[i], -y[i])), dtype=int)


def _clusters(
    x: np.ndarray,
    y: np.ndarray,
    idx: np.ndarray,
    ax_range: tuple[float, float],
    share: tuple[float, float] = (0.3, 0.08),
) -> list[list[int]]:
    """Group the points ``idx`` whose labels would overlap: within ``share`` of the axis
    ranges in both x and y (a label is much wider than it is tall)."""
    xr, yr = (r if r > 0 else 1.0 for r in ax_range)
    groups: list[list[int]] = []
    for i in idx:
        for grp in groups:
            j = grp[0]
            if abs(x[i] - x[j]) <= share[0] * xr and abs(y[i] - y[j]) <= share[1] * yr:
                grp.append(int(i))
                break
        else:
            groups.append([int(i)])
    return groups


def plot_recovery_vs_stress(g: Gathered, out_dir: Path) -> Path | None:
    """Recovery rate against the 95th percentile of peak stress, one point per cell
    (mean with 95% CI bars), marker area proportional to mean total cost, Pareto front."""
    if not _has(g, "recovery_rate", "stress_peak_p95"):
        return None
    rec, stress = _stats(g, "recovery_rate"), _stats(g, "stress_peak_p95")
    cost = _stats(g, "cost_total")["mean"].to_numpy(float) if _has(g, "cost_total") else np.ones(len(rec))
    scale = np.nanmax(cost) if np.isfinite(cost).any() and np.nanmax(cost) > 0 else 1.0
    sizes = 30.0 + 300.0 * np.nan_to_num(cost / scale)
    x, y = stress["mean"].to_numpy(float), rec["mean"].to_numpy(float)
    n = len(rec)
    fig, (ax,) = _figure()
    cols = _colours(n)
    handles = []
    for i in range(n):
        ax.errorbar(
            x[i],
            y[i],
            xerr=np.nan_to_num(stress["half_width"][i]),
            yerr=np.nan_to_num(rec["half_width"][i]),
            fmt="none",
            ecolor=cols[i],
            elinewidth=1,
            capsize=2,
            alpha=0.8,
        )
        ax.scatter(x[i], y[i], s=sizes[i], color=cols[i], alpha=0.75, edgecolor="black", linewidth=0.5, zorder=3)
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                color=cols[i],
                markeredgecolor="black",
                markeredgewidth=0.5,
                markersize=6,
                label=_wrap(rec["label"][i], 24),
            )
        )
    front = pareto_front(x, y)
    fs = _fontsize(n)
    if front.size:
        ax.plot(x[front], y[front], color="black", linestyle="--", linewidth=1, zorder=2)
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=1, label="Pareto front"))
        ax.margins(0.12)
        ax.autoscale_view()
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        rng = (x1 - x0, y1 - y0)
        for grp in _clusters(x, y, front, rng):
            text = "\n".join(_wrap(rec["label"][i], 26) for i in grp)
            ax.annotate(
                text,
                (x[grp[0]], y[grp[0]]),
                xytext=(7, 5),
                textcoords="offset points",
                fontsize=fs,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.7, "linewidth": 0},
            )
    ax.set_xlabel("stress_peak_p95 (95th percentile of peak stress; lower is better)", fontsize=8)
    ax.set_ylabel("recovery_rate (collected / exposure)", fontsize=8)
    ax.set_title("Recovery against debtor stress (bars: 95% CI; marker area: mean cost_total)", fontsize=9)
    ax.margins(0.12)
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, fontsize=fs - 0.5, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _save(fig, out_dir / "recovery_vs_stress.png")


def plot_recovery_curves(g: Gathered, out_dir: Path) -> Path | None:
    """Cumulative amount collected over exposure by day, per cell: mean across
    replications with a 95% t band."""
    s = g.series
    if s.empty or "collected_cum" not in s:
        return None
    ov = g.overall()
    keys = ["job", "seed", "replication"]
    if "exposure_total" in ov:
        expo = ov.set_index(keys)["exposure_total"]
        denom = s.set_index(keys).index.map(expo).to_numpy(float)
    else:  # fall back to what was owed on day 1
        first = s.sort_values("day").groupby(keys)[["collected_cum", "outstanding"]].first().sum(axis=1)
        denom = s.set_index(keys).index.map(first).to_numpy(float)
    frac = s.assign(frac=s["collected_cum"].to_numpy(float) / denom)
    cells = g.cells()
    fig, (ax,) = _figure()
    cols = _colours(len(cells))
    for i, (cell, label) in enumerate(zip(cells["cell"], cells["label"], strict=True)):
        wide = frac[frac["cell"] == cell].pivot_table(index="day", columns=keys, values="frac")
        days = wide.index.to_numpy(float)
        v = wide.to_numpy(float)
        m = np.nanmean(v, axis=1)
        n = np.sum(np.isfinite(v), axis=1)
        if v.shape[1] > 1:
            sd = np.nanstd(v, axis=1, ddof=1)
            hw = stats.t.ppf(0.5 + CONFIDENCE / 2.0, np.maximum(n - 1, 1)) * sd / np.sqrt(np.maximum(n, 1))
            ax.fill_between(days, m - hw, m + hw, color=cols[i], alpha=0.2, linewidth=0)
        ax.plot(days, m, color=cols[i], linewidth=1.4, label=_wrap(label, 30))
    ax.set_xlabel("day")
    ax.set_ylabel("collected so far / exposure")
    ax.set_title("Recovery curves (mean across replications, band: 95% CI)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=_fontsize(len(cells)), loc="lower right", ncol=1 if len(cells) <= 8 else 2)
    return _save(fig, out_dir / "recovery_curves.png")


def plot_stress_distribution(g: Gathered, out_dir: Path) -> Path | None:
    """Box plots across replications of stress_peak_p95 and distress_day_share per cell."""
    kpis = [k for k in ("stress_peak_p95", "distress_day_share") if k in g.kpi_names]
    if not kpis:
        return None
    ov, cells = g.overall(), g.cells()
    fig, axes = _figure(len(kpis), sharey=True)
    cols = _colours(len(cells))
    pos = np.arange(len(cells))[::-1]
    for ax, k in zip(axes, kpis, strict=True):
        data = [ov.loc[ov["cell"] == c, k].dropna().to_numpy(float) for c in cells["cell"]]
        bp = ax.boxplot(
            data,
            positions=pos,
            widths=0.6,
            patch_artist=True,
            medianprops={"color": "black"},
            flierprops={"markersize": 3},
            **_horizontal(),
        )
        for patch, c in zip(bp["boxes"], cols, strict=True):
            patch.set_facecolor(c)
            patch.set_alpha(0.6)
        ax.set_xlabel(f"{k} (lower is better)", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(pos, [_wrap(lbl) for lbl in cells["label"]], fontsize=_fontsize(len(cells)))
    fig.suptitle("Debtor stress across replications, per cell", fontsize=9)
    return _save(fig, out_dir / "stress_distribution.png")


def plot_cost_breakdown(g: Gathered, out_dir: Path) -> Path | None:
    """Stacked bars of the mean cost per replication of each channel, per cell."""
    channels = [k for k in g.kpi_names if k.startswith("cost_") and k not in _NOT_CHANNELS]
    if not channels:
        return None
    ov, cells = g.overall(), g.cells()
    means = ov.groupby("cell")[channels].mean().reindex(cells["cell"])
    means = means.loc[:, (means.fillna(0.0) != 0.0).any(axis=0)]
    if means.empty or means.shape[1] == 0:
        return None
    fig, (ax,) = _figure()
    pos = np.arange(len(cells))[::-1]
    left = np.zeros(len(cells))
    cols = _colours(means.shape[1])
    for j, ch in enumerate(means.columns):
        v = means[ch].fillna(0.0).to_numpy(float)
        ax.barh(pos, v, left=left, color=cols[j], label=ch.removeprefix("cost_"), height=0.6)
        left += v
    ax.set_yticks(pos, [_wrap(lbl) for lbl in cells["label"]], fontsize=_fontsize(len(cells)))
    ax.xaxis.set_major_formatter(FuncFormatter(_money))
    ax.set_xlabel("mean cost per replication (yuan)")
    ax.set_title("Cost breakdown by channel, per cell", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(
        fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), title="channel", title_fontsize=7, frameon=False
    )
    return _save(fig, out_dir / "cost_breakdown.png")


def plot_capacity(g: Gathered, out_dir: Path) -> Path | None:
    """Collector utilisation and mean backlog per cell (means with 95% CI), and the
    backlog by day (mean across replications)."""
    kpis = [k for k in ("collector_utilisation", "backlog_mean") if k in g.kpi_names]
    has_series = "backlog" in g.series and not g.series.empty
    if not kpis and not has_series:
        return None
    cells = g.cells()
    n_panels = len(kpis) + int(has_series)
    fig, axes = _figure(n_panels, width_ratios=[1.0] * len(kpis) + [1.5] * int(has_series))
    cols = _colours(len(cells))
    pos = np.arange(len(cells))[::-1]
    for ax, k in zip(axes, kpis, strict=False):
        st = _stats(g, k)
        ax.barh(
            pos,
            st["mean"].fillna(0.0),
            xerr=st["half_width"].fillna(0.0),
            color=cols,
            height=0.6,
            error_kw={"elinewidth": 1, "capsize": 2},
        )
        ax.set_xlabel(k, fontsize=8)
        ax.set_xlim(left=0.0, right=None if np.nanmax(np.abs(st["mean"].fillna(0.0))) > 0 else 1.0)
        ax.grid(axis="x", alpha=0.3)
        ax.set_yticks(
            pos, [] if ax is not axes[0] else [_wrap(lbl, 20) for lbl in cells["label"]], fontsize=_fontsize(len(cells))
        )
    if has_series:
        ax = axes[-1]
        mean = g.series.groupby(["cell", "day"])["backlog"].mean()
        for i, cell in enumerate(cells["cell"]):
            if cell in mean.index.get_level_values(0):
                m = mean.loc[cell]
                ax.plot(m.index.to_numpy(float), m.to_numpy(float), color=cols[i], linewidth=1.2)
        ax.set_xlabel("day", fontsize=8)
        ax.set_ylabel("calls waiting (backlog), mean by day", fontsize=8)
        ax.set_ylim(bottom=0.0, top=None if float(mean.max()) > 0 else 1.0)
        ax.grid(alpha=0.3)
    fig.suptitle("Collector capacity per cell (colours as in the bars; bars: mean with 95% CI)", fontsize=9)
    return _save(fig, out_dir / "capacity.png")


#: Figure name -> drawing function, in report order.
PLOTS = {
    "recovery_vs_stress": plot_recovery_vs_stress,
    "recovery_curves": plot_recovery_curves,
    "stress_distribution": plot_stress_distribution,
    "cost_breakdown": plot_cost_breakdown,
    "capacity": plot_capacity,
}


def make_plots(g: Gathered, out_dir: str | Path) -> dict[str, Path]:
    """Draw every figure into ``out_dir``; return figure name -> PNG path (drawn ones only)."""
    out = Path(out_dir)
    drawn = {}
    for name, fn in PLOTS.items():
        path = fn(g, out)
        if path is not None:
            drawn[name] = path
    return drawn


__all__ = [
    "PLOTS",
    "make_plots",
    "pareto_front",
    "plot_capacity",
    "plot_cost_breakdown",
    "plot_recovery_curves",
    "plot_recovery_vs_stress",
    "plot_stress_distribution",
]
