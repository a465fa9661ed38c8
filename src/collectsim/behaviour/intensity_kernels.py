"""The self-exciting intensity model's compiled steps (:mod:`collectsim.behaviour.intensity`
uses them when the kernels run compiled).

Each step is the scalar form of the model's array expressions, in the same order, so
every result is the same to the bit as the NumPy path: ``exp``, ``log``, powers and the
Beta quantile stay NumPy's and SciPy's, computed between the steps (their compiled forms
can differ in the last bit). ``np.maximum(x, y)`` is written ``y if x < y else x`` and
``np.minimum(x, y)`` ``y if x > y else x`` (the same wherever y is not NaN). The steps
call no other kernel, so Numba's on-disk cache cannot hold a stale callee.
"""

from __future__ import annotations

import numpy as np

from collectsim.jit import njit


@njit(cache=True, _nrt=False)
def _newton_steps(
    t: np.ndarray, fl: np.ndarray, aa: np.ndarray, e: np.ndarray, ek: np.ndarray, kappa: float, go: np.ndarray
) -> int:
    """One Newton step on each element still moving (``go``), with ``ek = exp(-kappa t)``
    computed by NumPy: the same arithmetic, in the same order, as the array expressions
    of :func:`waiting_times`. Clears ``go`` where an element converged and leaves
    ``-kappa t`` in ``ek`` for the next step's ``exp``; returns how many move on."""
    m = 0
    nk = -kappa
    for j in range(t.size):  # branch-free, so that LLVM can vectorise it
        den = fl[j] + aa[j] * ek[j]
        den = 1e-300 if den < 1e-300 else den
        step = (fl[j] * t[j] + aa[j] * (1.0 - ek[j]) / kappa - e[j]) / den
        moving = go[j]
        tn = t[j] - step
        tj = tn if moving else t[j]
        t[j] = tj
        ek[j] = nk * tj
        g = moving and abs(step) > 1e-11 * (1.0 + abs(tn))
        go[j] = g
        m += g
    return m


def newton(t: np.ndarray, fl: np.ndarray, aa: np.ndarray, ee: np.ndarray, kappa: float) -> None:
    """Newton's iterations of :func:`~collectsim.behaviour.intensity.waiting_times` on
    starting points ``t`` (in place; floors ``fl``, excesses ``aa``, draws ``ee``): ``exp``
    stays NumPy's (its last bit can differ from the compiled one), the rest runs compiled,
    so every result is the same to the bit."""
    go = np.ones(t.size, dtype=np.bool_)
    ek = np.multiply(t, -kappa)
    for _ in range(100):
        np.exp(ek, out=ek)  # on every element: cheaper than a masked exp
        if _newton_steps(t, fl, aa, ee, ek, kappa, go) == 0:
            break


@njit(cache=True, _nrt=False)
def _redraw_setup(
    idx: np.ndarray,
    lam: np.ndarray,
    floor: np.ndarray,
    e: np.ndarray,
    kappa: float,
    tau: np.ndarray,
    w: np.ndarray,
    pos: np.ndarray,
) -> int:
    """:func:`waiting_times` up to Newton's iterations, for accounts ``idx`` with
    exponential draws ``e``: ``tau`` gets inf where the wait is infinite; the others go
    to the rows of ``w`` (start, floor, excess, draw), their positions to ``pos``.
    Returns how many go on to Newton's method."""
    tiny = 1e-300
    m = 0
    for j in range(idx.size):
        i = idx[j]
        lam0, fl, ej = lam[i], floor[i], e[j]
        a = lam0 - fl
        if a >= 0:
            tj = ej / (tiny if lam0 < tiny else lam0)
        else:
            lo = fl if lam0 > fl else lam0
            tj = ej / (tiny if lo < tiny else lo)
            upper = (ej - a / kappa) / (tiny if fl < tiny else fl)
            if tj > 1e3 * upper:
                tj = upper
        if fl <= 0 and ej >= a / kappa:
            tau[j] = np.inf
        else:
            w[0, m], w[1, m], w[2, m], w[3, m] = tj, fl, a, ej
            pos[m] = j
            m += 1
    return m


@njit(cache=True, _nrt=False)
def _redraw_finish(
    idx: np.ndarray, t: np.ndarray, next_t: np.ndarray, tau: np.ndarray, w: np.ndarray, pos: np.ndarray
) -> None:
    """Scatter Newton's results into ``tau`` and set the accounts' next repayment times."""
    for q in range(pos.size):
        tau[pos[q]] = w[0, q]
    for j in range(idx.size):
        i = idx[j]
        next_t[i] = t[i] + tau[j]


@njit(cache=True, _nrt=False)
def _due_step(
    cur: np.ndarray,
    until: np.ndarray,
    next_t: np.ndarray,
    t_at: np.ndarray,
    ability: np.ndarray,
    hardship_end: np.ndarray,
    hardship_factor: float,
    neg_kappa: float,
    out_idx: np.ndarray,
    out_until: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    ab: np.ndarray,
) -> int:
    """The accounts of ``cur`` due before their ``until`` (kept in order in ``out_idx``,
    ``out_until``; may be ``cur`` and ``until`` themselves), with their repayment time
    ``t``, the exponent ``x`` of the intensity's decay since its last change, and their
    ability at ``t``. Returns how many."""
    m = 0
    for j in range(cur.size):
        i = cur[j]
        tn = next_t[i]
        u = until[j]
        if tn < u:
            out_idx[m], out_until[m], t[m] = i, u, tn
            x[m] = neg_kappa * (tn - t_at[i])
            a = ability[i]
            ab[m] = a * hardship_factor if tn < hardship_end[i] else a
            m += 1
    return m


@njit(cache=True, _nrt=False)
def _partial_draws(u: np.ndarray, pw: np.ndarray, base: float, out: np.ndarray) -> int:
    """The second uniforms of the repayments that are not a payoff in full (the first
    uniform not below ``base * pw``), in order; returns how many."""
    k = 0
    for j in range(pw.size):
        if not u[0, j] < base * pw[j]:
            out[k] = u[1, j]
            k += 1
    return k


@njit(cache=True, _nrt=False)
def _repay_step(
    cur: np.ndarray,
    until: np.ndarray,
    t: np.ndarray,
    ex: np.ndarray,
    u: np.ndarray,
    pw: np.ndarray,
    base: float,
    partial: np.ndarray,
    d10: float,
    d11: float,
    lam: np.ndarray,
    floor: np.ndarray,
    t_at: np.ndarray,
    next_t: np.ndarray,
    r: np.ndarray,
    rep_idx: np.ndarray,
) -> int:
    """Book the repayments of accounts ``cur`` at ``t`` (``ex``: the intensity's decay
    factor since its last change): the fraction ``r`` paid, the intensity's jump, no
    next repayment after a payoff in full. The accounts still paying are kept, in order,
    at the front of ``cur`` and ``until``; returns how many."""
    k = 0
    n = 0
    for j in range(cur.size):
        i = cur[j]
        f = floor[i]
        lam_t = f + (lam[i] - f) * ex[j]
        if u[0, j] < base * pw[j]:
            rj = 1.0
        else:
            rj = partial[k]
            k += 1
        r[j] = rj
        rep_idx[j] = i
        lam[i] = lam_t + d10 + d11 * rj
        t_at[i] = t[j]
        if rj >= 1.0:
            next_t[i] = np.inf
        else:
            cur[n], until[n] = i, until[j]
            n += 1
    return n


@njit(cache=True, _nrt=False)
def _respond_setup(
    idx: np.ndarray,
    time: np.ndarray,
    strength: np.ndarray,
    next_t: np.ndarray,
    t_at: np.ndarray,
    neg_kappa: float,
    out_idx: np.ndarray,
    out_time: np.ndarray,
    out_s: np.ndarray,
    x: np.ndarray,
) -> int:
    """The contacts with accounts that still repay (kept in order), and the exponent of
    their intensity's decay up to the contact; returns how many."""
    m = 0
    for j in range(idx.size):
        i = idx[j]
        if next_t[i] < np.inf:
            out_idx[m], out_time[m], out_s[m] = i, time[j], strength[j]
            x[m] = neg_kappa * (time[j] - t_at[i])
            m += 1
    return m


@njit(cache=True, _nrt=False)
def _respond_step(
    idx: np.ndarray,
    time: np.ndarray,
    s: np.ndarray,
    ex: np.ndarray,
    impulse: float,
    lam: np.ndarray,
    floor: np.ndarray,
    t_at: np.ndarray,
) -> None:
    """A contact's impulse on the intensity (never below 0), from the contact's time."""
    for j in range(idx.size):
        i = idx[j]
        f = floor[i]
        v = f + (lam[i] - f) * ex[j] + impulse * s[j]
        lam[i] = 0.0 if v < 0.0 else v
        t_at[i] = time[j]


@njit(cache=True, _nrt=False)
def factor_setup(
    idx: np.ndarray,
    factor_in: np.ndarray,
    time: float,
    next_t: np.ndarray,
    t_at: np.ndarray,
    factor: np.ndarray,
    in_hardship: np.ndarray,
    ability: np.ndarray,
    hardship_factor: float,
    willingness: np.ndarray,
    neg_kappa: float,
    out_idx: np.ndarray,
    x: np.ndarray,
    ab: np.ndarray,
    wf: np.ndarray,
) -> int:
    """The accounts that still repay take their new willingness factor (kept in order in
    ``out_idx``), with the exponent of their intensity's decay up to ``time``, their
    ability and their factored willingness; returns how many."""
    m = 0
    for j in range(idx.size):
        i = idx[j]
        if next_t[i] < np.inf:
            factor[i] = factor_in[j]
            out_idx[m] = i
            x[m] = neg_kappa * (time - t_at[i])
            a = ability[i]
            ab[m] = a * hardship_factor if in_hardship[i] else a
            wf[m] = willingness[i] * factor_in[j]
            m += 1
    return m


@njit(cache=True, _nrt=False)
def factor_step(
    idx: np.ndarray,
    ex: np.ndarray,
    pw_ability: np.ndarray,
    pw_willing: np.ndarray,
    floor_rate: float,
    time: float,
    lam: np.ndarray,
    floor: np.ndarray,
    t_at: np.ndarray,
) -> None:
    """The new floors (``floor_rate * ability**a * willingness**w``, the powers given),
    keeping the excitation above the floor (the intensity never below 0)."""
    for j in range(idx.size):
        i = idx[j]
        old = floor[i]
        lam_t = old + (lam[i] - old) * ex[j]
        new = floor_rate * pw_ability[j] * pw_willing[j]
        floor[i] = new
        v = lam_t - old + new
        lam[i] = 0.0 if v < 0.0 else v
        t_at[i] = time


@njit(cache=True, _nrt=False)
def _switch_select(
    idx: np.ndarray,
    until: np.ndarray,
    in_hardship: np.ndarray,
    hardship_end: np.ndarray,
    out_idx: np.ndarray,
    out_end: np.ndarray,
) -> int:
    """The accounts whose hardship shock ends before their ``until`` (in order), with
    the shock's end; returns how many."""
    m = 0
    for j in range(idx.size):
        i = idx[j]
        if in_hardship[i] and hardship_end[i] < until[j]:
            out_idx[m], out_end[m] = i, hardship_end[i]
            m += 1
    return m


def warm() -> None:
    """Compile (or load from Numba's cache) the model's steps, on arrays of the types a run
    hands them."""
    i, f = np.zeros(1, dtype=np.int64), np.ones(1)
    w, u = np.ones((4, 1)), np.full((2, 1), 0.5)
    _redraw_setup(i, f, f.copy(), f, 1.0, f.copy(), w, i.copy())
    _redraw_finish(i, f, f.copy(), f.copy(), w, i.copy())
    _newton_steps(f.copy(), f, f, f, f, 1.0, np.ones(1, dtype=np.bool_))
    _due_step(i, f, np.zeros(1), f, f, f, 1.0, -1.0, i.copy(), f.copy(), f.copy(), f.copy(), f.copy())
    _partial_draws(u, f, 1.0, f.copy())
    _repay_step(i.copy(), f.copy(), f, f, u, f, 1.0, f, 1.0, 1.0, f.copy(), f, f.copy(), f.copy(), f.copy(), i.copy())
    _respond_setup(i, f, f, np.zeros(1), f, -1.0, i.copy(), f.copy(), f.copy(), f.copy())
    _respond_step(i, f, f, f, 1.0, f.copy(), f, f.copy())
    factor_setup(i, f, 1.0, np.zeros(1), f, f.copy(), np.zeros(1, dtype=np.bool_), f, 1.0, f, -1.0, i.copy(), f.copy(),
                 f.copy(), f.copy())  # fmt: skip
    factor_step(i, f, f, f, 1.0, 1.0, f.copy(), f.copy(), f.copy())
    _switch_select(i, f, np.zeros(1, dtype=np.bool_), f, i.copy(), f.copy())
