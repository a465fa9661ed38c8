"""Confidence intervals over replications, for statistical tests (the project's one
t-interval, :func:`collectsim.stats.t_interval`)."""

from __future__ import annotations

import numpy as np

from collectsim.stats import t_interval


def ci(values: np.ndarray | list[float], level: float = 0.95) -> tuple[float, float]:
    """The t confidence interval (low, high) of the mean of ``values``."""
    mean, half, _ = t_interval(np.asarray(values, dtype=float), level)
    return mean - half, mean + half
