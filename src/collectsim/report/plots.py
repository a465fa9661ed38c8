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
from matplotlib.transforms import offset_copy

from collectsim.report.compare import comparison_table
from collectsim.report.gather import Gathered
from collectsim.report.style import cell_styles, legend_handles
from collectsim.stats import t_half_width

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


def spread_offsets(x: np.ndarray, y: np.ndarray, ax: object, radius_pt: float = 5.0) -> list[tuple[float, float]]:
    """Display offsets (points) that move markers drawn on top of each other apart.

    Markers closer than ``2 * radius_pt`` on screen are spread evenly on a circle of
    ``radius_pt`` around their group's first point, so each stays visible; a lone marker
    keeps offset (0, 0).
    """
    to_px = ax.transData.transform  # type: ignore[attr-defined]
    pts = to_px(np.column_stack([np.nan_to_num(x), np.nan_to_num(y)]))
    px_per_pt = ax.figure.dpi / 72.0  # type: ignore[attr-defined]
    offsets = [(0.0, 0.0)] * len(x)
    groups: list[list[int]] = []
    for i in range(len(x)):
        for grp in groups:
            if np.hypot(*(pts[i] - pts[grp[0]])) < 2 * radius_pt * px_per_pt:
                grp.append(i)
                break
        else:
            groups.append([i])
    for grp in groups:
        if len(grp) < 2:
            continue
        for j, i in enumerate(grp):
            a = 2 * np.pi * j / len(grp) + np.pi / 4
            offsets[i] = (radius_pt * float(np.cos(a)), radius_pt * float(np.sin(a)))
    return offsets


def plot_recovery_vs_stress(g: Gathered, out_dir: Path) -> Path | None:
    """Recovery rate against the 95th percentile of peak stress, one point per cell
    (mean with 95% CI bars), colour per policy, marker per value of the other swept
    settings, Pareto front dashed. Markers that would cover each other are moved apart
    by a few points; the error bars stay at the true means."""
    if not _has(g, "recovery_rate", "stress_peak_p95"):
        return None
    rec, stress = _stats(g, "recovery_rate"), _stats(g, "stress_peak_p95")
    x, y = stress["mean"].to_numpy(float), rec["mean"].to_numpy(float)
    n = len(rec)
    styles = cell_styles(g)
    cells = list(rec["cell"])
    fig, (ax,) = _figure()
    for i in range(n):
        st = styles[cells[i]]
        ax.errorbar(
            x[i],
            y[i],
            xerr=np.nan_to_num(stress["half_width"][i]),
            yerr=np.nan_to_num(rec["half_width"][i]),
            fmt="none",
            ecolor=st.colour,
            elinewidth=1,
            capsize=2,
            alpha=0.8,
        )
    front = pareto_front(x, y)
    handles = legend_handles(styles)
    fs = _fontsize(n)
    if front.size:
        ax.plot(x[front], y[front], color="black", linestyle="--", linewidth=1, zorder=2)
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=1, label="Pareto front"))
    ax.margins(0.12)
    ax.autoscale_view()
    offsets = spread_offsets(x, y, ax)
    for i in range(n):
        st = styles[cells[i]]
        tr = offset_copy(ax.transData, fig=fig, x=offsets[i][0], y=offsets[i][1], units="points")
        ax.scatter(
            x[i],
            y[i],
            s=55,
            marker=st.marker,
            color=st.colour,
            edgecolor="black",
            linewidth=0.6,
            zorder=3,
            transform=tr,
        )
    if front.size and n <= 6:
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        for grp in _clusters(x, y, front, (x1 - x0, y1 - y0)):
            text = "\n".join(_wrap(rec["label"][i], 26) for i in grp)
            ax.annotate(
                text,
                (x[grp[0]], y[grp[0]]),
                xytext=(9, 6),
                textcoords="offset points",
                fontsize=fs,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.7, "linewidth": 0},
            )
    ax.set_xlabel("stress_peak_p95 (95th percentile of peak stress level; lower is better)", fontsize=8)
    ax.set_ylabel("recovery_rate (collected / owed)", fontsize=8)
    ax.set_title("Recovery against debtor stress (mean per cell, bars: 95% CI)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, fontsize=fs - 0.5, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _save(fig, out_dir / "recovery_vs_stress.png")


def owed_fraction(g: Gathered) -> pd.DataFrame:
    """The daily series with ``frac``: amount collected so far divided by what the
    replication's accounts owed in the end (``owed_total``), so the last day's value is
    that replication's recovery_rate. Older results without ``owed_total`` use
    ``exposure_total``, then what was open on day 1."""
    s = g.series
    ov = g.overall()
    keys = ["job", "seed", "replication"]
    for col in ("owed_total", "exposure_total"):
        if col in ov:
            denom = s.set_index(keys).index.map(ov.set_index(keys)[col]).to_numpy(float)
            break
    else:
        first = s.sort_values("day").groupby(keys)[["collected_cum", "outstanding"]].first().sum(axis=1)
        denom = s.set_index(keys).index.map(first).to_numpy(float)
    return s.assign(frac=s["collected_cum"].to_numpy(float) / denom)


def mean_band(wide: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index, mean and 95% t half-width across the columns of ``wide`` (NaN half-width
    with one column)."""
    v = wide.to_numpy(float)
    n = np.sum(np.isfinite(v), axis=1)
    # Days that fewer than two replications reach (a run ended earlier) have no spread:
    # computed only where defined, so NumPy has nothing to warn about.
    m = np.full(len(v), np.nan)
    sd = np.full(len(v), np.nan)
    some, two = n >= 1, n >= 2
    m[some] = np.nanmean(v[some], axis=1)
    sd[two] = np.nanstd(v[two], axis=1, ddof=1)
    hw = np.where(two, t_half_width(sd, np.maximum(n, 2)), np.nan)
    return wide.index.to_numpy(float), m, hw


def plot_recovery_curves(g: Gathered, out_dir: Path) -> Path | None:
    """Cumulative amount collected over what was owed, by day, per cell: mean across
    replications with a 95% t band; colour per policy, line style per other setting."""
    s = g.series
    if s.empty or "collected_cum" not in s:
        return None
    frac = owed_fraction(g)
    keys = ["job", "seed", "replication"]
    cells = g.cells()
    styles = cell_styles(g)
    fig, (ax,) = _figure()
    for cell in cells["cell"]:
        st = styles[cell]
        wide = frac[frac["cell"] == cell].pivot_table(index="day", columns=keys, values="frac")
        days, m, hw = mean_band(wide)
        if np.isfinite(hw).any():
            ax.fill_between(days, m - hw, m + hw, color=st.colour, alpha=0.15, linewidth=0)
        ax.plot(days, m, color=st.colour, linestyle=st.linestyle, linewidth=1.5)
    ax.set_xlabel("day")
    ax.set_ylabel("collected so far / owed")
    ax.set_title("Recovery curves (mean across replications, band: 95% CI)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(
        handles=legend_handles(styles, lines=True),
        fontsize=_fontsize(len(cells)),
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        frameon=False,
    )
    return _save(fig, out_dir / "recovery_curves.png")


def plot_stress_distribution(g: Gathered, out_dir: Path) -> Path | None:
    """Box plots across replications of stress_peak_p95 and distress_day_share per cell."""
    kpis = [k for k in ("stress_peak_p95", "distress_day_share") if k in g.kpi_names]
    if not kpis:
        return None
    ov, cells = g.overall(), g.cells()
    fig, axes = _figure(len(kpis), sharey=True)
    styles = cell_styles(g)
    cols = [styles[c].colour for c in cells["cell"]]
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


#: Days in the moving average of the daily backlog (one week: the backlog rises over
#: the weekend, when no collector works, and falls during the week).
BACKLOG_WINDOW_DAYS = 7


def plot_capacity(g: Gathered, out_dir: Path) -> Path | None:
    """Top: collector utilisation and mean backlog per cell (means with 95% CI), bars
    coloured per policy. Bottom: calls waiting by day, a 7-day moving average of the mean
    across replications, one line per cell with a legend."""
    kpis = [k for k in ("collector_utilisation", "backlog_mean") if k in g.kpi_names]
    has_series = "backlog" in g.series and not g.series.empty
    if not kpis and not has_series:
        return None
    cells = g.cells()
    styles = cell_styles(g)
    cols = [styles[c].colour for c in cells["cell"]]
    fig = Figure(figsize=(FIGSIZE_IN[0], 6.5 if has_series and kpis else FIGSIZE_IN[1]), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    rows = int(bool(kpis)) + int(has_series)
    grid = fig.add_gridspec(rows, max(1, len(kpis)), height_ratios=[1.0, 1.1][:rows])
    pos = np.arange(len(cells))[::-1]
    fs = _fontsize(len(cells))
    for j, k in enumerate(kpis):
        ax = fig.add_subplot(grid[0, j])
        st = _stats(g, k)
        ax.barh(
            pos,
            st["mean"].fillna(0.0),
            xerr=st["half_width"].fillna(0.0),
            color=cols,
            height=0.6,
            error_kw={"elinewidth": 1, "capsize": 2},
        )
        ax.set_xlabel(
            k + (" (share of paid minutes busy)" if k == "collector_utilisation" else " (calls waiting)"), fontsize=8
        )
        ax.set_xlim(left=0.0, right=None if np.nanmax(np.abs(st["mean"].fillna(0.0))) > 0 else 1.0)
        ax.grid(axis="x", alpha=0.3)
        ax.set_yticks(pos, [] if j else [_wrap(lbl, 24) for lbl in cells["label"]], fontsize=fs)
    if has_series:
        ax = fig.add_subplot(grid[rows - 1, :])
        mean = g.series.groupby(["cell", "day"])["backlog"].mean()
        for cell in cells["cell"]:
            if cell in mean.index.get_level_values(0):
                st = styles[cell]
                m = mean.loc[cell].rolling(BACKLOG_WINDOW_DAYS, min_periods=1, center=True).mean()
                ax.plot(
                    m.index.to_numpy(float), m.to_numpy(float), color=st.colour, linestyle=st.linestyle, linewidth=1.4
                )
        ax.set_xlabel("day", fontsize=8)
        ax.set_ylabel(f"calls waiting\n(centred {BACKLOG_WINDOW_DAYS}-day average)", fontsize=8)
        ax.set_ylim(bottom=0.0, top=None if float(mean.max()) > 0 else 1.0)
        busy = mean[mean > 0.01 * float(mean.max())].index.get_level_values(1) if float(mean.max()) > 0 else []
        last_day = float(mean.index.get_level_values(1).max())
        if len(busy) and float(max(busy)) < 0.8 * last_day:
            # A backlog that empties early would leave most of the panel blank: stop the
            # axis soon after and say so.
            stop = float(max(busy)) * 1.15 + 2
            ax.set_xlim(0.0, stop)
            ax.text(
                0.99,
                0.95,
                f"backlog about 0 after day {int(max(busy))}\n(to day {int(last_day)})",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=7,
                color="0.3",
            )
        ax.grid(alpha=0.3)
        ax.legend(
            handles=legend_handles(styles, lines=True),
            fontsize=fs,
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
            frameon=False,
        )
    fig.suptitle("Collector capacity per cell (bars: mean with 95% CI)", fontsize=9)
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
    "spread_offsets",
    "plot_capacity",
    "plot_cost_breakdown",
    "plot_recovery_curves",
    "plot_recovery_vs_stress",
    "plot_stress_distribution",
]
