"""Analysis of a sensitivity study's samples: who wins where, the strongest drivers, the signs
each factor's range allows and where the ranking flips.

The analysed difference is ``Δ <kpi> = baseline − challenger`` (column ``d_<challenger>_<kpi>``,
its standard error ``se_<challenger>_<kpi>``): for net recovery a positive Δ means the
baseline (soft-first) collects more. Who is *better* follows the KPI's direction
(:data:`collectsim.metrics.DIRECTIONS`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from collectsim.sensitivity.design import Factor


def d_col(challenger: str, kpi: str) -> str:
    """Column of ``Δ kpi = baseline − challenger``."""
    return f"d_{challenger}_{kpi}"


def se_col(challenger: str, kpi: str) -> str:
    """Column of the standard error of ``Δ kpi``."""
    return f"se_{challenger}_{kpi}"


def advantage(samples: pd.DataFrame, challenger: str, kpi: str) -> pd.Series:
    """The challenger's advantage on ``kpi`` in the KPI's better direction: positive where it beats the baseline."""
    from collectsim.metrics import DIRECTIONS

    return -(DIRECTIONS.get(kpi, 1) or 1) * samples[d_col(challenger, kpi)]


def drivers(indices: pd.DataFrame, challenger: str, output: str) -> list[str]:
    """The two strongest drivers of ``Δ output`` for ``challenger``: by Sobol total index when computed, else Morris mu*."""
    sel = (indices["challenger"] == challenger) & (indices["output"] == output)
    sob = indices[sel & (indices["method"] == "sobol")]
    mor = indices[sel & (indices["method"] == "morris")]
    order = list(mor.sort_values("mu_star", ascending=False, kind="stable")["factor"])
    if len(sob) >= 2:
        top = list(sob.sort_values("ST", ascending=False, kind="stable")["factor"])
        order = top + [f for f in order if f not in top]
    return [str(f) for f in order[:2]]


def wins_table(samples: pd.DataFrame, challengers: Sequence[str], output: str) -> pd.DataFrame:
    """Per challenger: the points where it beats the baseline on ``output``, those by more than
    two standard errors, those where the baseline is ahead by more than two, and Δ's spread."""
    rows = []
    for c in challengers:
        adv = advantage(samples, c, output)
        se = samples[se_col(c, output)].fillna(np.inf)
        d = samples[d_col(c, output)]
        rows.append(
            {
                "challenger": c,
                "points": len(samples),
                "challenger_wins": int((adv > 0).sum()),
                "challenger_wins_2se": int((adv > 2 * se).sum()),
                "baseline_wins_2se": int((adv < -2 * se).sum()),
                "d_min": float(d.min()),
                "d_median": float(d.median()),
                "d_max": float(d.max()),
            }
        )
    return pd.DataFrame(rows)


def morris_steps(X: np.ndarray, levels_span: np.ndarray) -> list[tuple[int, int, int]]:
    """The one-factor moves of a Morris design ``X`` (rows in SALib's order, trajectories of
    k + 1 rows): ``(factor, row at its lower value, row at its higher value)`` for each step.
    ``levels_span`` is each factor's range (high − low), to find the factor that moved."""
    k = X.shape[1]
    steps = []
    for t in range(len(X) // (k + 1)):
        for j in range(t * (k + 1), (t + 1) * (k + 1) - 1):
            moved = np.abs(X[j + 1] - X[j]) / np.where(levels_span > 0, levels_span, 1.0)
            i = int(np.argmax(moved))
            if moved[i] == 0:
                continue
            lo, hi = (j, j + 1) if X[j + 1, i] > X[j, i] else (j + 1, j)
            steps.append((i, lo, hi))
    return steps


def sign_table(
    morris: pd.DataFrame, factors: Sequence[Factor], challengers: Sequence[str], output: str
) -> pd.DataFrame:
    """For each challenger and factor, the signs of ``Δ output`` seen at the two ends of the
    factor's own Morris steps (the other factors anywhere in their ranges): how often Δ > 0
    and Δ < 0 at the lower and at the higher value, and in how many steps moving this factor
    alone turned the sign. ``morris`` holds the Morris points in design order."""
    names = [f.name for f in factors]
    X = morris[names].to_numpy(dtype=float)
    span = np.array([f.high - f.low for f in factors], dtype=float)
    steps = morris_steps(X, span)
    rows = []
    for c in challengers:
        d = morris[d_col(c, output)].to_numpy(dtype=float)
        for i, f in enumerate(factors):
            mine = [(lo, hi) for j, lo, hi in steps if j == i]
            low = np.array([d[lo] for lo, _ in mine])
            high = np.array([d[hi] for _, hi in mine])
            rows.append(
                {
                    "challenger": c,
                    "factor": f.name,
                    "steps": len(mine),
                    "low_pos": int((low > 0).sum()),
                    "low_neg": int((low < 0).sum()),
                    "high_pos": int((high > 0).sum()),
                    "high_neg": int((high < 0).sum()),
                    "flips": int((np.sign(low) != np.sign(high)).sum()),
                }
            )
    return pd.DataFrame(rows)


def signs_seen(pos: int, neg: int) -> str:
    """``+``, ``−``, ``±`` (both) or ``0`` (Δ exactly zero) for counts of positive and negative Δ."""
    return "±" if pos and neg else "+" if pos else "−" if neg else "0"


def win_share_by_half(
    samples: pd.DataFrame, factors: Sequence[Factor], challengers: Sequence[str], output: str
) -> pd.DataFrame:
    """Per challenger and factor: the share of points where the challenger beats the baseline
    on ``output`` with the factor in the lower half of its range, and in the upper half."""
    rows = []
    for c in challengers:
        wins = advantage(samples, c, output) > 0
        for f in factors:
            low = samples[f.name] < (f.low + f.high) / 2
            rows.append(
                {
                    "challenger": c,
                    "factor": f.name,
                    "low_points": int(low.sum()),
                    "low_win_share": float(wins[low].mean()) if low.any() else float("nan"),
                    "high_points": int((~low).sum()),
                    "high_win_share": float(wins[~low].mean()) if (~low).any() else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def flip_table(
    samples: pd.DataFrame,
    factors: Sequence[Factor],
    drivers_by: dict[str, list[str]],
    output: str,
    bins: int = 4,
) -> pd.DataFrame:
    """Per challenger, the share of evaluated points where it beats the baseline on ``output``
    and the mean Δ, by equal-width bins of its two strongest drivers over their ranges."""
    by = {f.name: f for f in factors}
    parts = []
    for c, names in drivers_by.items():
        if len(names) < 2:
            continue
        df = samples.copy()
        cols = []
        for j, name in enumerate(names[:2], start=1):
            f = by[name]
            df[f"driver_{j}"] = name
            df[f"driver_{j}_bin"] = pd.cut(df[name], np.linspace(f.low, f.high, bins + 1), include_lowest=True)
            cols += [f"driver_{j}", f"driver_{j}_bin"]
        df["challenger_wins"] = advantage(df, c, output) > 0
        out = (
            df.groupby(cols, observed=True)
            .agg(
                points=(d_col(c, output), "size"),
                mean_diff=(d_col(c, output), "mean"),
                challenger_win_share=("challenger_wins", "mean"),
            )
            .reset_index()
        )
        for col in ("driver_1_bin", "driver_2_bin"):
            out[col] = out[col].astype(str)
        parts.append(out.assign(challenger=c))
    cols = ["challenger", "driver_1", "driver_1_bin", "driver_2", "driver_2_bin", "points", "mean_diff"]
    if not parts:
        return pd.DataFrame(columns=[*cols, "challenger_win_share"])
    out = pd.concat(parts, ignore_index=True)
    return out[[*cols, "challenger_win_share"]]
