"""Work-queue disciplines: plain functions from the observable view to sort keys.

Lower keys are called first; ties keep the order requests arrived in.
"""

from __future__ import annotations

from collections.abc import Callable

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
    minutes = reach * view.expected_minutes_connected + (1 - reach) * view.expected_minutes_no_answer
    value = special.ndtr(view.score[idx]) * view.balance[idx] * reach
    return -value / minutes


QUEUE_ORDERS: dict[str, QueueOrder] = {
    "fifo": fifo,
    "balance_desc": balance_desc,
    "dpd_desc": dpd_desc,
    "dpd_asc": dpd_asc,
    "expected_recovery": expected_recovery,
}
