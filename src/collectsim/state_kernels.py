"""Compiled steps of :meth:`collectsim.state.AccountState.pay`, used when the kernels run
compiled.

Each is the scalar form of the method's array expressions, in the same order, so every
balance and KPI is the same to the bit as the NumPy path; the discount factor's ``exp``
stays NumPy's, between the two steps. ``np.minimum(x, y)`` is written
``y if x > y else x`` and ``np.maximum(x, y)`` ``y if x < y else x`` (the same wherever
y is not NaN). No step calls another kernel (Numba's cache cannot go stale).
"""

from __future__ import annotations

import numpy as np

from collectsim.jit import njit

CURED = 2  # collectsim.state.CURED (a test checks they agree)


@njit(cache=True, _nrt=False)
def pay_step(
    idx: np.ndarray,
    amount: np.ndarray,
    t: np.ndarray,
    rate: float,
    balance: np.ndarray,
    collected: np.ndarray,
    c30: np.ndarray,
    out_cost: np.ndarray,
    entry_time: np.ndarray,
    principal: np.ndarray,
    outsourced: np.ndarray,
    commission: float,
    status: np.ndarray,
    first: np.ndarray,
    close: np.ndarray,
    cure: np.ndarray,
    promise_due: np.ndarray,
    plan_next: np.ndarray,
    plan_active: np.ndarray,
    in_legal: np.ndarray,
    plans_completed: np.ndarray,
    paid: np.ndarray,
    x: np.ndarray,
    cured: np.ndarray,
) -> int:
    """Accounts ``idx`` (no account twice) pay ``amount`` (at most their balance) at
    ``t``, into the account columns that follow (``c30``: collected within 30 days,
    ``first``: first payment time, ``plan_next``: next plan instalment). Writes what each
    paid (a cleared float remainder included) to ``paid`` and the exponent of its
    discount factor, ``rate * age``, to ``x``; the accounts cured to ``cured``, and
    returns how many."""
    nc = 0
    for j in range(idx.size):
        i = idx[j]
        b = balance[i]
        a = amount[j]
        a = b if a > b else a
        tj = t[j]
        if np.isnan(first[i]) and a > 0:
            first[i] = tj
        collected[i] += a
        age = tj - entry_time[i]
        early = age < 30.0
        c30[i] += a if early else 0.0
        balance[i] = b - a
        if outsourced[i]:
            out_cost[i] += commission * a
        p = principal[i]
        rest = balance[i]
        if rest <= 1e-9 * (1.0 if p < 1.0 else p):
            collected[i] += rest
            c30[i] += rest if early else 0.0
            balance[i] = 0.0
            if plan_active[i]:
                plans_completed[i] += 1
            status[i] = CURED
            close[i] = tj
            promise_due[i] = np.inf
            plan_active[i] = False
            plan_next[i] = np.inf
            in_legal[i] = False
            cure[i] = tj
            cured[nc] = i
            nc += 1
            paid[j] = a + rest
        else:
            paid[j] = a
        x[j] = rate * age
    return nc


@njit(cache=True, _nrt=False)
def book_step(
    idx: np.ndarray,
    paid: np.ndarray,
    t: np.ndarray,
    entry_time: np.ndarray,
    ex: np.ndarray,
    r30: np.ndarray,
    r60: np.ndarray,
    r90: np.ndarray,
    pv: np.ndarray,
) -> None:
    """Book what accounts ``idx`` paid at ``t`` by its age: recovered within 30, 60 and
    90 days, and its present value (``ex``: the discount factors)."""
    for j in range(idx.size):
        i = idx[j]
        age = t[j] - entry_time[i]
        a = paid[j]
        r30[i] += a if age < 30.0 else 0.0
        r60[i] += a if age < 60.0 else 0.0
        r90[i] += a if age < 90.0 else 0.0
        pv[i] += a * ex[j]


def warm() -> None:
    """Compile (or load) the steps on arrays of the types a run hands them."""
    i, f = np.zeros(1, dtype=np.int64), np.zeros(1)
    b = np.zeros(1, dtype=np.bool_)
    c = [np.zeros(1) for _ in range(11)]
    pay_step(
        i, f, f, 0.0, *c[:4], f, f, b, 0.0, np.zeros(1, np.int8), *c[4:9], b.copy(), b.copy(),
        np.zeros(1, np.int32), *c[9:], i.copy(),
    )  # fmt: skip
    book_step(i, f, f, f, f, *[np.zeros(1) for _ in range(4)])
