"""The simulation engine: one run of a scenario for one replication.

Borrower state lives in NumPy columns (:mod:`collectsim.state`) advanced by one SimPy
process in daily steps; collectors and lawsuits are SimPy processes. A day ``d`` runs:

1. start of day (time ``d``): new accounts enter, promises and plan instalments
   fall due, accounts at the charge-off day are written off, the policy decides,
   terminal actions (lawsuit, outsourcing, sale) start, calls join the work queue;
2. during the day: automated contacts (SMS, voice, letters) go out at their hours
   and agents work the queue inside their shift, every contact checked against the
   contact rules in the order it happens;
3. end of day (time ``d + 1``): the day's contacts are applied at their exact times,
   account by account in time order (the behaviour model first produces the
   repayments that came before each contact), then every account is advanced to
   ``d + 1``, interest accrues and the daily series is recorded.

Repayments therefore happen at exact times; a payment made during the day is posted
overnight, so a collector may still dial an account that paid that morning.
"""

from __future__ import annotations

import gc
import math
import sys
import time as _time
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from collectsim import plugins
from collectsim.actions import CALLS, JUDGMENT, Action
from collectsim.behaviour.base import BehaviourModel, Repayments
from collectsim.collectors import CollectorPool
from collectsim.compliance import Compliance
from collectsim.conversation import converse
from collectsim.distributions import mean_of
from collectsim.legal import LegalPipeline, court_fee
from collectsim.metrics import RunResult, compute_result
from collectsim.policies.base import AccountView, Policy, Requests
from collectsim.portfolio import build_portfolio
from collectsim.random_streams import RandomStreams
from collectsim.scenario import ChannelConfig, Scenario
from collectsim.state import OPEN, AccountState

Progress = Callable[[int, int, int], None]


def build_plugins(scenario: Scenario) -> tuple[BehaviourModel, Policy]:
    """Build (and so validate) the behaviour model and the policy of a scenario."""
    behaviour = plugins.build(scenario.behaviour, "behaviour")
    policy = plugins.build(scenario.policy, "policy")
    return behaviour, policy


def ranks_within(idx: np.ndarray) -> np.ndarray:
    """For each element, how many earlier elements share its value (0, 1, 2, ...)."""
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    start = np.r_[True, s[1:] != s[:-1]]
    group_start = np.maximum.accumulate(np.where(start, np.arange(s.size), 0))
    r = np.empty(idx.size, dtype=np.int64)
    r[order] = np.arange(s.size) - group_start
    return r


class Simulation:
    """One replication of a scenario. Call :meth:`run` once.

    Parameters
    ----------
    scenario : the validated scenario.
    replication : replication number; with ``scenario.simulation.seed`` it seeds every
        random stream.
    progress : optional callback ``(day, last_day, open_accounts)`` called daily.
    record_events : keep a log of every contact (for tests and audits).
    """

    def __init__(
        self, scenario: Scenario, replication: int = 0, *, progress: Progress | None = None, record_events: bool = False
    ) -> None:
        self.sc = scenario
        self.replication = replication
        self.streams = RandomStreams(scenario.simulation.seed, replication)
        self.behaviour, self.policy = build_plugins(scenario)
        self.progress = progress
        self.record_events = record_events
        self.event_log: list[dict[str, np.ndarray]] = []
        self.series: dict[str, list[float]] = {
            k: [] for k in ("day", "collected_cum", "outstanding", "open_accounts", "stress_mean", "backlog")
        }

    # ------------------------------------------------------------------ run
    def run(self) -> RunResult:
        sc = self.sc
        wall0 = _time.perf_counter()
        pf = build_portfolio(sc.portfolio, self.streams)
        self.pf = pf
        self.st = st = AccountState(pf, sc.stress.half_life_days, len(Action))
        st.outsourcing_commission = sc.channels.outsourcing_commission
        self.behaviour.start(pf, self.streams, sc.simulation.horizon_days)
        self.policy.start(pf, self.streams)
        self.env = env = simpy.Environment()
        self.comp = Compliance(sc.compliance, pf.n)
        self.pool = CollectorPool(env, sc, st, self.comp, self.streams["collectors"], sc.stress.contactability_effect)
        self.pool.keep_shift_log = self.record_events
        self.legal = LegalPipeline(env, sc.channels.lawsuit, self.streams["legal"], self._on_filed, self._on_judgment)
        self.rng_contact = self.streams["contacts"]
        self.rng_conv = self.streams["conversation"]
        self.rng_complaint = self.streams["complaints"]
        self._events: list[dict[str, np.ndarray]] = []
        self._channel = {
            int(Action.SMS): sc.channels.sms,
            int(Action.VOICE): sc.channels.voice,
            int(Action.SOFT_CALL): sc.channels.soft_call,
            int(Action.FIRM_CALL): sc.channels.firm_call,
            int(Action.LEGAL_WARNING): sc.channels.legal_warning,
        }
        self._next_entry = 0
        self._entry_day = np.floor(pf.entry_time).astype(np.int64)
        self._all_measured = bool(pf.measured.all())
        self.days_run = 0
        # The portfolio is built and long-lived: keep the garbage collector off it.
        gc.collect()
        gc.freeze()
        try:
            driver = env.process(self._driver())
            self.pool.start()
            env.run(until=driver)
        finally:
            gc.unfreeze()
        wall = _time.perf_counter() - wall0
        return compute_result(self, wall)

    def _driver(self) -> Generator[simpy.Event, Any, None]:
        sc, st, pf = self.sc, self.st, self.pf
        horizon = sc.simulation.horizon_days
        last_day = int(math.floor(pf.entry_time.max())) + horizon + 1 if pf.n else 0
        for d in range(last_day):
            self._start_day(d)
            yield self.env.timeout(1.0)
            self._end_day(d)
            self.days_run = d + 1
            if self.progress is not None:
                self.progress(d, last_day, int((st.status == OPEN).sum()))
            if self._next_entry >= pf.n and not ((st.status == OPEN) & ~st.in_legal).any():
                break
        self.pool.active = False
        # Legal tail: only court outcomes arrive now.
        tail_end = float(self.days_run + sc.simulation.legal_tail_days)
        if self.legal.pending and tail_end > self.env.now:
            yield self.env.timeout(tail_end - self.env.now)
        left = np.flatnonzero(st.status == OPEN)
        if left.size:
            self.behaviour.close(left)
            st.write_off(left, self.env.now)
        self.end_time = self.env.now

    # ------------------------------------------------------------------ start of day
    def _start_day(self, d: int) -> None:
        sc, st, pf = self.sc, self.st, self.pf
        t = float(d)
        # Arrivals: accounts entering during day d become open now (entry sorted).
        hi = int(np.searchsorted(pf.entry_time, d + 1.0, side="left"))
        if hi > self._next_entry:
            st.status[self._next_entry : hi] = OPEN
            self._next_entry = hi
        self.comp.new_day(d)
        if sc.collectors.backlog == "drop":
            st.pending_call[self.pool.queue.clear()] = False
        self._promises_due(t)
        self._plans_due(t)
        # Charge-off at the horizon (accounts in court wait for their judgment). Entry
        # times are sorted, so only a prefix of the accounts can be due.
        h = sc.simulation.horizon_days
        k = int(np.searchsorted(pf.entry_time, t - h + 1e-6, side="right"))
        due = np.flatnonzero((st.status[:k] == OPEN) & ~st.in_legal[:k] & (pf.entry_time[:k] + h <= t))
        if due.size:
            self.behaviour.close(due)
            st.write_off(due, t)
        view = self.view(d)
        req = self.policy.decide(view)
        st.broken_flag[:] = False
        st.failed_streak[req.idx[np.isin(req.action, [int(Action.LEGAL_WARNING), int(Action.LAWSUIT)])]] = 0
        self._execute(req, view, d)
        # The team is on duty (and paid) on every day that starts with calls to make.
        if self.pool.queue and st.pending_call.any():
            self.pool.duty_days += 1
        self.pool.refresh_callable()

    def view(self, d: int) -> AccountView:
        st, pf = self.st, self.pf
        dpd = (d + 1) - self._entry_day
        return AccountView(
            day=d,
            workable=st.workable(),
            dpd=dpd,
            balance=st.balance,
            principal=pf.principal,
            score=pf.score,
            segment=pf.segment,
            promise_pending=st.promise_due < np.inf,
            in_plan=st.plan_active,
            broken_promise_today=st.broken_flag,
            failed_streak=st.failed_streak,
            attempts=st.attempts,
            conversations=st.conversations,
            actions_done=st.actions_done,
            last_action_day=st.last_action_day,
            expected_minutes_connected=mean_of(self.sc.collectors.connected_minutes),
            expected_minutes_no_answer=mean_of(self.sc.collectors.no_answer_minutes),
        )

    def _execute(self, req: Requests, view: AccountView, d: int) -> None:
        sc, st = self.sc, self.st
        # Whatever a policy asks, only workable accounts are contacted.
        ok = view.workable[req.idx]
        if not ok.all():
            req = Requests(req.idx[ok], req.action[ok], req.discount[ok])
        ch = sc.channels
        for code in (Action.SMS, Action.VOICE, Action.LEGAL_WARNING):
            m = req.action == int(code)
            if m.any():
                t = float(d) + self._channel[int(code)].hour / 24.0
                self.env.process(self._send_at(t, req.idx[m], code, view))
        m = req.action == int(Action.LAWSUIT)
        if m.any():
            idx = req.idx[m]
            st.in_legal[idx] = True
            st.count_action(idx, Action.LAWSUIT, d)
            self.legal.file(idx)
        m = req.action == int(Action.OUTSOURCE)
        if m.any():
            idx = req.idx[m]
            st.outsourced[idx] = True
            st.count_action(idx, Action.OUTSOURCE, d)
        m = req.action == int(Action.DEBT_SALE)
        if m.any():
            idx = req.idx[m]
            st.count_action(idx, Action.DEBT_SALE, d)
            self.behaviour.close(idx)
            st.sell(idx, float(d), ch.debt_sale_price_fraction)
        m = np.isin(req.action, [int(a) for a in CALLS]) & ~st.pending_call[req.idx]
        if m.any():
            idx = req.idx[m]
            keys = self.policy.priority(view, idx)
            st.pending_call[idx] = True
            self.pool.queue.push_many(keys, idx, req.action[m], req.discount[m])

    def _send_at(self, t: float, idx: np.ndarray, code: Action, view: AccountView) -> Generator[simpy.Event, Any, None]:
        """Send automated contacts at their hour, in time order with the agents' calls."""
        yield self.env.timeout(t - self.env.now)
        self._automated(idx, code, t, view)

    def _automated(self, idx: np.ndarray, code: Action, t: float, view: AccountView) -> None:
        """SMS, automated voice calls and warning letters, sent at their hour."""
        st, pf, comp = self.st, self.pf, self.comp
        ch: ChannelConfig = self._channel[int(code)]
        is_voice = code == Action.VOICE
        if code != Action.LEGAL_WARNING:  # letters go by post, not subject to call hours
            idx = idx[comp.filter(idx, t, is_call=is_voice)]
        if is_voice and idx.size > self.sc.channels.voice_lines_per_day:
            # The dialler has limited lines: the policy's queue order decides who is called.
            order = np.argsort(self.policy.priority(view, idx), kind="stable")
            idx = np.sort(idx[order[: self.sc.channels.voice_lines_per_day]])
        if idx.size == 0:
            return
        st.count_action(idx, code, int(t))
        st.contacts[idx] += 1
        cost_key = {Action.SMS: "sms", Action.VOICE: "voice", Action.LEGAL_WARNING: "letters"}[code]
        st.cost[cost_key][idx] += ch.cost_yuan
        if is_voice:
            s_now = st.stress_at(idx, t)
            c_eff = pf.contactability[idx] * np.exp(-self.sc.stress.contactability_effect * s_now)
            connected = self.rng_contact.random(idx.size) < c_eff
            comp.record_attempts(idx, t, connected)
            st.voice_attempts[idx] += 1
        else:
            connected = np.ones(idx.size, dtype=bool)
        inc = np.where(connected, ch.stress_increment * pf.sensitivity[idx], 0.0)
        s = st.add_stress(idx, np.full(idx.size, t), inc)
        self._events.append(_event(idx, np.full(idx.size, t), int(code), connected, s, self.pool.sequence(idx.size)))

    def _promises_due(self, t: float) -> None:
        st = self.st
        due = np.flatnonzero(st.promise_due <= t)
        if due.size == 0:
            return
        st.promise_due[due] = np.inf
        kept = due[st.promise_keep[due]]
        broken = due[~st.promise_keep[due]]
        st.broken_flag[broken] = True
        if kept.size:
            st.promises_kept[kept] += 1
            share = st.promise_share[kept]
            cured = st.pay(kept, share * st.balance[kept], t)
            # A settlement paid in full gives up the rest of the balance.
            rest = kept[(share < 1.0) & (st.status[kept] == OPEN)]
            if rest.size:
                st.forgive(rest, st.balance[rest])
                cured = np.concatenate([cured, st.pay(rest, np.zeros(rest.size), t)])
            self.behaviour.close(cured)
        st.promise_discount[due] = 0.0

    def _plans_due(self, t: float) -> None:
        st, cv = self.st, self.sc.conversation
        due = np.flatnonzero(st.plan_active & (st.plan_next_due <= t))
        if due.size == 0:
            return
        paid = self.rng_conv.random(due.size) < st.plan_adherence[due]
        payers = due[paid]
        last = st.plan_left[payers] <= 1
        amount = np.where(last, st.balance[payers], st.plan_instalment[payers])
        st.plan_left[payers] -= 1
        self.behaviour.close(st.pay(payers, amount, t))
        missed = due[~paid]
        st.plan_misses[missed] += 1
        broke = missed[st.plan_misses[missed] >= cv.plan_max_misses]
        st.plan_active[broke] = False
        st.plan_next_due[broke] = np.inf
        st.broken_flag[broke] = True
        going = due[st.plan_active[due]]
        st.plan_next_due[going] += cv.plan_interval_days

    # ------------------------------------------------------------------ end of day
    def _end_day(self, d: int) -> None:
        sc, st, pf = self.sc, self.st, self.pf
        ev = self._collect_events()
        if ev["idx"].size:
            rank = ranks_within(ev["idx"])
            for r in range(int(rank.max()) + 1):
                sel = np.flatnonzero(rank == r)
                self._apply_contacts({k: v[sel] for k, v in ev.items()})
        self._apply_repayments(self.behaviour.advance(None, float(d + 1)))
        open_idx = np.flatnonzero(st.status == OPEN)
        accrue = open_idx[~st.plan_active[open_idx]]
        st.accrue_interest(accrue, 1.0, sc.portfolio.penalty_multiplier)
        s = st.stress_at(open_idx, float(d + 1))
        st.stress_sum[open_idx] += s
        st.open_days[open_idx] += 1
        st.distress_days[open_idx[s > sc.stress.distress_threshold]] += 1
        backlog = int((st.pending_call & (st.status == OPEN)).sum())
        ser = self.series
        ser["day"].append(d + 1)
        if self._all_measured:
            ser["collected_cum"].append(float(st.collected.sum() + st.sale_proceeds.sum()))
            ser["outstanding"].append(float(st.balance.sum()))
        else:  # the series, like the KPIs, leave out warm-up arrivals
            m = pf.measured
            ser["collected_cum"].append(float(st.collected[m].sum() + st.sale_proceeds[m].sum()))
            ser["outstanding"].append(float(st.balance[m].sum()))
        ser["open_accounts"].append(float(open_idx.size))
        ser["stress_mean"].append(float(s.mean()) if s.size else 0.0)
        ser["backlog"].append(float(backlog))

    def _collect_events(self) -> dict[str, np.ndarray]:
        parts = self._events + [self.pool.take_log()]
        self._events = []
        ev = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        # Contacts in the order they happened (automated batches and agents' calls interleave).
        order = np.argsort(ev["seq"], kind="stable")
        ev = {k: v[order] for k, v in ev.items()}
        if self.record_events and ev["idx"].size:
            self.event_log.append(ev)
        return ev

    def _apply_repayments(self, reps: Repayments) -> None:
        if reps.idx.size == 0:
            return
        st = self.st
        rank = ranks_within(reps.idx)
        for r in range(int(rank.max()) + 1):
            sel = rank == r
            idx, t, frac = reps.idx[sel], reps.time[sel], reps.fraction[sel]
            live = st.status[idx] == OPEN
            idx, t, frac = idx[live], t[live], frac[live]
            amount = np.where(frac >= 1.0, st.balance[idx], frac * st.balance[idx])
            st.repayments[idx] += 1
            # A full repayment closes the account; the behaviour model knows already.
            st.pay(idx, amount, t)

    def _apply_contacts(self, ev: dict[str, np.ndarray]) -> None:
        """Apply one contact per account (the accounts' k-th contacts of the day)."""
        sc, st, pf = self.sc, self.st, self.pf
        idx, t = ev["idx"], ev["time"]
        self._apply_repayments(self.behaviour.advance(idx, t))
        live = st.status[idx] == OPEN
        if not live.all():
            ev = {k: v[live] for k, v in ev.items()}
            idx, t = ev["idx"], ev["time"]
        if idx.size == 0:
            return
        action, connected, stress = ev["action"], ev["connected"], ev["stress"]
        is_call = np.isin(action, [int(a) for a in CALLS])
        # Counters for collector calls (automated contacts were counted when sent).
        ci = idx[is_call]
        if ci.size:
            st.attempts[ci] += 1
            st.contacts[ci] += 1
            st.conversations[ci[connected[is_call]]] += 1
            for code in CALLS:
                st.count_action(idx[action == int(code)], code, int(t[0]))
        att = is_call | (action == int(Action.VOICE))
        st.failed_streak[idx[att & connected]] = 0
        st.failed_streak[idx[att & ~connected]] += 1
        # Response strength: impulse * ability^a * willingness_eff^w * collector skill.
        ab = pf.ability_at(idx, t)
        w_eff = pf.willingness[idx] * np.exp(-sc.stress.willingness_effect * stress)
        impulse = np.zeros(idx.size)
        ab_exp = np.zeros(idx.size)
        w_exp = np.zeros(idx.size)
        complaint_p = np.zeros(idx.size)
        for channel_code, ch in self._channel.items():
            m = action == channel_code
            if m.any():
                impulse[m] = ch.impulse
                ab_exp[m] = ch.ability_exp
                w_exp[m] = ch.willingness_exp
                complaint_p[m] = ch.complaint_prob
        strength = np.where(connected, impulse * ab**ab_exp * w_eff**w_exp * ev["skill"], 0.0)
        pos = strength > 0
        if pos.any():
            self.behaviour.respond(idx[pos], t[pos], strength[pos])
        # Complaints: per delivered contact, more likely under stress.
        p = np.clip(complaint_p * (1.0 + sc.stress.complaint_effect * stress), 0.0, 1.0)
        u = self.rng_complaint.random(idx.size)
        st.complaints[idx[connected & (u < p)]] += 1
        conv = is_call & connected
        if conv.any():
            converse(
                self,
                idx[conv],
                t[conv],
                ev["skill"][conv],
                action[conv],
                ev["discount"][conv],
                stress[conv],
                ab[conv],
                w_eff[conv],
            )

    # ------------------------------------------------------------------ legal callbacks
    def _advance_one(self, i: int, t: float) -> bool:
        """Bring account ``i`` to time ``t``; return whether it is still open."""
        idx = np.array([i])
        self._apply_repayments(self.behaviour.advance(idx, np.array([t])))
        return bool(self.st.status[i] == OPEN)

    def _on_filed(self, i: int, t: float) -> None:
        st, law = self.st, self.sc.channels.lawsuit
        if not self._advance_one(i, t):
            return
        idx = np.array([i])
        st.lawsuit_filed[i] = True
        st.cost["legal"][i] += float(court_fee(st.balance[i], law)) + law.lawyer_fee_yuan
        st.contacts[i] += 1
        s = st.add_stress(idx, np.array([t]), np.array([law.stress_increment * self.pf.sensitivity[i]]))
        ab = self.pf.ability_at(idx, t)
        w_eff = self.pf.willingness[idx] * np.exp(-self.sc.stress.willingness_effect * s)
        strength = law.impulse * ab**law.ability_exp * w_eff**law.willingness_exp
        if strength[0] > 0:
            self.behaviour.respond(idx, np.array([t]), strength)
        p = min(1.0, law.complaint_prob * (1.0 + self.sc.stress.complaint_effect * float(s[0])))
        if self.rng_complaint.random() < p:
            st.complaints[i] += 1
        if self.record_events:
            self.event_log.append(
                _event(idx, np.array([t]), int(Action.LAWSUIT), np.array([True]), s, self.pool.sequence(1))
            )

    def _on_judgment(self, i: int, t: float) -> None:
        st, law = self.st, self.sc.channels.lawsuit
        if not self._advance_one(i, t):
            return
        idx = np.array([i])
        ab = float(self.pf.ability[i])
        win = self.streams["legal"].random() < min(1.0, max(0.0, law.win_base + law.win_ability * ab))
        if win and st.lawsuit_filed[i]:
            st.lawsuit_won[i] = True
            cured = st.pay(idx, np.array([law.recovery_fraction * ab * st.balance[i]]), t)
            if cured.size:
                self.behaviour.close(cured)
        if st.status[i] == OPEN:
            self.behaviour.close(idx)
            st.write_off(idx, t)
        if self.record_events:
            self.event_log.append(
                _event(
                    idx,
                    np.array([t]),
                    JUDGMENT,
                    np.array([bool(st.lawsuit_won[i])]),
                    np.zeros(1),
                    self.pool.sequence(1),
                )
            )


def _event(
    idx: np.ndarray, time: np.ndarray, kind: int, connected: np.ndarray, stress: np.ndarray, seq: np.ndarray
) -> dict[str, np.ndarray]:
    """An event-log batch for contacts not made by an agent (agent -1, no minutes)."""
    n = idx.size
    return {
        "idx": idx,
        "time": time,
        "action": np.full(n, kind),
        "connected": connected,
        "skill": np.ones(n),
        "stress": stress,
        "discount": np.zeros(n),
        "agent": np.full(n, -1),
        "minutes": np.zeros(n),
        "seq": seq,
    }


def run(scenario: Scenario, replication: int = 0, *, progress: Progress | None = None) -> RunResult:
    """Run one replication of ``scenario`` and return its :class:`RunResult`."""
    return Simulation(scenario, replication, progress=progress).run()


def stderr_progress(every_seconds: float = 2.0) -> Progress:
    """A progress callback printing the simulated day and open accounts to stderr."""
    last = [_time.perf_counter()]
    printed = [False]

    def report(day: int, last_day: int, open_accounts: int) -> None:
        now = _time.perf_counter()
        if now - last[0] >= every_seconds or (day + 1 == last_day and printed[0]):
            last[0] = now
            printed[0] = True
            print(f"  day {day + 1}/{last_day}  open accounts {open_accounts:,}", file=sys.stderr, flush=True)

    return report
