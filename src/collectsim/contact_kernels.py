"""Compiled steps of the contact rules' check (:meth:`collectsim.compliance.Compliance.filter`)
and of an automated delivery (:mod:`collectsim.automated`), used when the kernels run
compiled.

Each is the scalar form of the array expressions it replaces, in the same order, so every
count, stress level and outcome is the same to the bit as on the NumPy path; ``exp`` and
the draws stay NumPy's, between the steps. No step calls another kernel (Numba's cache
cannot go stale).
"""

from __future__ import annotations

import numpy as np

from collectsim.jit import njit


@njit(cache=True, _nrt=False)
def filter_step(
    idx: np.ndarray,
    t: float,
    outside: bool,
    is_call: bool,
    limits: np.ndarray,
    connected_today: np.ndarray,
    unanswered_today: np.ndarray,
    attempts_7d: np.ndarray,
    last_conversation: np.ndarray,
    enforce: bool,
    by_account: np.ndarray,
    counts: np.ndarray,
    allowed: np.ndarray,
) -> None:
    """Count the rules contacts with ``idx`` at ``t`` would break (``outside``: ``t`` is
    outside the calling window; ``limits``: max connected and unanswered today, max
    attempts in 7 days, cooldown days) into ``counts`` and ``by_account``: under
    ``enforce`` only the first rule that blocks each one, which is then not allowed."""
    for j in range(idx.size):
        i = idx[j]
        hits = 1 if outside else 0  # bit r: rule r broken
        if is_call:
            hits |= (connected_today[i] >= limits[0]) << 1
            hits |= (unanswered_today[i] >= limits[1]) << 2
            hits |= (attempts_7d[i] >= limits[2]) << 3
            hits |= ((t - last_conversation[i]) < limits[3]) << 4
        ok = True
        for r in range(5):
            if hits >> r & 1:
                counts[r] += 1
                by_account[r, i] += 1
                if enforce:
                    ok = False
                    break
        allowed[j] = ok


@njit(cache=True, _nrt=False)
def send_step(
    idx: np.ndarray,
    code: int,
    day: int,
    t: float,
    actions_done: np.ndarray,
    last_action_day: np.ndarray,
    contacts: np.ndarray,
    cost: np.ndarray,
    cost_each: float,
    neg_decay: float,
    stress_t: np.ndarray,
    x: np.ndarray,
) -> None:
    """Count automated contacts with ``idx`` and their cost; the exponent of each
    account's stress decay up to ``t``."""
    for j in range(idx.size):
        i = idx[j]
        actions_done[i, code] += 1
        last_action_day[i, code] = day
        contacts[i] += 1
        cost[i] += cost_each
        x[j] = neg_decay * (t - stress_t[i])


@njit(cache=True, _nrt=False)
def stress_now_step(idx: np.ndarray, ex: np.ndarray, stress: np.ndarray, neg_avoid: float, y: np.ndarray) -> None:
    """The exponent of the answer probability's stress factor (``ex``: stress decay)."""
    for j in range(idx.size):
        y[j] = neg_avoid * (stress[idx[j]] * ex[j])


@njit(cache=True, _nrt=False)
def answer_step(
    idx: np.ndarray,
    t: float,
    ey: np.ndarray,
    contactability: np.ndarray,
    reach: float,
    u: np.ndarray,
    attempts_today: np.ndarray,
    attempts_7d: np.ndarray,
    connected_today: np.ndarray,
    unanswered_today: np.ndarray,
    last_conversation: np.ndarray,
    voice_attempts: np.ndarray,
    connected: np.ndarray,
) -> None:
    """Whether each dialler call is answered, counted in the contact rules' counters."""
    for j in range(idx.size):
        i = idx[j]
        c = u[j] < contactability[i] * ey[j] * reach
        connected[j] = c
        attempts_today[i] += 1
        attempts_7d[i] += 1
        if c:
            connected_today[i] += 1
            last_conversation[i] = t
        else:
            unanswered_today[i] += 1
        voice_attempts[i] += 1


@njit(cache=True, _nrt=False)
def stress_step(
    idx: np.ndarray,
    t: float,
    ex: np.ndarray,
    connected: np.ndarray,
    increment: float,
    sensitivity: np.ndarray,
    stress: np.ndarray,
    stress_t: np.ndarray,
    stress_peak: np.ndarray,
    out: np.ndarray,
) -> None:
    """The contact's stress on the borrowers it reached (``ex``: stress decay up to ``t``)."""
    for j in range(idx.size):
        i = idx[j]
        s = stress[i] * ex[j] + (increment * sensitivity[i] if connected[j] else 0.0)
        stress[i] = s
        stress_t[i] = t
        stress_peak[i] = s if stress_peak[i] < s else stress_peak[i]
        out[j] = s


def warm() -> None:
    """Compile (or load) the steps on arrays of the types a run hands them."""
    i, f, b = np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros(1, dtype=np.bool_)
    i4 = np.zeros(1, dtype=np.int32)
    lim = np.zeros(4)
    filter_step(
        i, 0.0, False, True, lim, i4, i4, i4, f, True, np.zeros((6, 1), np.int32), np.zeros(6, np.int64), b.copy()
    )
    send_step(
        i,
        0,
        0,
        0.0,
        np.zeros((1, 1), np.int32),
        np.zeros((1, 1), np.int16),
        i4.copy(),
        f.copy(),
        0.0,
        -1.0,
        f,
        f.copy(),
    )
    stress_now_step(i, f, f, -1.0, f.copy())
    answer_step(i, 0.0, f, f, 1.0, f, i4.copy(), i4.copy(), i4.copy(), i4.copy(), f.copy(), i4.copy(), b.copy())
    stress_step(i, 0.0, f, b, 1.0, f, f.copy(), f.copy(), f.copy(), f.copy())
