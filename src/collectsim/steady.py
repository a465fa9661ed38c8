"""Steady state of a stream run: where the warm-up transient of a daily series ends
(MSER-5) and whether a series trends across the measured window (a slope t-test
corrected for autocorrelation).

Plain functions over NumPy arrays of daily values (``RunResult.series``); nothing here
knows the engine. docs/centre.md explains the method and the chosen warm-up.

References
----------
White, K. P. (1997). An effective truncation heuristic for bias reduction in
simulation output. Simulation 69(6), 323-334.
White, K. P., Cobb, M. J. and Spratt, S. C. (2000). A comparison of five steady-state
truncation heuristics for simulation. Proceedings of the Winter Simulation Conference.
Hoad, K., Robinson, S. and Davies, R. (2010). Automating warm-up length estimation.
Journal of the Operational Research Society 61, 1389-1403 (MSER-5 on the mean of
replications).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

#: MSER-5: batches of 5 observations (White 1997).
MSER_BATCH = 5
#: A stream run warns when a series trends at this significance level (stricter than
#: 5%: in long steady runs the corrected test still rejects too often, docs/centre.md) ...
TREND_ALPHA = 0.01
#: ... and the fitted change across the window exceeds this share of the window's mean
#: (a steady default centre's occupancy drifts by under 2% across 90 days).
TREND_MIN_CHANGE = 0.05


def batch_means(y: np.ndarray, size: int, den: np.ndarray | None = None) -> np.ndarray:
    """Means of consecutive batches of ``size`` values of ``y`` (a trailing partial batch
    is dropped). With ``den``, the ratio of sums ``sum(y) / sum(den)`` per batch (e.g.
    busy over available minutes: occupancy), 0 for a batch whose ``den`` sums to 0."""
    y = np.asarray(y, dtype=float)
    k = y.size // size
    num = y[: k * size].reshape(k, size).sum(axis=1)
    if den is None:
        return num / size
    d = np.asarray(den, dtype=float)[: k * size].reshape(k, size).sum(axis=1)
    return np.divide(num, d, out=np.zeros(k), where=d > 0)


@dataclass(frozen=True)
class Truncation:
    """Where MSER puts the end of the warm-up transient.

    Attributes
    ----------
    days : observations (days) to delete from the start, a multiple of the batch size.
    statistic : the minimised MSER statistic (squared marginal standard error).
    at_limit : True when the minimum is at the end of the searched first half: the
        transient may not have ended inside the series (run longer).
    """

    days: int
    statistic: float
    at_limit: bool


def mser(y: np.ndarray, den: np.ndarray | None = None, batch: int = MSER_BATCH, search: float = 0.5) -> Truncation:
    """MSER-``batch`` truncation point of the series ``y`` (White 1997).

    With ``k`` batch means ``Z_1..Z_k`` (of ``y``, or ratios ``y / den``, see
    :func:`batch_means`), deleting the first ``d`` batches leaves the marginal
    standard error statistic

        MSER(d) = sum_{j>d} (Z_j - mean(Z_{d+1..k}))**2 / (k - d)**2,

    and the truncation is ``batch * argmin_d MSER(d)`` over ``d <= search * k`` (the
    first half by default: beyond it the statistic rests on too few batches).
    """
    z = batch_means(y, batch, den)
    k = z.size
    if k < 2:
        return Truncation(0, float("nan"), False)
    last = int(np.floor(search * k))
    stat = np.empty(last + 1)
    for d in range(last + 1):
        tail = z[d:]
        stat[d] = float(((tail - tail.mean()) ** 2).sum()) / tail.size**2
    best = int(np.argmin(stat))
    return Truncation(best * batch, float(stat[best]), best == last and last > 0)


@dataclass(frozen=True)
class Trend:
    """A linear trend fitted to a daily series.

    Attributes
    ----------
    per_30d : fitted change per 30 days, in the series' units.
    pvalue : two-sided p-value of the slope, corrected for autocorrelation (see
        :func:`trend`); NaN for fewer than 10 days.
    mean : mean of the series over the days.
    change_share : fitted change across the days over ``|mean|`` (NaN for a mean of 0).
    lag1 : lag-1 autocorrelation of the residuals (clipped to [0, 0.99]).
    effective_days : the effective sample size ``n (1 - lag1) / (1 + lag1)``.
    """

    per_30d: float
    pvalue: float
    mean: float
    change_share: float
    lag1: float
    effective_days: float

    def significant(self, alpha: float = TREND_ALPHA, min_change: float = TREND_MIN_CHANGE) -> bool:
        """Whether the trend is both significant at ``alpha`` and larger than
        ``min_change`` of the mean across the days."""
        return bool(self.pvalue < alpha and abs(self.change_share) > min_change)


def trend(y: np.ndarray, den: np.ndarray | None = None, day_batch: int = 1) -> Trend:
    """Least-squares trend of the daily series ``y`` (ratios ``y / den``, per
    ``day_batch`` days, with ``den``) and a t-test of its slope corrected for lag-1
    autocorrelation (Santer et al. 2000).

    The backlog of a loaded team is strongly autocorrelated (lag-1 near 0.8 to 0.9 in a
    steady default centre, still 0.5 to 0.8 between 10-day batch means), so an ordinary
    t-test, even on batch means, finds a "trend" in most windows of a steady run. With
    ``r`` the lag-1 autocorrelation of the residuals, the slope's standard error is
    inflated by ``sqrt((n - 2) / (n_e - 2))`` and tested with ``n_e - 2`` degrees of
    freedom, ``n_e = n (1 - r) / (1 + r)`` (floored at 3). docs/centre.md reports how
    often it rejects in windows of long steady runs.

    Santer, B. D. et al. (2000). Statistical significance of trends and trend
    differences in layer-average atmospheric temperature time series. J. Geophys. Res.
    105(D6), 7337-7356.
    """
    z = np.asarray(y, dtype=float) if den is None and day_batch == 1 else batch_means(y, day_batch, den)
    n = z.size
    mean = float(z.mean()) if n else float("nan")
    if n < 10:
        return Trend(float("nan"), float("nan"), mean, float("nan"), float("nan"), float(n))
    x = day_batch * (np.arange(n) + 0.5)
    if np.ptp(z) == 0.0:
        return Trend(0.0, 1.0, mean, 0.0, 0.0, float(n))
    xc = x - x.mean()
    slope = float((xc * (z - mean)).sum() / (xc * xc).sum())
    res = z - mean - slope * xc
    ss = float((res * res).sum())
    r = float((res[1:] * res[:-1]).sum() / ss) if ss > 0 else 0.0
    r = min(max(r, 0.0), 0.99)
    n_e = max(n * (1.0 - r) / (1.0 + r), 3.0)
    se = np.sqrt(ss / (n - 2) / (xc * xc).sum()) * np.sqrt((n - 2) / (n_e - 2.0))
    # Student's t upper tail (what scipy.stats.t.sf computes, without importing scipy.stats).
    p = float(2.0 * special.stdtr(n_e - 2.0, -abs(slope) / se)) if se > 0 else 0.0
    share = slope * (x[-1] - x[0]) / abs(mean) if mean != 0.0 else float("nan")
    return Trend(30.0 * slope, p, mean, share, r, n_e)


def trend_across(per_30d: np.ndarray) -> tuple[float, float]:
    """Mean of the trends of independent replications and the two-sided p-value of a
    one-sample t-test that it is 0: valid whatever the autocorrelation inside a run,
    the test to use when replications are at hand. NaN for fewer than 2 values."""
    v = np.asarray(per_30d, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan"), float("nan")
    if np.ptp(v) == 0.0:
        return float(v[0]), 1.0 if v[0] == 0.0 else 0.0
    from scipy import stats  # imported here: slow to import, and a run does not need it

    return float(v.mean()), float(stats.ttest_1samp(v, 0.0).pvalue)


def window_days(day: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Mask of the days of a daily series (``series['day']``: 1, 2, ...; value at the
    end of day ``day - 1``) that fall in the measured ``window`` of days [first, end)."""
    d = np.asarray(day, dtype=float) - 1.0
    return (d >= window[0]) & (d < window[1])
