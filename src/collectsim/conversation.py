"""What a connected collector call ends in: a repayment plan, a settlement, a promise
to pay, or nothing.

For a borrower in a hardship shock, the collector learns of it with probability
``hardship_disclosure_soft`` (soft tone) or ``hardship_disclosure_firm`` (firm tone),
times ``skill ** hardship_disclosure_skill``, and a plan of equal instalments every
``plan_interval_days`` is set up (interest frozen while it runs), sized to the
borrower's ability: ``ceil(plan_instalments * 0.5 / ability)`` instalments, between 1
and ``3 * plan_instalments``.
Otherwise a settlement offer (if the policy made one with discount ``q``) is accepted
with probability ``(settlement_accept_base + settlement_accept_discount * q) * ability``,
or the borrower promises to pay the balance with probability
``ptp_base * skill ** ptp_skill_effect * ability ** a * willingness_eff ** w``, where
``a`` and ``w`` are the call channel's ``ability_exp`` and ``willingness_exp``: a soft
call wins promises from willing borrowers, a firm one from able borrowers. A promise is
kept with probability::

    keep_base + keep_ability * (ability - 0.5) + keep_willingness * (willingness_eff - 0.5)
        - keep_stress * stress

(all probabilities clipped to [0, 1]).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from collectsim.actions import Action
from collectsim.distributions import sample

if TYPE_CHECKING:
    from collectsim.engine import Simulation


def converse(
    sim: Simulation,
    idx: np.ndarray,
    t: np.ndarray,
    skill: np.ndarray,
    action: np.ndarray,
    discount: np.ndarray,
    stress: np.ndarray,
    ability: np.ndarray,
    w_eff: np.ndarray,
) -> None:
    """Apply the outcomes of connected calls (one per account) at times ``t``."""
    cv, st, pf = sim.sc.conversation, sim.st, sim.pf
    rng = sim.rng_conv
    # Only accounts free of a plan or a pending promise can take on a new one.
    free = ~st.plan_active[idx] & (st.promise_due[idx] == np.inf)
    u_plan, u_deal, u_keep = rng.random(idx.size), rng.random(idx.size), rng.random(idx.size)
    days = np.ceil(np.maximum(sample(cv.promise_days, rng, idx.size), 1.0))
    soft = action == int(Action.SOFT_CALL)
    disclose = (
        np.where(soft, cv.hardship_disclosure_soft, cv.hardship_disclosure_firm) * skill**cv.hardship_disclosure_skill
    )
    hardship = t < pf.hardship_end[idx]
    plan = free & hardship & (u_plan < disclose)
    if plan.any():
        p = idx[plan]
        # Instalments sized to ability: plan_instalments for a borrower of ability 0.5,
        # more and smaller ones below, fewer above (at least 1, at most 3x).
        n = np.clip(np.ceil(cv.plan_instalments * 0.5 / np.maximum(pf.ability[p], 0.05)), 1, 3 * cv.plan_instalments)
        st.plan_active[p] = True
        st.plans_started[p] += 1
        st.plan_left[p] = n.astype(np.int32)
        st.plan_misses[p] = 0
        st.plan_instalment[p] = st.balance[p] / n
        st.plan_next_due[p] = np.floor(t[plan]) + cv.plan_interval_days
        st.plan_adherence[p] = np.clip(
            cv.plan_adherence_base + cv.plan_adherence_ability * (pf.ability[p] - 0.5), 0.0, 1.0
        )
    rest = free & ~plan
    offer = rest & (discount > 0)
    accept = np.clip((cv.settlement_accept_base + cv.settlement_accept_discount * discount) * ability, 0.0, 1.0)
    settle = offer & (u_deal < accept)
    ch = sim.sc.channels
    ab_exp = np.where(soft, ch.soft_call.ability_exp, ch.firm_call.ability_exp)
    w_exp = np.where(soft, ch.soft_call.willingness_exp, ch.firm_call.willingness_exp)
    p_ptp = np.clip(cv.ptp_base * skill**cv.ptp_skill_effect * ability**ab_exp * w_eff**w_exp, 0.0, 1.0)
    ptp = rest & ~offer & (u_deal < p_ptp)
    promise = settle | ptp
    if promise.any():
        keep = np.clip(
            cv.keep_base
            + cv.keep_ability * (ability - 0.5)
            + cv.keep_willingness * (w_eff - 0.5)
            - cv.keep_stress * stress,
            0.0,
            1.0,
        )
        p = idx[promise]
        q = np.where(settle[promise], discount[promise], 0.0)
        st.promises[p] += 1
        # A promise is to pay the whole balance (a settlement: 1 - q of it) on the due
        # day, interest accrued until then included.
        st.promise_share[p] = 1.0 - q
        st.promise_discount[p] = q
        st.promise_due[p] = np.floor(t[promise]) + np.where(settle[promise], cv.settlement_days, days[promise])
        st.promise_keep[p] = u_keep[promise] < keep[promise]
