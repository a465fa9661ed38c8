"""Compiled steps of :mod:`collectsim.ledger`, used when the kernels run compiled: counting
a step's contacts, reading the borrower view, booking a response's plans and promises.

Each is the scalar form of the ledger's array expressions (no transcendental function
among them), so every count and date is the same as on the NumPy path. No step calls
another kernel (Numba's cache cannot go stale).
"""

from __future__ import annotations

import numpy as np

from collectsim.jit import njit

OPEN = 1  # collectsim.state.OPEN (a test checks they agree)


@njit(cache=True, _nrt=False)
def count_step(
    idx: np.ndarray,
    action: np.ndarray,
    connected: np.ndarray,
    day: int,
    is_agent: np.ndarray,
    third_party: np.ndarray,
    is_call: np.ndarray,
    contacts: np.ndarray,
    actions_done: np.ndarray,
    last_action_day: np.ndarray,
    attempts: np.ndarray,
    conversations: np.ndarray,
    attempts_to_rpc: np.ndarray,
    failed_streak: np.ndarray,
) -> None:
    """Count the contacts of one step (no account twice): collector calls, attempts on
    the borrower's own number, first right-party contacts, failed-call streaks."""
    for j in range(idx.size):
        i, a = idx[j], action[j]
        own = not third_party[a]
        if is_agent[a]:
            contacts[i] += 1
            actions_done[i, a] += 1
            last_action_day[i, a] = day
            if own:
                attempts[i] += 1
                if connected[j]:
                    if conversations[i] == 0:
                        attempts_to_rpc[i] = attempts[i]
                    conversations[i] += 1
        if is_call[a] and own:
            failed_streak[i] = 0 if connected[j] else failed_streak[i] + 1


@njit(cache=True, _nrt=False)
def view_step(
    idx: np.ndarray,
    t: np.ndarray,
    ability: np.ndarray,
    hardship_factor: float,
    hardship_end: np.ndarray,
    plan_active: np.ndarray,
    promise_due: np.ndarray,
    willingness: np.ndarray,
    sensitivity: np.ndarray,
    balance: np.ndarray,
    ab: np.ndarray,
    in_hardship: np.ndarray,
    can_commit: np.ndarray,
    out: np.ndarray,
) -> None:
    """The borrower view's columns: ability at ``t``, inside a hardship shock, free to
    commit (no plan, no pending promise); rows of ``out``: willingness, sensitivity and
    balance."""
    for j in range(idx.size):
        i = idx[j]
        out[0, j], out[1, j], out[2, j] = willingness[i], sensitivity[i], balance[i]
        hard = t[j] < hardship_end[i]
        a = ability[i]
        ab[j] = a * hardship_factor if hard else a
        in_hardship[j] = hard
        can_commit[j] = not plan_active[i] and promise_due[i] == np.inf


@njit(cache=True, _nrt=False)
def book_step(
    idx: np.ndarray,
    time: np.ndarray,
    complaint: np.ndarray,
    plan_k: np.ndarray,
    promise_days: np.ndarray,
    promise_share: np.ndarray,
    interval_days: int,
    complaints: np.ndarray,
    balance: np.ndarray,
    plan_active: np.ndarray,
    plans_started: np.ndarray,
    plan_left: np.ndarray,
    plan_misses: np.ndarray,
    plan_instalment: np.ndarray,
    plan_next_due: np.ndarray,
    promises: np.ndarray,
    share: np.ndarray,
    due: np.ndarray,
) -> None:
    """Book a response's complaints, new plans and new promises (no account twice)."""
    for j in range(idx.size):
        i = idx[j]
        if complaint[j]:
            complaints[i] += 1
        k = plan_k[j]
        if k > 0:
            plan_active[i] = True
            plans_started[i] += 1
            plan_left[i] = k
            plan_misses[i] = 0
            plan_instalment[i] = balance[i] / k
            plan_next_due[i] = np.floor(time[j]) + interval_days
        if not np.isnan(promise_days[j]):
            promises[i] += 1
            share[i] = promise_share[j]
            due[i] = np.floor(time[j]) + promise_days[j]


@njit(cache=True, _nrt=False)
def accrue_step(
    idx: np.ndarray,
    t: float,
    plan_active: np.ndarray,
    balance: np.ndarray,
    principal: np.ndarray,
    daily_rate: np.ndarray,
    multiplier: float,
    days: float,
    interest: np.ndarray,
    neg_decay: float,
    stress_t: np.ndarray,
    x: np.ndarray,
) -> None:
    """A day's interest on the open accounts ``idx`` outside a plan (on the balance, at
    most the principal); the exponent of each account's stress decay up to ``t``."""
    for j in range(idx.size):
        i = idx[j]
        if not plan_active[i]:
            b, p = balance[i], principal[i]
            inc = (p if b > p else b) * daily_rate[i] * multiplier * days
            balance[i] += inc
            interest[i] += inc
        x[j] = neg_decay * (t - stress_t[i])


@njit(cache=True, _nrt=False)
def stress_day_step(
    idx: np.ndarray,
    ex: np.ndarray,
    stress: np.ndarray,
    threshold: float,
    stress_sum: np.ndarray,
    open_days: np.ndarray,
    distress_days: np.ndarray,
    pending_call: np.ndarray,
    s: np.ndarray,
) -> int:
    """The open accounts' stress at the end of the day (``ex``: its decay factor), summed
    into their open-day records; returns how many of them wait for a call."""
    backlog = 0
    for j in range(idx.size):
        i = idx[j]
        sj = stress[i] * ex[j]
        s[j] = sj
        stress_sum[i] += sj
        open_days[i] += 1
        if sj > threshold:
            distress_days[i] += 1
        backlog += pending_call[i]
    return backlog


@njit(cache=True, _nrt=False)
def moved_step(
    idx: np.ndarray, f: np.ndarray, factor: np.ndarray, step: float, out_idx: np.ndarray, out_f: np.ndarray
) -> int:
    """The accounts whose factor ``f`` moved by more than ``step`` since ``factor`` (which
    takes the new values), in order; returns how many."""
    m = 0
    for j in range(idx.size):
        i = idx[j]
        if abs(f[j] - factor[i]) > step:
            factor[i] = f[j]
            out_idx[m], out_f[m] = i, f[j]
            m += 1
    return m


@njit(cache=True, _nrt=False)
def repay_rank_step(
    idx: np.ndarray,
    t: np.ndarray,
    fraction: np.ndarray,
    rank: np.ndarray,
    r: int,
    status: np.ndarray,
    balance: np.ndarray,
    repayments: np.ndarray,
    out_idx: np.ndarray,
    out_t: np.ndarray,
    out_amount: np.ndarray,
) -> int:
    """The ``r``-th repayments of the accounts still open (in order): what each pays (its
    fraction of the balance, all of it for a fraction of 1), counted; returns how many."""
    m = 0
    for j in range(idx.size):
        if rank[j] != r:
            continue
        i = idx[j]
        if status[i] != OPEN:
            continue
        f, b = fraction[j], balance[i]
        out_amount[m] = b if f >= 1.0 else f * b
        repayments[i] += 1
        out_idx[m], out_t[m] = i, t[j]
        m += 1
    return m


def warm() -> None:
    """Compile (or load) the steps on arrays of the types a run hands them."""
    i, f, b = np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros(1, dtype=np.bool_)
    i4 = np.zeros(1, dtype=np.int32)
    count_step(
        i, i, b, 0, b, b, b, i4.copy(), np.zeros((1, 1), np.int32), np.zeros((1, 1), np.int16), i4.copy(),
        i4.copy(), i4.copy(), i4.copy(),
    )  # fmt: skip
    view_step(i, f, f, 1.0, f, b, f, f, f, f, f.copy(), b.copy(), b.copy(), np.zeros((3, 1)))
    book_step(
        i, f, b, i, f, f, 1, i4.copy(), f, b.copy(), i4.copy(), i4.copy(), i4.copy(), f.copy(), f.copy(), i4.copy(),
        f.copy(), f.copy(),
    )  # fmt: skip
    accrue_step(i, 1.0, b, f.copy(), f, f, 1.0, 1.0, f.copy(), -1.0, f, f.copy())
    stress_day_step(i, f, f, 1.0, f.copy(), i4.copy(), i4.copy(), b, f.copy())
    moved_step(i, f, f.copy(), 0.1, i.copy(), f.copy())
    repay_rank_step(i, f, f, i, 0, np.zeros(1, np.int8), f, i4.copy(), i.copy(), f.copy(), f.copy())
