"""Analysis of a sensitivity study's samples: the strongest drivers and where the ranking flips."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from collectsim.sensitivity.design import Factor


def _drivers(indices: pd.DataFrame, output: str) -> list[str]:
    """The two strongest drivers of ``d_<output>``: by Sobol total index when computed, else Morris mu*."""
    sob = indices[(indices["method"] == "sobol") & (indices["output"] == f"d_{output}")]
    mor = indices[(indices["method"] == "morris") & (indices["output"] == f"d_{output}")]
    order = list(mor.sort_values("mu_star", ascending=False)["factor"])
    if len(sob) >= 2:
        top = list(sob.sort_values("ST", ascending=False)["factor"])
        order = top + [f for f in order if f not in top]
    return [str(f) for f in order[:2]]


def flip_table(
    samples: pd.DataFrame, factors: Sequence[Factor], drivers: Sequence[str], output: str, bins: int = 4
) -> pd.DataFrame:
    """Share of evaluated points where the challenger wins on ``output``, by equal-width
    bins of the two drivers over their ranges (direction from DIRECTIONS)."""
    from collectsim.metrics import DIRECTIONS

    sign = DIRECTIONS.get(output, 1) or 1
    by = {f.name: f for f in factors}
    df = samples.copy()
    cols = []
    for name in drivers:
        f = by[name]
        edges = np.linspace(f.low, f.high, bins + 1)
        df[f"{name}_bin"] = pd.cut(df[name], edges, include_lowest=True)
        cols.append(f"{name}_bin")
    df["challenger_wins"] = (sign * df[f"d_{output}"]) > 0
    g = df.groupby(cols, observed=True)
    out = g.agg(
        points=(f"d_{output}", "size"),
        mean_diff=(f"d_{output}", "mean"),
        challenger_win_share=("challenger_wins", "mean"),
    ).reset_index()
    for c in cols:
        out[c] = out[c].astype(str)
    return out
