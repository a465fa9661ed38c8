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
``exp(-stress.response_effect * stress)`` for every channel.

**Reactance** (backfire) acts only where configured: a contact on channel ``c`` loses
``reactance_c * max(stress - stress.reactance_threshold, 0)`` of strength (by default
only third-party contact has a reactance), a contact on a day when the account's
contacts broke a contact rule loses ``breach_reactance``, and a call to a borrower
called more than ``frequency_threshold_7d`` times in 7 days loses
``frequency_reactance`` per call above it. Enough of it turns a contact negative.

**Credibility.** A delivered contact on a channel with ``credibility_lift`` (a legal
warning, a filed lawsuit) lifts the borrower's willingness toward 1 by that share for
``credibility_days``: ``w -> w + lift * (1 - w)``, in the contact responses and in the
borrower's own repayment intensity. A won judgment under enforcement does the same
for the enforcement period (:meth:`StandardResponse.credible`).

**Competing creditors.** A late borrower's money goes more and more to other creditors
and spending: this lender's share of it is ``exp(-competition_rate * age)``, with
``age`` the days since entry, less the priority that contacts bought back: a
delivered contact on a channel with ``priority_gain`` g sets ``age -> (1 - g) * age``.
The share multiplies the borrower's own repayment intensity and every contact's
strength, so waiting has a cost and the lender who presses is paid first.

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

import math
from typing import Any

import numpy as np

from collectsim.behaviour import response_kernels as K
from collectsim.behaviour.base import params_from
from collectsim.behaviour.response import Borrowers, Contacts, Response
from collectsim.channels import ChannelTable
from collectsim.distributions import quantile, sample
from collectsim.jit import compiled_steps, keeps_methods
from collectsim.portfolio import Portfolio
from collectsim.random_streams import RandomStreams
from collectsim.scenario_types import ConversationConfig, StressConfig

_NO_ATTEMPTS = np.zeros(0, dtype=np.int32)  # attempts_7d for the compiled step when not known

#: The methods the compiled steps stand in for (a subclass overriding one runs the NumPy path).
_STEP_METHODS = ("willingness_eff", "strength", "lift", "share", "_remember", "_converse")

#: The response node's own parameters (``response.<name>``), see the module docstring.
PARAMS = ("competition_rate", "breach_reactance", "frequency_threshold_7d", "frequency_reactance")


class StandardResponse:
    """The default response model; see the module docstring for the equations.

    Its coefficients are the ``stress`` and ``conversation`` config groups (typed
    schemas), the channels' own settings, and the ``response`` node's parameters
    :data:`PARAMS` (all 0 when not given: no competition, no breach or frequency
    reactance).
    """

    def __init__(
        self,
        stress: StressConfig,
        conversation: ConversationConfig,
        *,
        competition_rate: float = 0.0,
        breach_reactance: float = 0.0,
        frequency_threshold_7d: float = math.inf,
        frequency_reactance: float = 0.0,
    ) -> None:
        self.stress_cfg = stress
        self.cv = conversation
        self.avoidance = stress.contactability_effect
        self.competition_rate = competition_rate
        self.breach_reactance = breach_reactance
        self.frequency_threshold_7d = frequency_threshold_7d
        self.frequency_reactance = frequency_reactance

    @classmethod
    def from_config(
        cls, params: dict[str, Any], key: str, *, stress: StressConfig, conversation: ConversationConfig, **_: Any
    ) -> StandardResponse:
        from collectsim.errors import ConfigError

        # Every parameter is optional (0: the mechanism is off); a given one is a number >= 0.
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise ConfigError(f"{key}.{unknown[0]} is not a known key; allowed keys: {', '.join(PARAMS)}")
        p = params_from(params, key, tuple(params))
        for name, v in p.items():
            if v < 0:
                raise ConfigError(f"{key}.{name} must be >= 0, got {v:g}")
        return cls(stress, conversation, **p)

    # ------------------------------------------------------------------ set-up
    def start(self, portfolio: Portfolio, streams: RandomStreams, channels: ChannelTable) -> None:
        self.pf = portfolio
        self.ch = channels
        self.rng_complaint = streams.outcomes("complaints", portfolio.n)
        self.rng_conv = streams.outcomes("conversation", portfolio.n)
        self._days_rng = streams["conversation"]
        self.keep = np.zeros(portfolio.n, dtype=bool)  # the pending promise will be kept
        self.adherence = np.zeros(portfolio.n)  # chance of paying each plan instalment
        self.cred_until = np.full(portfolio.n, -np.inf)  # a credible threat lasts until then
        self.cred_lift = np.zeros(portfolio.n)  # ... lifting willingness toward 1 by this share
        self.origin = portfolio.entry_time.copy()  # age (competing creditors) counts from here
        # Respond in compiled steps (same results), unless a subclass changed a step.
        self._steps = compiled_steps() and keeps_methods(self, StandardResponse, _STEP_METHODS)
        self._cv = np.array([float(getattr(self.cv, k)) for k in K.CV])  # for the compiled steps

    def contact_stress(self, channel: int, harshness: float) -> float:
        return float(self.ch.stress_increment[channel] * harshness)

    # ------------------------------------------------------------------ lasting effects
    def lift(self, idx: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        """The credibility lift on willingness of accounts ``idx`` at ``t`` (0 when none)."""
        return np.where(t < self.cred_until[idx], self.cred_lift[idx], 0.0)

    def share(self, idx: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        """This lender's share of the borrower's repayment capacity at ``t`` (1 without
        competing creditors)."""
        if not self.competition_rate:
            return np.ones(np.size(idx))
        return np.exp(-self.competition_rate * np.maximum(t - self.origin[idx], 0.0))

    def credible(self, idx: np.ndarray, t: float, lift: float, days: float) -> None:
        """From ``t`` a credible threat (enforcement of a judgment) lifts willingness by
        ``lift`` for ``days``; ``lift`` 0 ends any such threat."""
        self.cred_lift[idx] = lift
        self.cred_until[idx] = t + days if lift > 0 else -np.inf

    # ------------------------------------------------------------------ contacts
    def willingness_eff(self, borrowers: Borrowers, lift: np.ndarray | float = 0.0) -> np.ndarray:
        """Willingness lowered by stress (pressure crowds out the intention to pay) and
        lifted by a credible threat."""
        w = borrowers.willingness * np.exp(-self.stress_cfg.willingness_effect * borrowers.stress)
        return w + lift * (1.0 - w)

    def strength(self, contacts: Contacts, borrowers: Borrowers, w_eff: np.ndarray) -> np.ndarray:
        """Response strength of each contact (0 when it did not reach the borrower)."""
        ch, code, cfg = self.ch, contacts.channel, self.stress_cfg
        raw = ch.impulse[code] * borrowers.ability ** ch.ability_exp[code] * w_eff ** ch.willingness_exp[code]
        raw = raw * contacts.skill * self.share(contacts.idx, contacts.time)
        s = borrowers.stress
        if cfg.response_effect:
            # Stress weakens the response to every channel, firm and legal ones included.
            raw = raw * np.exp(-cfg.response_effect * s)
        # Reactance, only where configured: past the threshold more pressure on a
        # channel with a reactance setting lowers repayment.
        raw = raw - ch.reactance[code] * np.maximum(s - cfg.reactance_threshold, 0.0)
        if self.breach_reactance and borrowers.breached is not None:
            raw = raw - self.breach_reactance * borrowers.breached
        if self.frequency_reactance and borrowers.attempts_7d is not None:
            over = np.maximum(borrowers.attempts_7d - self.frequency_threshold_7d, 0.0)
            raw = raw - np.where(ch.is_call[code], self.frequency_reactance * over, 0.0)
        return np.where(contacts.connected, raw, 0.0)

    def willingness_factor(self, idx: np.ndarray, t: float, stress: np.ndarray) -> np.ndarray:
        """The factor on the willingness in the borrower's own repayment intensity:
        stress lowers it (``exp(-stress.intensity_effect * stress)``), a credible threat
        lifts it toward 1, and this lender's share of the borrower's money scales it."""
        if self._steps and idx.dtype == np.int64:
            e_w = np.exp(-self.stress_cfg.intensity_effect * stress)
            x, f = np.empty(idx.size), np.empty(idx.size)
            if self.competition_rate:
                K.share_step(idx, t, self.origin, -self.competition_rate, x)
                np.exp(x, out=x)
            K.factor_step(idx, t, self.pf.willingness, e_w, self.cred_until, self.cred_lift, x,
                          bool(self.competition_rate), f)  # fmt: skip
            return f
        w = self.pf.willingness[idx]
        ws = w * np.exp(-self.stress_cfg.intensity_effect * stress)
        lifted = ws + self.lift(idx, t) * (1.0 - ws)
        return lifted / np.maximum(w, 1e-12) * self.share(idx, t)

    def _remember(self, contacts: Contacts) -> None:
        """Lasting effects of delivered contacts: credibility and creditor priority."""
        ch, code, idx, t = self.ch, contacts.channel, contacts.idx, contacts.time
        got = contacts.connected
        lift = ch.credibility_lift[code]
        m = got & (lift > 0)
        if m.any():
            i = idx[m]
            active = np.where(t[m] < self.cred_until[i], self.cred_lift[i], 0.0)
            self.cred_lift[i] = np.maximum(active, lift[m])
            self.cred_until[i] = np.maximum(self.cred_until[i], t[m] + ch.credibility_days[code[m]])
        gain = ch.priority_gain[code]
        m = got & (gain > 0)
        if m.any() and self.competition_rate:
            i = idx[m]
            age = np.maximum(t[m] - self.origin[i], 0.0)
            self.origin[i] = t[m] - (1.0 - gain[m]) * age

    def respond(self, contacts: Contacts, borrowers: Borrowers) -> Response:
        if self._steps and contacts.idx.dtype == np.int64:
            return self._respond_compiled(contacts, borrowers)
        idx, t = contacts.idx, contacts.time
        w_eff = self.willingness_eff(borrowers, self.lift(idx, t))
        strength = self.strength(contacts, borrowers, w_eff)
        self._remember(contacts)
        p = np.clip(
            self.ch.complaint_prob[contacts.channel] * (1.0 + self.stress_cfg.complaint_effect * borrowers.stress),
            0.0,
            1.0,
        )
        complaint = contacts.connected & (self.rng_complaint.random(contacts.idx) < p)
        out = Response.none(strength, complaint)
        # A conversation needs the borrower on the line (not a third party).
        code = contacts.channel
        conv = np.flatnonzero(self.ch.is_agent[code] & ~self.ch.third_party[code] & contacts.connected)
        if conv.size:
            self._converse(conv, contacts, borrowers, w_eff, out)
        return out

    def _respond_compiled(self, c: Contacts, b: Borrowers) -> Response:
        """:meth:`respond` in compiled steps between NumPy's exp and powers (and the
        draws, in the same order): the same bits."""
        ch, cfg, idx, t, code = self.ch, self.stress_cfg, c.idx, c.time, c.channel
        n = idx.size
        w_eff, x = np.empty(n), np.empty(n)
        e_w = np.exp(-cfg.willingness_effect * b.stress)
        K.willingness_step(idx, t, b.willingness, e_w, self.cred_until, self.cred_lift, self.origin,
                           -self.competition_rate, w_eff, x)  # fmt: skip
        pw_ability = b.ability ** ch.ability_exp[code]
        pw_willing = w_eff ** ch.willingness_exp[code]
        share = np.exp(x, out=x) if self.competition_rate else x
        e_stress = np.exp(-cfg.response_effect * b.stress) if cfg.response_effect else x
        breach = self.breach_reactance if b.breached is not None else 0.0
        freq = self.frequency_reactance if b.attempts_7d is not None else 0.0
        strength = np.empty(n)
        K.strength_step(
            code, c.connected, c.skill, b.stress, ch.impulse, ch.reactance, ch.is_call, pw_ability, pw_willing,
            share, bool(self.competition_rate), e_stress, bool(cfg.response_effect), cfg.reactance_threshold,
            b.breached if breach else c.connected, breach, b.attempts_7d if freq else _NO_ATTEMPTS,
            self.frequency_threshold_7d, freq, strength,
        )  # fmt: skip
        K.remember_step(idx, t, code, c.connected, ch.credibility_lift, ch.credibility_days, ch.priority_gain,
                        bool(self.competition_rate), self.cred_until, self.cred_lift, self.origin)  # fmt: skip
        complaint = np.empty(n, dtype=bool)
        u = self.rng_complaint.random(idx)
        K.complaint_step(code, c.connected, b.stress, ch.complaint_prob, cfg.complaint_effect, u, complaint)
        out = Response.none(strength, complaint)
        conv = np.flatnonzero(ch.is_agent[code] & ~ch.third_party[code] & c.connected)
        if conv.size:
            cv = self.cv
            ci, skill, cc = idx[conv], c.skill[conv], code[conv]
            u_plan, u_deal, u_keep, days = self._conversation_draws(ci)
            K.converse_step(
                conv, ci, code, c.discount, b.stress, b.ability, w_eff, b.can_commit, b.in_hardship, ch.firm,
                skill**cv.hardship_disclosure_skill, skill**cv.ptp_skill_effect, b.ability[conv] ** ch.ability_exp[cc],
                w_eff[conv] ** ch.willingness_exp[cc], u_plan, u_deal, u_keep, days, self.pf.ability, self._cv, self.adherence, self.keep, out.promise_days, out.promise_share, out.settled,
                out.plan_instalments, out.hardship_disclosed,
            )  # fmt: skip
        return out

    def _conversation_draws(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The draws of conversations with accounts ``idx``, in their order: whether a
        plan, a deal and a kept promise come about, and the promise's days."""
        cv, rng = self.cv, self.rng_conv
        u_plan, u_deal, u_keep = rng.random(idx), rng.random(idx), rng.random(idx)
        # Sequential draws take the promise's days from the stream itself (as before
        # keyed draws existed); keyed ones from the account's own uniform.
        raw = (
            quantile(cv.promise_days, rng.random(idx))
            if rng.keyed
            else sample(cv.promise_days, self._days_rng, idx.size)
        )
        return u_plan, u_deal, u_keep, np.ceil(np.maximum(raw, 1.0))

    def _converse(self, sel: np.ndarray, c: Contacts, b: Borrowers, w_eff_all: np.ndarray, out: Response) -> None:
        """Outcomes of the connected agent calls ``sel`` (positions in the step)."""
        cv, ch = self.cv, self.ch
        idx, skill, code = c.idx[sel], c.skill[sel], c.channel[sel]
        discount, stress, ability, w_eff = c.discount[sel], b.stress[sel], b.ability[sel], w_eff_all[sel]
        free = b.can_commit[sel]
        u_plan, u_deal, u_keep, days = self._conversation_draws(idx)
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
        return self.rng_conv.random(idx) < self.adherence[idx]
