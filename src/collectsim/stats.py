"""Confidence intervals over replications: the one t-interval every report and check uses."""

from __future__ import annotations

import numpy as np
from scipy import stats

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
    sem = float(np.std(x, ddof=1)) / np.sqrt(n)
    return mean, float(stats.t.ppf(0.5 + confidence / 2.0, n - 1) * sem), n
