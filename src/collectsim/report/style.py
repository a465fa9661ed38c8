"""How each cell of a sweep is drawn: a colour per policy, a marker and line style per
value of the other swept settings, so a figure's legend stays short and no cell hides.

A sweep of 3 policies x 4 team sizes has 12 cells but a legend of 3 colours and 4
markers. When only the policy varies, policies also get distinct line styles, so two
curves that coincide still show as a solid line under a dashed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.lines import Line2D

from collectsim.report.gather import Gathered

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p")
LINESTYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))


@dataclass(frozen=True)
class CellStyle:
    """Colour, marker and line style of one cell, and the parts of its label."""

    colour: tuple[float, float, float, float]
    marker: str
    linestyle: Any
    policy: str
    others: str


def _colours(n: int) -> list[tuple[float, float, float, float]]:
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def cell_styles(g: Gathered) -> dict[str, CellStyle]:
    """Cell -> :class:`CellStyle`, in the sweep's cell order."""
    cells = g.cells()
    policies = list(dict.fromkeys(cells["policy"].astype(str)))
    others_keys = list(g.varying_keys)
    combos = [", ".join(f"{k}={r[k]}" for k in others_keys if str(r[k]) != "") for _, r in cells.iterrows()]
    levels = list(dict.fromkeys(combos))
    colours = _colours(len(policies))
    out = {}
    for (_, r), combo in zip(cells.iterrows(), combos, strict=True):
        p = policies.index(str(r["policy"]))
        lv = levels.index(combo)
        style = LINESTYLES[(p if len(levels) == 1 else lv) % len(LINESTYLES)]
        out[str(r["cell"])] = CellStyle(
            colour=colours[p],
            marker=MARKERS[lv % len(MARKERS)] if len(levels) > 1 else MARKERS[p % len(MARKERS)],
            linestyle=style,
            policy=str(r["policy"]),
            others=combo,
        )
    return out


def legend_handles(styles: dict[str, CellStyle], lines: bool = False) -> list[Line2D]:
    """Legend entries: one per policy (colour), then one per value of the other settings
    (marker or line style, drawn in grey) when there are several."""
    by_policy: dict[str, CellStyle] = {}
    by_other: dict[str, CellStyle] = {}
    for s in styles.values():
        by_policy.setdefault(s.policy, s)
        by_other.setdefault(s.others, s)
    several = len(by_other) > 1
    handles = []
    for name, s in by_policy.items():
        handles.append(
            Line2D(
                [],
                [],
                color=s.colour,
                marker=None if lines else (None if several else s.marker),
                linestyle=(s.linestyle if lines and not several else "-") if lines else "",
                markersize=6,
                linewidth=2 if lines else 0,
                markeredgecolor="black",
                markeredgewidth=0.5,
                label=name,
            )
        )
        if not lines and several:
            handles[-1].set_marker("s")
    if several:
        for name, s in by_other.items():
            handles.append(
                Line2D(
                    [],
                    [],
                    color="0.35",
                    marker=None if lines else s.marker,
                    linestyle=s.linestyle if lines else "",
                    markersize=6,
                    linewidth=1.5,
                    label=name,
                )
            )
    return handles


def policy_order(cells: pd.DataFrame) -> list[str]:
    """The sweep's policies in first-seen order."""
    return list(dict.fromkeys(cells["policy"].astype(str)))


__all__ = ["LINESTYLES", "MARKERS", "CellStyle", "cell_styles", "legend_handles", "policy_order"]
