"""The standard response model: contact impulses scaled by ability and stress-lowered
willingness, complaints that rise with stress, and conversations that end in a plan,
a settlement, a promise or nothing.

**Strength.** A delivered contact on channel ``c`` has response strength::

    impulse_c * ability ** ability_exp_c * willingness_eff ** willingness_exp_c * skill

with ``willingness_eff = willingness * exp(-stress.willingness_effect * stress)`` and
``skill`` the collector's skill multiplier (1 without a collector). Stress added at the
contact is ``stress_increment_c * harshness`` per unit of sensitivity.

While stress lasts it also lowers the borrower's own repayment intensity: the
behaviour model sees willingness times ``exp(-stress.intensity_effect * stress)``
(:meth:`StandardResponse.willingness_factor`). A contact's strength is damped by
``exp(-stress.response_effect * stress)`` for every channel, and above
``stress.reactance_threshold`` it loses ``stress.reactance_strength * (stress -
threshold)``: enough pressure makes a contact lower repayment (reactance).

**Complaints.** Each delivered contact draws a complaint with probability
``complaint_prob_c * (1 + stress.complaint_effect * stress)``.

**Conversations** (connected agent calls, for borrowers free of a plan and a pending
promise). For a borrower in a hardship shock, the collector learns of it with
probability ``hardship_disclosure_soft`` (soft tone) or ``hardship_disclosure_firm``
(firm tone), times ``skill ** hardship_disclosure_skill``, and a plan of equal
instalments every ``plan_interval_days`` is set up (interest frozen while it runs),
sized to the borrower's ability: ``ceil(plan_instalments * 0.5 / ability)``
instalments, between 1 and ``3 * plan_instalments``. Otherwise a settlement offer
(discount ``q``) is accepted with probability ``(settlement_accept_base +
settlement_accept_discount * q) * ability``, or the borrower promises to pay the
balance with probability ``ptp_base * skill ** ptp_skill_effect * ability ** a *
willingness_eff ** w`` (``a``, ``w``: the call channel's exponents). A promise is kept
with probability::

    keep_base + keep_ability * (ability - 0.5) + keep_willingness * (willingness_eff - 0.5)
        - keep_stress * stress

drawn when it is made; a plan instalment is paid with probability
``plan_adherence_base + plan_adherence_ability * (ability - 0.5)`` (all probabilities
clipped to [0, 1]).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from collectsim.behaviour.base import params_from
from collectsim.behaviour.response import Borrowers, Contacts, Response
from collectsim.channels import ChannelTable
from collectsim.distributions import sample
from collectsim.portfolio import Portfolio
from collectsim.random_streams import RandomStreams
from collectsim.scenario_types import ConversationConfig, StressConfig


class StandardResponse:
    """The default response model; see the module docstring for the equations.

    Its coefficients are the ``stress`` and ``conversation`` config groups (typed
    schemas); the ``response`` node itself takes no parameters.
    """

    def __init__(self, stress: StressConfig, conversation: ConversationConfig) -> None:
        self.stress_cfg = stress
        self.cv = conversation
        self.avoidance = stress.contactability_effect

    @classmethod
    def from_config(
        cls, params: dict[str, Any], key: str, *, stress: StressConfig, conversation: ConversationConfig, **_: Any
    ) -> StandardResponse:
        params_from(params, key, ())
        return cls(stress, conversation)

    # ------------------------------------------------------------------ set-up
    def start(self, portfolio: Portfolio, streams: RandomStreams, channels: ChannelTable) -> None:
        self.pf = portfolio
        self.ch = channels
        self.rng_complaint = streams["complaints"]
        self.rng_conv = streams["conversation"]
        self.keep = np.zeros(portfolio.n, dtype=bool)  # the pending promise will be kept
        self.adherence = np.zeros(portfolio.n)  # chance of paying each plan instalment

    def contact_stress(self, channel: int, harshness: float) -> float:
        return float(self.ch.stress_increment[channel] * harshness)

    # ------------------------------------------------------------------ contacts
    def willingness_eff(self, borrowers: Borrowers) -> np.ndarray:
        """Willingness lowered by stress: pressure crowds out the intention to pay."""
        return borrowers.willingness * np.exp(-self.stress_cfg.willingness_effect * borrowers.stress)

    def strength(self, contacts: Contacts, borrowers: Borrowers, w_eff: np.ndarray) -> np.ndarray:
        """Response strength of each contact (0 when it did not reach the borrower)."""
        ch, code, cfg = self.ch, contacts.channel, self.stress_cfg
        raw = ch.impulse[code] * borrowers.ability ** ch.ability_exp[code] * w_eff ** ch.willingness_exp[code]
        raw = raw * contacts.skill
        s = borrowers.stress
        if cfg.response_effect:
            # Stress weakens the response to every channel, firm and legal ones included.
            raw = raw * np.exp(-cfg.response_effect * s)
        if cfg.reactance_strength:
            # Reactance: past the threshold more pressure lowers repayment.
            raw = raw - cfg.reactance_strength * np.maximum(s - cfg.reactance_threshold, 0.0)
        return np.where(contacts.connected, raw, 0.0)

    def willingness_factor(self, stress: np.ndarray) -> np.ndarray:
        """The factor stress puts on the willingness in the borrower's own repayment
        intensity while it lasts: ``exp(-stress.intensity_effect * stress)``."""
        return np.exp(-self.stress_cfg.intensity_effect * stress)

    def respond(self, contacts: Contacts, borrowers: Borrowers) -> Response:
        w_eff = self.willingness_eff(borrowers)
        strength = self.strength(contacts, borrowers, w_eff)
        p = np.clip(
            self.ch.complaint_prob[contacts.channel] * (1.0 + self.stress_cfg.complaint_effect * borrowers.stress),
            0.0,
            1.0,
        )
        complaint = contacts.connected & (self.rng_complaint.random(contacts.idx.size) < p)
        out = Response.none(strength, complaint)
        # A conversation needs the borrower on the line (not a third party).
        code = contacts.channel
        conv = np.flatnonzero(self.ch.is_agent[code] & ~self.ch.third_party[code] & contacts.connected)
        if conv.size:
            self._converse(conv, contacts, borrowers, w_eff, out)
        return out

    def _converse(self, sel: np.ndarray, c: Contacts, b: Borrowers, w_eff_all: np.ndarray, out: Response) -> None:
        """Outcomes of the connected agent calls ``sel`` (positions in the step)."""
        cv, ch, rng = self.cv, self.ch, self.rng_conv
        idx, skill, code = c.idx[sel], c.skill[sel], c.channel[sel]
        discount, stress, ability, w_eff = c.discount[sel], b.stress[sel], b.ability[sel], w_eff_all[sel]
        n = idx.size
        free = b.can_commit[sel]
        u_plan, u_deal, u_keep = rng.random(n), rng.random(n), rng.random(n)
        days = np.ceil(np.maximum(sample(cv.promise_days, rng, n), 1.0))
        firm = ch.firm[code]
        disclose = (
            np.where(firm, cv.hardship_disclosure_firm, cv.hardship_disclosure_soft)
            * skill**cv.hardship_disclosure_skill
        )
        plan = free & b.in_hardship[sel] & (u_plan < disclose)
        if plan.any():
            p = idx[plan]
            latent = self.pf.ability[p]
            # Instalments sized to ability: plan_instalments for a borrower of ability
            # 0.5, more and smaller ones below, fewer above (at least 1, at most 3x).
            k = np.clip(np.ceil(cv.plan_instalments * 0.5 / np.maximum(latent, 0.05)), 1, 3 * cv.plan_instalments)
            out.plan_instalments[sel[plan]] = k.astype(np.int64)
            out.hardship_disclosed[sel[plan]] = True
            self.adherence[p] = np.clip(cv.plan_adherence_base + cv.plan_adherence_ability * (latent - 0.5), 0.0, 1.0)
        rest = free & ~plan
        offer = rest & (discount > 0)
        accept = np.clip((cv.settlement_accept_base + cv.settlement_accept_discount * discount) * ability, 0.0, 1.0)
        settle = offer & (u_deal < accept)
        p_ptp = np.clip(
            cv.ptp_base
            * skill**cv.ptp_skill_effect
            * ability ** ch.ability_exp[code]
            * w_eff ** ch.willingness_exp[code],
            0.0,
            1.0,
        )
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
            pos = sel[promise]
            s = settle[promise]
            out.promise_days[pos] = np.where(s, float(cv.settlement_days), days[promise])
            out.promise_share[pos] = np.where(s, 1.0 - discount[promise], 1.0)
            out.settled[pos] = s
            self.keep[idx[promise]] = u_keep[promise] < keep[promise]

    # ------------------------------------------------------------------ due dates
    def promise_kept(self, idx: np.ndarray, time: float, borrowers: Borrowers) -> np.ndarray:
        return self.keep[idx]

    def instalment_paid(self, idx: np.ndarray, time: float, borrowers: Borrowers) -> np.ndarray:
        return self.rng_conv.random(idx.size) < self.adherence[idx]
