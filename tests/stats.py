"""Confidence intervals over replications, for statistical tests."""

from __future__ import annotations

import numpy as np
from scipy import stats


def ci(values: np.ndarray | list[float], level: float = 0.95) -> tuple[float, float]:
    """The t confidence interval (low, high) of the mean of ``values``."""
    v = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean() - half), float(v.mean() + half)
