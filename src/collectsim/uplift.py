"""Learning whom a call changes: uplift models fitted to a randomised learning period, and
their evaluation against the simulator's true uplift.

During a learning period each account is assigned at random, with a known probability
``p_treat``, to being called (``treated = 1``) or not (``treated = 0``). The log holds,
per account, only what a lender could observe at assignment (:data:`FEATURES`), the
assignment, the outcome ``y`` (yuan collected within a horizon) and the agent minutes
spent. The learner estimates the conditional average treatment effect
``tau(x) = E[y | x, called] - E[y | x, not called]`` in yuan per account; the simulator's
borrower traits (:data:`LATENT`) are what it must never see.

Two learners, both gradient-boosted trees (scikit-learn's ``HistGradientBoostingRegressor``):

- ``two_model`` (the default), the T-learner of Künzel et al. (2019): one regressor on the
  treated rows, one on the control rows, uplift = their difference. Each model fits a
  plain outcome, so with outcomes that are mostly zero and heavy-tailed (a whole balance
  or nothing) it is the lower-variance choice; its cost is a bias where the two models
  regularise differently (most where one arm is small).
- ``transformed_outcome`` (Athey & Imbens, 2016): one regressor on
  ``y* = y (T - p) / (p (1 - p))``, whose conditional mean is ``tau(x)`` exactly under
  randomisation with known ``p``. Unbiased, but ``y*`` scales each outcome by ``1/p`` or
  ``-1/(1 - p)``, so large balances make it noisy.

Evaluation: the Qini curve estimated from the randomised arms (Radcliffe, 2007), the
curve of true uplift the simulator knows on held-out seeds, their areas, and the true
uplift a budget of agent hours buys when spent in a model's order.

References: Athey, S. & Imbens, G. (2016), Recursive partitioning for heterogeneous causal
effects, PNAS 113(27). Künzel, S., Sekhon, J., Bickel, P. & Yu, B. (2019), Metalearners
for estimating heterogeneous treatment effects using machine learning, PNAS 116(10).
Radcliffe, N. (2007), Using control groups to target on predicted lift, Direct Marketing
Analytics Journal 1(3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from collectsim.policies.features import FEATURES as POLICY_FEATURES

#: columns a lender observes when it assigns an account (segment as an integer code):
#: the view's features, :data:`collectsim.policies.features.FEATURES`
FEATURES = POLICY_FEATURES
#: the simulator's borrower traits: never an input of a learner
LATENT = ("ability", "willingness", "contactability", "sensitivity", "hardship", "stress", "strategic")
#: learner names accepted by :func:`fit_uplift`
METHODS = ("two_model", "transformed_outcome")
#: fractions of accounts targeted at which every curve is returned
GRID_POINTS = 101
#: Boosting settings (assumption: conservative defaults, not tuned). Early stopping is off
#: so that a fit never depends on a random validation split.
HGB_PARAMS: dict[str, Any] = {
    "loss": "squared_error",
    "max_iter": 200,
    "learning_rate": 0.05,
    "min_samples_leaf": 50,
    "early_stopping": False,
}


# --------------------------------------------------------------------------- inputs
def check_features(columns: Sequence[str]) -> tuple[str, ...]:
    """The ``columns`` as a tuple, if every one is in :data:`FEATURES`.

    Raises
    ------
    ValueError
        Naming each column that is a latent trait (:data:`LATENT`) or unknown.
    """
    cols = tuple(str(c) for c in columns)
    latent = [c for c in cols if c in LATENT]
    if latent:
        raise ValueError(f"features must not include latent traits, got {latent}; allowed: {list(FEATURES)}")
    unknown = [c for c in cols if c not in FEATURES]
    if unknown:
        raise ValueError(f"features has unknown columns {unknown}; allowed: {list(FEATURES)}")
    if len(set(cols)) != len(cols):
        raise ValueError(f"features must not repeat a column, got {list(cols)}")
    return cols


def _vector(name: str, values: Any, n: int | None = None) -> np.ndarray:
    """``values`` as a finite 1-D float array (of length ``n`` when given)."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {x.shape}")
    if n is not None and x.size != n:
        raise ValueError(f"{name} must have {n} entries (one per account), got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite, got {int(np.sum(~np.isfinite(x)))} NaN or infinite entries")
    return x


def _arms(treated: Any, n: int) -> np.ndarray:
    """``treated`` as a boolean array of length ``n`` (entries 0 or 1)."""
    t = _vector("treated", treated, n)
    if not np.all((t == 0.0) | (t == 1.0)):
        raise ValueError("treated must hold only 0 (not called) and 1 (called)")
    return t == 1.0


def _p(p_treat: float) -> float:
    p = float(p_treat)
    if not 0.0 < p < 1.0:
        raise ValueError(f"p_treat must be in (0, 1), got {p_treat}")
    return p


def _matrix(X: Any, width: int) -> np.ndarray:
    x = np.asarray(X, dtype=float)
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"X must be 2-D with {width} columns (one per feature), got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("X must have at least one row")
    return x


# --------------------------------------------------------------------------- learners
@dataclass(frozen=True)
class UpliftModel:
    """A fitted uplift learner: :meth:`predict` gives yuan per account.

    ``models`` holds the regressors: (treated, control) for ``two_model``, one for
    ``transformed_outcome``.
    """

    method: str
    features: tuple[str, ...]
    p_treat: float
    models: tuple[Any, ...]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted uplift (yuan collected with calls minus without) per row of ``X``,
        whose columns are :attr:`features` in that order."""
        x = _matrix(X, len(self.features))
        if self.method == "two_model":
            treated, control = self.models
            return np.asarray(treated.predict(x) - control.predict(x), dtype=float)
        return np.asarray(self.models[0].predict(x), dtype=float)


def _regressor(x: np.ndarray, y: np.ndarray, seed: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(**HGB_PARAMS, random_state=seed).fit(x, y)


def fit_uplift(
    X: np.ndarray,
    treated: np.ndarray,
    y: np.ndarray,
    p_treat: float,
    method: str = "two_model",
    seed: int = 0,
    *,
    features: Sequence[str] = FEATURES,
) -> UpliftModel:
    """Fit an uplift learner to a randomised learning period.

    Parameters
    ----------
    X : array, shape (n, len(features))
        Observable features per account, columns in the order of ``features``.
    treated : array, shape (n,)
        1 if the account was assigned to calls, 0 if not.
    y : array, shape (n,)
        Outcome per account, yuan collected within the horizon.
    p_treat : float
        The known probability of assignment to calls, in (0, 1).
    method : {"two_model", "transformed_outcome"}
        The learner (see the module docstring; ``two_model`` is the default).
    seed : int
        ``random_state`` of the regressors.
    features : sequence of str
        Names of the columns of ``X``, a subset of :data:`FEATURES`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    p = _p(p_treat)
    cols = check_features(features)
    x = _matrix(X, len(cols))
    t = _arms(treated, x.shape[0])
    out = _vector("y", y, x.shape[0])
    n_t = int(t.sum())
    if n_t == 0 or n_t == t.size:
        raise ValueError(f"treated must hold both arms, got {n_t} called and {t.size - n_t} not called")
    if method == "two_model":
        models: tuple[Any, ...] = (_regressor(x[t], out[t], seed), _regressor(x[~t], out[~t], seed))
    else:
        y_star = out * (t - p) / (p * (1.0 - p))
        models = (_regressor(x, y_star, seed),)
    return UpliftModel(method, cols, p, models)


# --------------------------------------------------------------------------- curves
def _order(score: np.ndarray) -> np.ndarray:
    """Accounts by ``score``, highest first; ties keep their input order."""
    return np.argsort(-score, kind="stable")


def _on_grid(cumulative: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """A curve over the top ``k = 0..n`` accounts (``cumulative[k]``), read at ``points``
    equally spaced fractions of ``n`` (``k`` rounded to the nearest account)."""
    n = cumulative.size - 1
    fraction = np.linspace(0.0, 1.0, points)
    return fraction, cumulative[np.rint(fraction * n).astype(np.int64)]


def _prefix(values: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(values)))


def qini_curve(
    score: np.ndarray, treated: np.ndarray, y: np.ndarray, p_treat: float | None = None, *, points: int = GRID_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """The Qini curve (Radcliffe, 2007): incremental yuan from targeting the top of a
    ranking, estimated from randomised arms.

    Accounts are taken by ``score``, highest first. Over the top ``k`` accounts, with
    ``n_t(k)`` called and ``n_c(k)`` not called,

    - without ``p_treat`` (the standard curve): ``gain(k) = sum_{called} y -
      sum_{not called} y * n_t(k) / n_c(k)`` (0 while ``n_c(k) = 0``), the incremental
      yuan among the called accounts of the top ``k``;
    - with ``p_treat`` (Horvitz-Thompson, the design's known probability):
      ``gain(k) = sum_{called} y / p - sum_{not called} y / (1 - p)``, an unbiased
      estimate of the total true uplift of all ``k`` accounts, on the scale of
      :func:`true_uplift_curve`.

    It is an estimate from the arms, valid when ``score`` does not depend on these rows'
    assignment (score accounts the learner was not fitted to).

    Returns
    -------
    fraction_targeted, incremental_gain : arrays of ``points`` values
        Fractions 0..1 of accounts targeted and the gain in yuan there.
    """
    s = _vector("score", score)
    if s.size == 0:
        raise ValueError("score must have at least one account")
    order = _order(s)
    t = _arms(treated, s.size)[order]
    out = _vector("y", y, s.size)[order]
    if p_treat is not None:
        p = _p(p_treat)
        return _on_grid(_prefix(np.where(t, out / p, -out / (1.0 - p))), points)
    y_t, y_c = _prefix(np.where(t, out, 0.0)), _prefix(np.where(t, 0.0, out))
    n_t, n_c = _prefix(t.astype(float)), _prefix((~t).astype(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(n_c > 0, y_t - y_c * n_t / n_c, 0.0)
    return _on_grid(gain, points)


def true_uplift_curve(
    score: np.ndarray, true_uplift: np.ndarray, *, points: int = GRID_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true uplift (yuan) of the accounts targeted by ``score``, highest first.

    ``true_uplift`` is each account's outcome with calls minus without, on the same random
    numbers (known only in the simulator). Returns the fractions targeted and the gain, on
    the grid of :func:`qini_curve`.
    """
    s = _vector("score", score)
    if s.size == 0:
        raise ValueError("score must have at least one account")
    u = _vector("true_uplift", true_uplift, s.size)
    return _on_grid(_prefix(u[_order(s)]), points)


def area_under(curve: tuple[np.ndarray, np.ndarray]) -> float:
    """Area between a gain curve and the straight line from (0, 0) to (1, total gain),
    the unnormalised Qini coefficient (yuan; 0 for a random ranking in expectation,
    trapezoidal rule on the curve's grid)."""
    fraction, gain = (np.asarray(c, dtype=float) for c in curve)
    if fraction.ndim != 1 or fraction.shape != gain.shape or fraction.size < 2:
        raise ValueError(f"curve must be two 1-D arrays of equal length >= 2, got {fraction.shape} and {gain.shape}")
    above = gain - fraction * gain[-1]
    return float(np.sum((above[1:] + above[:-1]) * np.diff(fraction)) / 2.0)


def qini_coefficient(score: np.ndarray, true_uplift: np.ndarray, *, points: int = GRID_POINTS) -> float:
    """Area of the true-uplift curve of ``score`` over that of the oracle (ranking by
    ``true_uplift`` itself): 1 for the oracle, about 0 for a random ranking, negative for
    a ranking worse than random. NaN when every account has the same true uplift (the
    oracle's area is then 0)."""
    oracle = area_under(true_uplift_curve(true_uplift, true_uplift, points=points))
    area = area_under(true_uplift_curve(score, true_uplift, points=points))
    return area / oracle if oracle > 0.0 else float("nan")


# --------------------------------------------------------------------------- budgets
def value_per_agent_hour(
    true_uplift: np.ndarray, minutes: np.ndarray, score: np.ndarray, budget_hours: float
) -> tuple[float, float]:
    """True uplift a budget of agent hours buys when spent in a model's order.

    Accounts are called in descending ``score / minutes`` (predicted yuan per expected
    agent minute; ties keep their input order) for as long as the next account's minutes
    fit in what is left of ``budget_hours``; the first that does not fit ends the calling.
    The budget is spent regardless of the sign of ``score``: pass only the accounts worth
    calling to model a lender that stops at zero.

    Parameters
    ----------
    true_uplift : array, shape (n,)
        Yuan collected with calls minus without, per account.
    minutes : array, shape (n,)
        Expected agent minutes per account, > 0.
    score : array, shape (n,)
        Predicted uplift per account, yuan.
    budget_hours : float
        Agent hours available, >= 0.

    Returns
    -------
    yuan, yuan_per_hour : float
        Total true uplift of the called accounts, and that per agent hour spent on them
        (0 when no account is called).
    """
    u = _vector("true_uplift", true_uplift)
    m = _vector("minutes", minutes, u.size)
    s = _vector("score", score, u.size)
    if np.any(m <= 0.0):
        raise ValueError(f"minutes must be > 0 for every account, got minimum {float(m.min())}")
    budget = float(budget_hours)
    if not (np.isfinite(budget) and budget >= 0.0):
        raise ValueError(f"budget_hours must be finite and >= 0, got {budget_hours}")
    order = _order(s / m)
    called = int(np.searchsorted(np.cumsum(m[order]), budget * 60.0, side="right"))
    take = order[:called]
    yuan = float(np.sum(u[take]))
    hours = float(np.sum(m[take])) / 60.0
    return yuan, (yuan / hours if hours > 0.0 else 0.0)
