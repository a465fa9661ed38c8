"""Confidence intervals over replications: the one t-interval every report and check uses."""

from __future__ import annotations

import numpy as np

#: confidence level of every interval the project reports
CONFIDENCE = 0.95


def t_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, int]:
    """Mean, Student-t confidence-interval half-width and count of the finite ``values``.

    The half-width is NaN with fewer than two finite values (and 0 when they are all
    equal).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = float(np.mean(x))
    if n < 2:
        return mean, float("nan"), n
    return mean, float(t_half_width(float(np.std(x, ddof=1)), n, confidence)), n


def t_half_width(sd: np.ndarray | float, n: np.ndarray | int, confidence: float = CONFIDENCE) -> np.ndarray:
    """The t half-width ``t_{n-1} * sd / sqrt(n)`` for standard deviations ``sd`` of ``n``
    values each (vectorised; ``n`` below 2 is treated as 2 and 1)."""
    from scipy import stats  # imported here: slow to import, and a single run does not need it

    n = np.asarray(n)
    return stats.t.ppf(0.5 + confidence / 2.0, np.maximum(n - 1, 1)) * np.asarray(sd) / np.sqrt(np.maximum(n, 1))
