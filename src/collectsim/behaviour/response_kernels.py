"""The standard response model's compiled steps (:mod:`collectsim.behaviour.standard_response`
uses them when the kernels run compiled).

Each step is the scalar form of the model's array expressions, in the same order, so
every result is the same to the bit as the NumPy path; ``exp`` and powers stay NumPy's,
computed between the steps, and so do the draws. ``np.maximum(x, y)`` is written
``y if x < y else x`` and ``np.clip(x, lo, hi)`` ``lo if x < lo else (hi if x > hi else x)``
(the same wherever the bounds are not NaN). No step calls another kernel (Numba's cache
cannot go stale).
"""

from __future__ import annotations

import math

import numpy as np

from collectsim.jit import njit


@njit(cache=True, _nrt=False)
def willingness_step(
    idx: np.ndarray,
    t: np.ndarray,
    willingness: np.ndarray,
    e_w: np.ndarray,
    cred_until: np.ndarray,
    cred_lift: np.ndarray,
    origin: np.ndarray,
    neg_rate: float,
    w_eff: np.ndarray,
    x_share: np.ndarray,
) -> None:
    """Willingness lowered by stress (``e_w``: its factor) and lifted by a credible threat;
    the exponent of this lender's share of the borrower's money (``neg_rate * age``)."""
    for j in range(idx.size):
        i = idx[j]
        w = willingness[j] * e_w[j]
        lift = cred_lift[i] if t[j] < cred_until[i] else 0.0
        w_eff[j] = w + lift * (1.0 - w)
        age = t[j] - origin[i]
        x_share[j] = neg_rate * (0.0 if age < 0.0 else age)


@njit(cache=True, _nrt=False)
def strength_step(
    code: np.ndarray,
    connected: np.ndarray,
    skill: np.ndarray,
    stress: np.ndarray,
    impulse: np.ndarray,
    reactance: np.ndarray,
    is_call: np.ndarray,
    pw_ability: np.ndarray,
    pw_willing: np.ndarray,
    share: np.ndarray,
    use_share: bool,
    e_stress: np.ndarray,
    use_stress: bool,
    threshold: float,
    breached: np.ndarray,
    breach_reactance: float,
    attempts_7d: np.ndarray,
    frequency_threshold: float,
    frequency_reactance: float,
    out: np.ndarray,
) -> None:
    """Response strength of each contact (0 when it did not reach the borrower);
    ``breach_reactance`` and ``frequency_reactance`` 0 leave their terms out."""
    for j in range(code.size):
        c = code[j]
        raw = impulse[c] * pw_ability[j] * pw_willing[j]
        raw = raw * skill[j] * (share[j] if use_share else 1.0)
        if use_stress:
            raw = raw * e_stress[j]
        over = stress[j] - threshold
        raw = raw - reactance[c] * (0.0 if over < 0.0 else over)
        if breach_reactance:
            raw = raw - breach_reactance * (1.0 if breached[j] else 0.0)
        if frequency_reactance:
            extra = attempts_7d[j] - frequency_threshold
            extra = 0.0 if extra < 0.0 else extra
            raw = raw - (frequency_reactance * extra if is_call[c] else 0.0)
        out[j] = raw if connected[j] else 0.0


@njit(cache=True, _nrt=False)
def remember_step(
    idx: np.ndarray,
    t: np.ndarray,
    code: np.ndarray,
    connected: np.ndarray,
    credibility_lift: np.ndarray,
    credibility_days: np.ndarray,
    priority_gain: np.ndarray,
    competition: bool,
    cred_until: np.ndarray,
    cred_lift: np.ndarray,
    origin: np.ndarray,
) -> None:
    """Lasting effects of delivered contacts: credibility and creditor priority."""
    for j in range(idx.size):
        if not connected[j]:
            continue
        i, c, tj = idx[j], code[j], t[j]
        lift = credibility_lift[c]
        if lift > 0:
            active = cred_lift[i] if tj < cred_until[i] else 0.0
            cred_lift[i] = lift if active < lift else active
            end = tj + credibility_days[c]
            cred_until[i] = end if cred_until[i] < end else cred_until[i]
        gain = priority_gain[c]
        if gain > 0 and competition:
            age = tj - origin[i]
            age = 0.0 if age < 0.0 else age
            origin[i] = tj - (1.0 - gain) * age


@njit(cache=True, _nrt=False)
def complaint_step(
    code: np.ndarray,
    connected: np.ndarray,
    stress: np.ndarray,
    complaint_prob: np.ndarray,
    effect: float,
    u: np.ndarray,
    out: np.ndarray,
) -> None:
    """Whether each delivered contact draws a complaint."""
    for j in range(code.size):
        p = complaint_prob[code[j]] * (1.0 + effect * stress[j])
        p = 0.0 if p < 0.0 else (1.0 if p > 1.0 else p)
        out[j] = connected[j] and u[j] < p


@njit(cache=True, _nrt=False)
def converse_step(
    sel: np.ndarray,
    idx: np.ndarray,
    code: np.ndarray,
    discount: np.ndarray,
    stress: np.ndarray,
    ability: np.ndarray,
    w_eff: np.ndarray,
    free: np.ndarray,
    in_hardship: np.ndarray,
    firm: np.ndarray,
    pw_disclose: np.ndarray,
    pw_ptp: np.ndarray,
    pw_ability: np.ndarray,
    pw_willing: np.ndarray,
    u_plan: np.ndarray,
    u_deal: np.ndarray,
    u_keep: np.ndarray,
    days: np.ndarray,
    latent: np.ndarray,
    cv: np.ndarray,
    adherence: np.ndarray,
    keep: np.ndarray,
    promise_days: np.ndarray,
    promise_share: np.ndarray,
    settled: np.ndarray,
    plan_instalments: np.ndarray,
    hardship_disclosed: np.ndarray,
) -> None:
    """Outcomes of the connected agent calls at positions ``sel`` of the step (the
    ``pw_*`` and draws are per call, the rest per contact of the step; ``cv`` the
    conversation parameters in the order of :data:`CV`)."""
    disc_soft, disc_firm, pi, adh_base, adh_ability = cv[0], cv[1], cv[2], cv[3], cv[4]
    acc_base, acc_discount, ptp_base, k_base, k_ability, k_willing, k_stress, settle_days = (
        cv[5], cv[6], cv[7], cv[8], cv[9], cv[10], cv[11], cv[12],
    )  # fmt: skip
    for q in range(sel.size):
        j = sel[q]
        d = discount[j]
        disclose = (disc_firm if firm[code[j]] else disc_soft) * pw_disclose[q]
        plan = free[j] and in_hardship[j] and u_plan[q] < disclose
        if plan:
            lat = latent[idx[q]]
            k = float(math.ceil(pi * 0.5 / (0.05 if lat < 0.05 else lat)))
            k = 1.0 if k < 1.0 else (3.0 * pi if k > 3.0 * pi else k)
            plan_instalments[j] = np.int64(k)
            hardship_disclosed[j] = True
            a = adh_base + adh_ability * (lat - 0.5)
            adherence[idx[q]] = 0.0 if a < 0.0 else (1.0 if a > 1.0 else a)
        rest = free[j] and not plan
        offer = rest and d > 0
        ab = ability[j]
        accept = (acc_base + acc_discount * d) * ab
        accept = 0.0 if accept < 0.0 else (1.0 if accept > 1.0 else accept)
        settle = offer and u_deal[q] < accept
        p_ptp = ptp_base * pw_ptp[q] * pw_ability[q] * pw_willing[q]
        p_ptp = 0.0 if p_ptp < 0.0 else (1.0 if p_ptp > 1.0 else p_ptp)
        ptp = rest and not offer and u_deal[q] < p_ptp
        if settle or ptp:
            kp = k_base + k_ability * (ab - 0.5) + k_willing * (w_eff[j] - 0.5) - k_stress * stress[j]
            kp = 0.0 if kp < 0.0 else (1.0 if kp > 1.0 else kp)
            promise_days[j] = settle_days if settle else days[q]
            promise_share[j] = 1.0 - d if settle else 1.0
            settled[j] = settle
            keep[idx[q]] = u_keep[q] < kp


@njit(cache=True, _nrt=False)
def share_step(idx: np.ndarray, t: float, origin: np.ndarray, neg_rate: float, x: np.ndarray) -> None:
    """The exponent of this lender's share of each borrower's money at ``t``."""
    for j in range(idx.size):
        age = t - origin[idx[j]]
        x[j] = neg_rate * (0.0 if age < 0.0 else age)


@njit(cache=True, _nrt=False)
def factor_step(
    idx: np.ndarray,
    t: float,
    willingness: np.ndarray,
    e_w: np.ndarray,
    cred_until: np.ndarray,
    cred_lift: np.ndarray,
    share: np.ndarray,
    use_share: bool,
    out: np.ndarray,
) -> None:
    """The factor on willingness in the borrowers' own repayment intensity (``e_w``: the
    stress factor, ``share``: this lender's share)."""
    for j in range(idx.size):
        i = idx[j]
        w = willingness[i]
        ws = w * e_w[j]
        lift = cred_lift[i] if t < cred_until[i] else 0.0
        lifted = ws + lift * (1.0 - ws)
        out[j] = lifted / (1e-12 if w < 1e-12 else w) * (share[j] if use_share else 1.0)


#: The conversation parameters :func:`converse_step` reads, in its order.
CV = (
    "hardship_disclosure_soft",
    "hardship_disclosure_firm",
    "plan_instalments",
    "plan_adherence_base",
    "plan_adherence_ability",
    "settlement_accept_base",
    "settlement_accept_discount",
    "ptp_base",
    "keep_base",
    "keep_ability",
    "keep_willingness",
    "keep_stress",
    "settlement_days",
)


def warm() -> None:
    """Compile (or load) the steps on arrays of the types a run hands them."""
    i, f, b = np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros(1, dtype=np.bool_)
    a7 = np.zeros(1, dtype=np.int32)
    willingness_step(i, f, f, f, f, f, f, 0.0, f.copy(), f.copy())
    strength_step(i, b, f, f, f, f, b, f, f, f, True, f, True, 0.0, b, 0.0, a7, 0.0, 0.0, f.copy())
    remember_step(i, f, i, b, f, f, f, True, f.copy(), f.copy(), f.copy())
    complaint_step(i, b, f, f, 0.0, f, b.copy())
    share_step(i, 1.0, f, -1.0, f.copy())
    factor_step(i, 1.0, f, f, f, f, f, True, f.copy())
    converse_step(
        i, i, i, f, f, f, f, b, b, b, f, f, f, f, f, f, f, f, f, np.zeros(len(CV)), f.copy(), b.copy(), f.copy(),
        f.copy(), b.copy(), i.copy(), b.copy(),
    )  # fmt: skip
