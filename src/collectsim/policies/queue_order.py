"""Work-queue disciplines: plain functions from the observable view to sort keys.

Lower keys are called first; ties keep the order requests arrived in.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import special

from collectsim.policies.base import AccountView

QueueOrder = Callable[[AccountView, np.ndarray], np.ndarray]


def fifo(view: AccountView, idx: np.ndarray) -> np.ndarray:
    """First requested, first called."""
    return np.zeros(idx.size)


def balance_desc(view: AccountView, idx: np.ndarray) -> np.ndarray:
    """Largest outstanding balance first."""
    return -view.balance[idx]


def dpd_desc(view: AccountView, idx: np.ndarray) -> np.ndarray:
    """Most overdue first."""
    return -view.dpd[idx].astype(float)


def dpd_asc(view: AccountView, idx: np.ndarray) -> np.ndarray:
    """Least overdue first (catch early delinquency while it is cheap)."""
    return view.dpd[idx].astype(float)


def expected_recovery(view: AccountView, idx: np.ndarray) -> np.ndarray:
    """Highest expected recovery per collector minute first.

    Expected recovery = Phi(score) * balance * reach, where Phi(score) is the lender's
    repayment estimate and reach the account's observed contact rate (with a
    Laplace prior); minutes are the expected handle time given that reach.
    """
    reach = (view.conversations[idx] + 1.0) / (view.attempts[idx] + 2.0)
    value = special.ndtr(view.score[idx]) * view.balance[idx] * reach
    return -value / _expected_minutes(view, idx)


def score_desc(view: AccountView, idx: np.ndarray) -> np.ndarray:
    """Highest repayment score first (the usual data-driven order)."""
    return -view.score[idx]


def random_order(view: AccountView, idx: np.ndarray) -> np.ndarray:
    """A random order, fresh each day: a hash of (account, day), so it needs no stream
    and is the same in every run."""
    with np.errstate(over="ignore"):
        z = idx.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(view.day) * np.uint64(0xD1B54A32D192ED03)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (z ^ (z >> np.uint64(31))).astype(np.float64)


def _expected_minutes(view: AccountView, idx: np.ndarray) -> np.ndarray:
    """Expected handle minutes of a call, from the account's observed reach (Laplace prior)."""
    reach = (view.conversations[idx] + 1.0) / (view.attempts[idx] + 2.0)
    return reach * view.expected_minutes_connected + (1 - reach) * view.expected_minutes_no_answer


def uplift_order(model_path: str) -> QueueOrder:
    """Largest predicted uplift per expected agent minute first: the model (a fitted
    :class:`collectsim.uplift.UpliftModel`, pickled by ``collectsim-uplift``) predicts
    the yuan a call programme adds to the account from its observable features."""
    model = _load_model(model_path)

    def order(view: AccountView, idx: np.ndarray) -> np.ndarray:
        from collectsim.policies.features import observable_features

        if idx.size == 0:
            return np.zeros(0)
        return -model.predict(observable_features(view, idx)) / _expected_minutes(view, idx)

    return order


@lru_cache(maxsize=8)
def _load_model(path: str) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)  # noqa: S301 - a model file the user's own study wrote


QUEUE_ORDERS: dict[str, QueueOrder] = {
    "fifo": fifo,
    "balance_desc": balance_desc,
    "dpd_desc": dpd_desc,
    "dpd_asc": dpd_asc,
    "expected_recovery": expected_recovery,
    "score_desc": score_desc,
    "random": random_order,
}

#: Orders that need a fitted model (``uplift_model``: its file).
MODEL_ORDERS = ("uplift",)
