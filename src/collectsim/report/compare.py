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

from collectsim.metrics import DIRECTIONS
from collectsim.report.gather import Gathered
from collectsim.stats import CONFIDENCE, t_interval

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
#: KPI -> the KPI it mirrors: with every account resolved by the horizon, an account is
#: either cured or written off, so ``writeoff_rate = 1 - cure_rate`` and a verdict on one
#: is a verdict on the other. :func:`mirrored` checks the data before counting them once.
MIRRORS = {"writeoff_rate": "cure_rate"}
#: Keys of a cell that are never compared when looking for its baseline.
_NOT_MATCHED = frozenset({"seed", "replications"})
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
    baseline : the baseline as given: a policy name or ``key=value`` (see :func:`parse_baseline`).
    """

    table: pd.DataFrame
    per_pair: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    baseline: str = "soft_first"


#: Columns of :attr:`Paired.table`.
TABLE_COLUMNS = [
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


def parse_baseline(baseline: str) -> tuple[str, str]:
    """Split a baseline into ``(key, value)``: ``"soft_first"`` is ``("policy", "soft_first")``
    and ``"collectors.size=20"`` is ``("collectors.size", "20")``."""
    key, sep, value = str(baseline).partition("=")
    if not sep:
        return "policy", key.strip()
    return key.strip(), value.strip()


def find_baselines(g: Gathered, baseline: str) -> tuple[dict[str, str], list[str]]:
    """Map each non-baseline cell to its baseline cell.

    ``baseline`` is a policy name or ``key=value`` for any override key of the sweep
    (``collectors.size=20``). The baseline of a cell is the cell whose ``key`` has that
    value and whose other overrides (all but seed and replications) are identical.

    Returns
    -------
    mapping : challenger cell -> baseline cell.
    notes : one line per cell that has no baseline.
    """
    key, value = parse_baseline(baseline)
    cells = g.cells()
    if key not in cells.columns:
        keys = ", ".join(g.override_keys)
        return {}, [
            f"baseline={baseline}: {key} is not a setting of this sweep, so paired differences are skipped "
            f"(keys: {keys}; choose --baseline POLICY or --baseline KEY=VALUE)"
        ]
    others = [k for k in g.override_keys if k not in _NOT_MATCHED and k != key]
    base = cells[cells[key].astype(str) == value]
    if base.empty:
        avail = ", ".join(sorted({str(v) for v in cells[key]}, key=_natural))
        what = f"policy {value}" if key == "policy" else f"{key}={value}"
        return {}, [
            f"no cell with {what} in this sweep, so paired differences are skipped "
            f"({key} values present: {avail}; choose one with --baseline {'POLICY' if key == 'policy' else key + '=VALUE'})"
        ]
    index = {tuple(r[k] for k in others): r["cell"] for _, r in base.iterrows()}
    mapping, notes = {}, []
    shown = value if key == "policy" else f"{key}={value}"
    for _, r in cells[cells[key].astype(str) != value].iterrows():
        b = index.get(tuple(r[k] for k in others))
        if b is None:
            notes.append(f"{r['label']}: no {shown} cell with the same other overrides, not compared")
        else:
            mapping[r["cell"]] = b
    return mapping, notes


def _natural(text: str) -> tuple[int, float, str]:
    """Sort key: numbers by value, then text."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def paired_differences(g: Gathered, baseline: str = "soft_first", kpis: list[str] | None = None) -> Paired:
    """Differences challenger - baseline, replication by replication (same seed and
    replication index, hence common random numbers), with 95% t intervals and verdicts.

    Parameters
    ----------
    g : the gathered sweep.
    baseline : policy whose cells are the baselines, or ``key=value`` naming any
        setting of the sweep (``collectors.size=20``).
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
        got = _pair(overall, cell, bcell, names, labels, notes)
        if got is not None:
            rows += got[0]
            pairs.append(got[1])
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    per_pair = (
        pd.concat(pairs, ignore_index=True)
        if pairs
        else pd.DataFrame(columns=["cell", "baseline_cell", *_PAIR_KEYS, *names])
    )
    per_pair = per_pair[["cell", "baseline_cell", *_PAIR_KEYS, *names]]
    return Paired(table=table, per_pair=per_pair, notes=list(dict.fromkeys(notes)), baseline=baseline)


def _pair(
    overall: pd.DataFrame, cell: str, bcell: str, names: list[str], labels: dict[str, str], notes: list[str]
) -> tuple[list[dict[str, object]], pd.DataFrame] | None:
    """Rows of the paired table and per-replication differences of ``cell`` - ``bcell``."""
    ch = _by_pair(overall[overall["cell"] == cell], names, labels[cell], notes)
    bs = _by_pair(overall[overall["cell"] == bcell], names, labels[bcell], notes)
    joined = ch.add_suffix("_c").join(bs.add_suffix("_b"), how="inner")
    unmatched = len(ch) + len(bs) - 2 * len(joined)
    if joined.empty:
        notes.append(f"{labels[cell]}: no replication shares a seed and index with {labels[bcell]}, not compared")
        return None
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
    rows: list[dict[str, object]] = []
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
    return rows, diffs.reset_index().assign(cell=cell, baseline_cell=bcell)


def pair_cells(g: Gathered, cell: str, baseline_cell: str, kpis: list[str]) -> pd.DataFrame:
    """Paired differences ``cell - baseline_cell`` of ``kpis`` for any two cells of a sweep,
    in the columns of :attr:`Paired.table` (empty when no replication pairs up)."""
    labels = dict(zip(g.cells()["cell"], g.cells()["label"], strict=True))
    got = _pair(g.overall(), cell, baseline_cell, list(kpis), labels, [])
    return pd.DataFrame(got[0] if got else [], columns=TABLE_COLUMNS)


def mirrored(g: Gathered, kpis: list[str]) -> dict[str, str]:
    """The pairs of :data:`MIRRORS` among ``kpis`` that mirror each other in every overall
    row of this sweep (their sum is 1), as KPI -> the KPI it mirrors."""
    ov = g.overall()
    out = {}
    for k, other in MIRRORS.items():
        if k in kpis and other in kpis and k in ov and other in ov:
            total = ov[k].to_numpy(float) + ov[other].to_numpy(float)
            if total.size and np.allclose(total[np.isfinite(total)], 1.0, rtol=0.0, atol=1e-9):
                out[k] = other
    return out


def _by_pair(rows: pd.DataFrame, names: list[str], label: str, notes: list[str]) -> pd.DataFrame:
    """KPIs of one cell indexed by (seed, replication); duplicates keep the first job's row."""
    dup = rows.duplicated(_PAIR_KEYS)
    if dup.any():
        notes.append(f"{label}: {int(dup.sum())} duplicate (seed, replication) row(s) ignored")
    return rows.loc[~dup, [*_PAIR_KEYS, *names]].set_index(_PAIR_KEYS)


__all__ = [
    "CONFIDENCE",
    "HEADLINE_KPIS",
    "MIRRORS",
    "TABLE_COLUMNS",
    "Paired",
    "comparison_table",
    "find_baselines",
    "mirrored",
    "pair_cells",
    "paired_differences",
    "parse_baseline",
    "t_interval",
    "verdict",
]
