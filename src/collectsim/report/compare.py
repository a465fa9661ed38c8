"""Comparing the cells of a sweep: per-cell means with t confidence intervals, and
paired (common-random-numbers) differences of every cell against its baseline cell.

Replications of two cells that share a base seed and a replication index use the same
random streams, so differences are computed replication by replication and the
confidence interval is that of the mean of the per-replication differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from collectsim.metrics import DIRECTIONS
from collectsim.report.gather import Gathered

#: KPIs shown in the report unless others are asked for.
HEADLINE_KPIS = (
    "recovery_rate",
    "net_recovery",
    "cost_to_collect",
    "cure_rate",
    "writeoff_rate",
    "stress_peak_p95",
    "distress_day_share",
    "complaints_per_1000",
    "collector_utilisation",
    "backlog_mean",
)
#: Confidence level of every interval in the report.
CONFIDENCE = 0.95
#: Keys of a cell that are not compared when looking for its baseline.
_NOT_MATCHED = frozenset({"policy", "seed", "replications"})
_PAIR_KEYS = ["seed", "replication"]


@dataclass
class Paired:
    """Paired differences of every cell against its baseline cell.

    Attributes
    ----------
    table : one row per compared cell x KPI: ``cell``, ``label``, ``baseline_cell``,
        ``baseline_label``, ``kpi``, ``n`` (pairs), ``baseline_mean``,
        ``challenger_mean``, ``diff_mean`` (challenger - baseline), ``diff_half_width``,
        ``diff_low``, ``diff_high``, ``diff_pct`` (diff_mean / baseline_mean, in %),
        ``direction`` (+1, -1 or 0 when the KPI has none) and ``verdict``.
    per_pair : the per-replication differences: ``cell``, ``baseline_cell``, ``seed``,
        ``replication``, then one column per KPI.
    notes : why some cells (or all) were not compared.
    baseline : the baseline policy.
    """

    table: pd.DataFrame
    per_pair: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    baseline: str = "soft_first"


def t_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, int]:
    """Mean, t confidence-interval half-width and count of the finite ``values``.

    The half-width is NaN with fewer than two finite values.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = float(np.mean(x))
    if n < 2:
        return mean, float("nan"), n
    sem = float(np.std(x, ddof=1)) / np.sqrt(n)
    return mean, float(stats.t.ppf(0.5 + confidence / 2.0, n - 1) * sem), n


def verdict(low: float, high: float, direction: int) -> str:
    """``better``/``worse`` (or ``higher``/``lower`` without a direction) when the
    interval ``[low, high]`` of a difference excludes 0, else ``not distinguishable``."""
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0.0 <= high:
        return "not distinguishable"
    up = low > 0.0
    if direction == 0:
        return "higher" if up else "lower"
    return "better" if up == (direction > 0) else "worse"


def comparison_table(g: Gathered, kpis: list[str] | None = None) -> pd.DataFrame:
    """Mean, 95% t-CI half-width and n of each KPI in each cell (overall rows only).

    Parameters
    ----------
    g : the gathered sweep.
    kpis : KPIs to include (default: all of them).

    Returns
    -------
    pandas.DataFrame
        One row per cell x KPI: ``cell``, ``label``, the override keys, ``kpi``,
        ``mean``, ``half_width``, ``low``, ``high``, ``n``.
    """
    names = list(kpis) if kpis is not None else g.kpi_names
    overall = g.overall()
    rows = []
    for _, cell in g.cells().iterrows():
        sub = overall[overall["cell"] == cell["cell"]]
        for k in names:
            mean, hw, n = t_interval(sub[k].to_numpy(dtype=float))
            rows.append(
                {
                    **cell.to_dict(),
                    "kpi": k,
                    "mean": mean,
                    "half_width": hw,
                    "low": mean - hw,
                    "high": mean + hw,
                    "n": n,
                }
            )
    return pd.DataFrame(rows)


def find_baselines(g: Gathered, baseline: str) -> tuple[dict[str, str], list[str]]:
    """Map each non-baseline cell to its baseline cell.

    The baseline of a cell is the cell whose ``policy`` is ``baseline`` and whose other
    overrides (all but policy, seed and replications) are identical.

    Returns
    -------
    mapping : challenger cell -> baseline cell.
    notes : one line per cell that has no baseline.
    """
    cells = g.cells()
    others = [k for k in g.override_keys if k not in _NOT_MATCHED]
    base = cells[cells["policy"] == baseline]
    if base.empty:
        avail = ", ".join(sorted(cells["policy"].unique()))
        return {}, [
            f"no cell with policy {baseline} in this sweep, so paired differences are skipped "
            f"(policies present: {avail}; choose one with --baseline POLICY)"
        ]
    index = {tuple(r[k] for k in others): r["cell"] for _, r in base.iterrows()}
    mapping, notes = {}, []
    for _, r in cells[cells["policy"] != baseline].iterrows():
        b = index.get(tuple(r[k] for k in others))
        if b is None:
            notes.append(f"{r['label']}: no {baseline} cell with the same other overrides, not compared")
        else:
            mapping[r["cell"]] = b
    return mapping, notes


def paired_differences(g: Gathered, baseline: str = "soft_first", kpis: list[str] | None = None) -> Paired:
    """Differences challenger - baseline, replication by replication (same seed and
    replication index, hence common random numbers), with 95% t intervals and verdicts.

    Parameters
    ----------
    g : the gathered sweep.
    baseline : policy whose cells are the baselines.
    kpis : KPIs to compare (default: all of them).

    Returns
    -------
    Paired
        ``diff_mean`` is exactly the mean of the per-replication differences in
        ``per_pair``; the verdict says whether the interval excludes 0 and in which
        direction, using :data:`collectsim.metrics.DIRECTIONS`.
    """
    names = list(kpis) if kpis is not None else g.kpi_names
    mapping, notes = find_baselines(g, baseline)
    overall = g.overall()
    labels = dict(zip(g.cells()["cell"], g.cells()["label"], strict=True))
    rows, pairs = [], []
    for cell, bcell in mapping.items():
        ch = _by_pair(overall[overall["cell"] == cell], names, labels[cell], notes)
        bs = _by_pair(overall[overall["cell"] == bcell], names, labels[bcell], notes)
        joined = ch.add_suffix("_c").join(bs.add_suffix("_b"), how="inner")
        unmatched = len(ch) + len(bs) - 2 * len(joined)
        if joined.empty:
            notes.append(f"{labels[cell]}: no replication shares a seed and index with {labels[bcell]}, not compared")
            continue
        if len(joined) < 2:
            notes.append(
                f"{labels[cell]}: only {len(joined)} paired replication, so no confidence interval "
                "(run replications>=2 for verdicts)"
            )
        if unmatched:
            notes.append(f"{labels[cell]}: {unmatched} replication(s) without a partner in the other cell left out")
        diffs = pd.DataFrame(
            {k: joined[f"{k}_c"].to_numpy(float) - joined[f"{k}_b"].to_numpy(float) for k in names}, index=joined.index
        )
        pairs.append(diffs.reset_index().assign(cell=cell, baseline_cell=bcell))
        for k in names:
            d = diffs[k].to_numpy(float)
            ok = np.isfinite(d)
            mean, hw, n = t_interval(d)
            b_mean = float(np.mean(joined[f"{k}_b"].to_numpy(float)[ok])) if n else float("nan")
            c_mean = float(np.mean(joined[f"{k}_c"].to_numpy(float)[ok])) if n else float("nan")
            direction = int(np.sign(DIRECTIONS.get(k, 0)))
            rows.append(
                {
                    "cell": cell,
                    "label": labels[cell],
                    "baseline_cell": bcell,
                    "baseline_label": labels[bcell],
                    "kpi": k,
                    "n": n,
                    "baseline_mean": b_mean,
                    "challenger_mean": c_mean,
                    "diff_mean": mean,
                    "diff_half_width": hw,
                    "diff_low": mean - hw,
                    "diff_high": mean + hw,
                    "diff_pct": 100.0 * mean / b_mean if b_mean != 0.0 and np.isfinite(b_mean) else float("nan"),
                    "direction": direction,
                    "verdict": verdict(mean - hw, mean + hw, direction),
                }
            )
    table_cols = [
        "cell",
        "label",
        "baseline_cell",
        "baseline_label",
        "kpi",
        "n",
        "baseline_mean",
        "challenger_mean",
        "diff_mean",
        "diff_half_width",
        "diff_low",
        "diff_high",
        "diff_pct",
        "direction",
        "verdict",
    ]
    table = pd.DataFrame(rows, columns=table_cols)
    per_pair = (
        pd.concat(pairs, ignore_index=True)
        if pairs
        else pd.DataFrame(columns=["cell", "baseline_cell", *_PAIR_KEYS, *names])
    )
    per_pair = per_pair[["cell", "baseline_cell", *_PAIR_KEYS, *names]]
    return Paired(table=table, per_pair=per_pair, notes=list(dict.fromkeys(notes)), baseline=baseline)


def _by_pair(rows: pd.DataFrame, names: list[str], label: str, notes: list[str]) -> pd.DataFrame:
    """KPIs of one cell indexed by (seed, replication); duplicates keep the first job's row."""
    dup = rows.duplicated(_PAIR_KEYS)
    if dup.any():
        notes.append(f"{label}: {int(dup.sum())} duplicate (seed, replication) row(s) ignored")
    return rows.loc[~dup, [*_PAIR_KEYS, *names]].set_index(_PAIR_KEYS)


__all__ = [
    "CONFIDENCE",
    "HEADLINE_KPIS",
    "Paired",
    "comparison_table",
    "find_baselines",
    "paired_differences",
    "t_interval",
    "verdict",
]
