"""The simulation engine: one run of a scenario for one replication.

Borrower state lives in NumPy columns (:mod:`collectsim.state`) advanced by one SimPy
process in daily steps; collectors and lawsuits are SimPy processes. A day ``d`` runs:

1. start of day (time ``d``): new accounts enter, promises and plan instalments
   fall due, accounts at the charge-off day are written off, the policy decides,
   terminal actions (lawsuit, outsourcing, sale) start, calls join the work queue;
2. during the day: automated contacts (SMS, voice, letters) go out at their hours, the
   field team makes the day's visits (:mod:`collectsim.field`) and agents work the queue
   inside their shift, every contact checked against the rules in the order it happens;
3. end of day (time ``d + 1``): the day's contacts are applied at their exact times,
   account by account in time order (the behaviour model first produces the
   repayments that came before each contact), then every account is advanced to
   ``d + 1``, interest accrues and the daily series is recorded.

Repayments happen at exact times; a payment made during the day is posted overnight.
"""

from __future__ import annotations

import gc
import math
import time as _time
from collections.abc import Callable, Generator
from typing import Any, NamedTuple

import numpy as np
import simpy

from collectsim import ledger, ledger_kernels, plugins
from collectsim.actions import Action
from collectsim.active import ActiveRange
from collectsim.agency import agency_day, build_agency
from collectsim.automated import AutomatedContacts
from collectsim.behaviour.base import BehaviourModel, Repayments
from collectsim.behaviour.response import Borrowers, Contacts, ResponseModel
from collectsim.bots import BotPool, build_bots, check_bots
from collectsim.channels import ChannelTable
from collectsim.collectors import CollectorPool
from collectsim.compliance import Compliance
from collectsim.distributions import mean_of
from collectsim.field import FieldTeam
from collectsim.legal import LegalPipeline
from collectsim.legal_events import LegalEvents
from collectsim.metrics import SERIES_KEYS, Capacity, RunResult, compute_result
from collectsim.policies.base import AccountView, Policy, Requests, RetryRule
from collectsim.portfolio import build_portfolio
from collectsim.random_streams import RandomStreams
from collectsim.scenario_types import Scenario
from collectsim.state import OPEN, AccountState

Progress = Callable[[int, int, int], None]

#: The stress factor on a borrower's own repayment is handed to the behaviour model
#: again when it has moved by more than this since (a day-by-day step function).
FACTOR_STEP = 0.02

#: The columns of the contact log that applying a contact reads.
_APPLIED = ("idx", "time", "action", "connected", "skill", "harshness", "discount", "stress")


class Plugins(NamedTuple):
    """The plug-ins of a scenario, built from its config nodes."""

    behaviour: BehaviourModel
    response: ResponseModel
    policy: Policy
    channels: ChannelTable


def build_plugins(scenario: Scenario) -> Plugins:
    """Build (and so validate) the behaviour model, response model and policy of a scenario."""
    channels = ChannelTable(scenario.channels)
    behaviour = plugins.build(scenario.behaviour, "behaviour")
    response = plugins.build(
        scenario.response, "response", stress=scenario.stress, conversation=scenario.conversation, channels=channels
    )
    policy = plugins.build(scenario.policy, "policy", channels=channels)
    check_bots(scenario, policy, channels)
    return Plugins(behaviour, response, policy, channels)


class Simulation(LegalEvents):
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
        self.streams = RandomStreams(scenario.simulation.seed, replication, scenario.simulation.keyed_outcomes)
        self.behaviour, self.response, self.policy, self.channels = build_plugins(scenario)
        self.progress = progress
        self.record_events = record_events
        self.event_log: list[dict[str, np.ndarray]] = []
        self.series: dict[str, list[float]] = {k: [] for k in SERIES_KEYS}

    # ------------------------------------------------------------------ run
    def run(self) -> RunResult:
        sc = self.sc
        wall0 = _time.perf_counter()
        pf = build_portfolio(sc.portfolio, self.streams)
        self.pf = pf
        self.st = st = AccountState(pf, sc.stress.half_life_days, len(self.channels), self.channels.cost_keys)
        st.outsourcing_commission = sc.channels.outsourcing_commission
        st.cost_of_funds_annual = sc.simulation.cost_of_funds_annual
        if self.record_events:
            st.payment_log, st.promise_log = [], []
        self.behaviour.start(pf, self.streams, sc.simulation.horizon_days)
        self.response.start(pf, self.streams, self.channels)
        self.policy.start(pf, self.streams)
        self.env = env = simpy.Environment()
        self.comp = Compliance(sc.compliance, pf.n)
        self.comp.failed_streak = st.failed_streak
        self.retry: RetryRule = getattr(self.policy, "retry", RetryRule())
        self.pool = CollectorPool(
            env, sc, st, self.comp, self.streams["collectors"], self.response, self.channels, self.retry,
            self.streams.outcomes("answers", pf.n),
        )  # fmt: skip
        self.automated = AutomatedContacts(
            env, st, self.comp, self.response, self.channels, self.streams.outcomes("contacts", pf.n), self.retry,
            sc.channels.voice_lines_per_day, sc.portfolio.reach_by_hour, self.policy.priority, self.pool.sequence,
        )  # fmt: skip
        self.field = FieldTeam(
            env, sc.channels.field_team, st, self.comp, self.response, self.channels,
            self.streams.outcomes("field", pf.n), pf.address_known, self.policy.priority, self.pool.sequence,
        )  # fmt: skip
        self.pool.keep_shift_log = self.record_events
        self.bots: BotPool | None = build_bots(self)
        self.agency, self._agency_code = build_agency(
            env, sc, st, self.comp, self.response, self.channels, self.streams.outcomes("agency", pf.n),
            self.policy.priority, self.pool.sequence,
        )  # fmt: skip
        self.legal = LegalPipeline(env, sc.channels.lawsuit, self.streams["legal"], self._on_filed, self._on_judgment)
        self._next_entry = 0
        self._entry_day = np.floor(pf.entry_time).astype(np.int64)
        self._dpd = np.empty_like(self._entry_day)  # the view's days past due, rewritten daily
        self._all_measured = bool(pf.measured.all())
        # Measured entries are a contiguous run of the (sorted) entries: the run's days
        # go on until they have all entered and left in-house treatment.
        measured = np.flatnonzero(pf.measured)
        self._measured_start, self._measured_end = (
            (int(measured[0]), int(measured[-1]) + 1) if measured.size else (0, 0)
        )
        self.active = ActiveRange(pf.n)
        self._on_duty = False
        self._breach_base: np.ndarray | None = None
        self._breached: np.ndarray | None = None
        self._set_factor = getattr(self.behaviour, "set_willingness_factor", None)
        self._factor = np.ones(pf.n)  # the stress factor the behaviour model last got
        self._busy_before = 0.0
        self.days_run = 0
        # The portfolio is built and long-lived: keep the garbage collector off it. (No
        # gc.collect() first: it walks every object the imports made, some 75 ms a run,
        # and the little garbage frozen with the rest is collected after gc.unfreeze().)
        gc.freeze()
        try:
            driver = env.process(self._driver())
            self.pool.start()
            if self.bots is not None:
                self.bots.start()
            env.run(until=driver)
        finally:
            gc.unfreeze()
        wall = _time.perf_counter() - wall0
        return compute_result(
            sc,
            pf,
            st,
            self.comp,
            Capacity(self.pool.agent_days, self.pool.calls),
            getattr(self.policy, "arms", None),
            getattr(self.policy, "arm_names", None),
            {
                "seed": sc.simulation.seed,
                "replication": self.replication,
                "policy": self.policy.name,
                "wall_seconds": wall,
                "accounts_total": pf.n,
                "days_simulated": self.days_run,
                "end_time": self.end_time,
                # SimPy numbers every scheduled event with a counter; its next value is
                # the number of events scheduled so far.
                "simpy_events": int(next(env._eid)),  # noqa: SLF001
                "calls": self.pool.calls,
            },
            self.series,
        )

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
            a, k = max(self._measured_start, self.active.lo), self._measured_end
            if self._next_entry >= k and not ((st.status[a:k] == OPEN) & ~st.in_legal[a:k]).any():
                break
        self.pool.active = False
        if self.bots is not None:
            self.bots.active = False
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
        act = self.active
        self.comp.new_day(d, act.lo_on(d - 1), act.lo_on(d - 7), self._next_entry)
        if not self.comp.enforce:
            # Rules are counted, not enforced: remember today's start to flag the
            # accounts whose contacts break a rule today (breach reactance).
            self._breach_base = self.comp.by_account.sum(axis=0)
        if sc.collectors.backlog == "drop":
            st.pending_call[self.pool.queue.clear()] = False
            if self.bots is not None:
                st.pending_call[self.bots.queue.clear()] = False
        self._promises_due(t)
        self._plans_due(t)
        # Charge-off at the horizon (accounts in court wait for their judgment). Entry
        # times are sorted, so only a prefix of the accounts can be due.
        h = sc.simulation.horizon_days
        lo, k = act.lo, int(np.searchsorted(pf.entry_time, t - h + 1e-6, side="right"))
        due = lo + np.flatnonzero((st.status[lo:k] == OPEN) & ~st.in_legal[lo:k] & (pf.entry_time[lo:k] + h <= t))
        if due.size:
            self.behaviour.close(due)
            st.write_off(due, t)
        in_house = act.start_day(st, d, hi)
        view = self.view(d, in_house)
        req = self.policy.decide(view)
        st.broken_flag[:] = False
        firm_legal = (req.action == int(Action.LEGAL_WARNING)) | (req.action == int(Action.LAWSUIT))
        st.failed_streak[req.idx[firm_legal]] = 0
        self._execute(req, view, d)
        if self.agency is not None:
            agency_day(self.agency, self._agency_code, sc.channels.agency.every_days, st, d, view)
        # The team is on duty (and paid) on every day that starts with calls to make.
        self._on_duty = bool(self.pool.queue) and bool(st.pending_call.any())
        if self._on_duty:
            self.pool.duty_days += 1
        self.pool.refresh_callable(act.lo, act.hi)
        if self.bots is not None:
            self.bots.refresh_callable(act.lo, act.hi)

    def view(self, d: int, in_house: np.ndarray) -> AccountView:
        """The policy's view; ``in_house`` is the mask of open, out-of-court accounts over
        the active range (no account outside it is workable)."""
        st, pf, lo, hi, held = self.st, self.pf, self.active.lo, self.active.hi, self.active.held
        dpd = np.subtract(d + 1, self._entry_day, out=self._dpd)
        # Fresh zeroed arrays cost only the pages written: the range (and the few held
        # in court, who alone can have a promise pending below it).
        workable = np.zeros(pf.n, dtype=bool)
        workable[lo:hi] = in_house & ~st.outsourced[lo:hi]
        promise_pending = np.zeros(pf.n, dtype=bool)
        promise_pending[lo:hi] = st.promise_due[lo:hi] < np.inf
        promise_pending[held] = st.promise_due[held] < np.inf
        return AccountView(
            day=d,
            workable=workable,
            dpd=dpd,
            balance=st.balance,
            principal=pf.principal,
            score=pf.score,
            segment=pf.segment,
            promise_pending=promise_pending,
            in_plan=st.plan_active,
            broken_promise_today=st.broken_flag,
            failed_streak=st.failed_streak,
            attempts=st.attempts,
            conversations=st.conversations,
            actions_done=st.actions_done,
            last_action_day=st.last_action_day,
            expected_minutes_connected=mean_of(self.sc.collectors.connected_minutes),
            expected_minutes_no_answer=mean_of(self.sc.collectors.no_answer_minutes),
            active=slice(lo, hi),
        )

    def _execute(self, req: Requests, view: AccountView, d: int) -> None:
        st, ch = self.st, self.channels
        # Whatever a policy asks, only workable accounts are contacted.
        ok = view.workable[req.idx]
        if not ok.all():
            req = Requests(req.idx[ok], req.action[ok], req.discount[ok])
        for row in ch.of_kind("message", "dialler", "letter"):
            m = req.action == row.code
            if m.any():
                assert row.cfg is not None
                self.automated.send(float(d) + row.cfg.hour / 24.0, req.idx[m], row.code, view)
        m = ch.is_visit[req.action]
        if m.any():
            self.field.plan_day(d, req.idx[m], req.action[m], view)
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
            st.sell(idx, float(d), self.sc.channels.debt_sale_price_fraction)
        m = ch.is_agent[req.action] & ~st.pending_call[req.idx]
        for pool, mine in ((self.pool, m & ~ch.is_bot[req.action]), (self.bots, m & ch.is_bot[req.action])):
            if pool is not None and mine.any():
                idx = req.idx[mine]
                st.pending_call[idx] = True
                pool.queue.push_many(self.policy.priority(view, idx), idx, req.action[mine], req.discount[mine])

    def borrowers(self, idx: np.ndarray, t: np.ndarray | float, stress: np.ndarray) -> Borrowers:
        """The read-only view of accounts ``idx`` at times ``t`` a response model gets."""
        return ledger.borrower_view(self.st, idx, t, stress)

    def _promises_due(self, t: float) -> None:
        st = self.st
        due = self.active.nonzero(lambda k: st.promise_due[k] <= t)
        if due.size:
            keep = self.response.promise_kept(due, t, self.borrowers(due, t, st.stress_at(due, t)))
            ledger.settle_promises(st, self.behaviour, due, keep, t)

    def _plans_due(self, t: float) -> None:
        st, cv = self.st, self.sc.conversation
        due = self.active.nonzero(lambda k: st.plan_active[k] & (st.plan_next_due[k] <= t))
        if due.size:
            paid = self.response.instalment_paid(due, t, self.borrowers(due, t, st.stress_at(due, t)))
            ledger.collect_instalments(st, self.behaviour, due, paid, t, cv.plan_max_misses, cv.plan_interval_days)

    # ------------------------------------------------------------------ end of day
    def _end_day(self, d: int) -> None:
        sc, st = self.sc, self.st
        if self._breach_base is not None:
            self._breached = self.comp.by_account.sum(axis=0) > self._breach_base
        ev, order = self._collect_events()
        if order.size:
            # The accounts' k-th contacts of the day, each set in time order (gathered
            # from the unsorted log in one step).
            rank = ledger.ranks_within(ev["idx"][order])
            top = int(rank.max())
            for r in range(top + 1):
                sel = order if top == 0 else order[rank == r]
                self._apply_contacts({k: ev[k][sel] for k in _APPLIED})
        self._apply_repayments(self.behaviour.advance(None, float(d + 1)))
        open_idx = self.active.open_idx(st)
        s, backlog = ledger.close_day(
            st, open_idx, float(d + 1), sc.portfolio.penalty_multiplier, sc.stress.distress_threshold
        )
        self._stress_on_intensity(open_idx, float(d + 1), s)
        ser = self.series
        ser["day"].append(d + 1)
        if self._all_measured:
            ser["collected_cum"].append(float(st.collected.sum() + st.sale_proceeds.sum()))
            ser["outstanding"].append(float(st.balance.sum()))
        else:  # the series, like the KPIs, leave out warm-up arrivals (a run of entries)
            m = slice(self._measured_start, self._measured_end)
            ser["collected_cum"].append(float(st.collected[m].sum() + st.sale_proceeds[m].sum()))
            ser["outstanding"].append(float(st.balance[m].sum()))
        ser["open_accounts"].append(float(open_idx.size))
        ser["stress_mean"].append(float(s.mean()) if s.size else 0.0)
        ser["backlog"].append(float(backlog))
        pool = self.pool
        ser["busy_minutes"].append(pool.busy_minutes - self._busy_before)
        self._busy_before = pool.busy_minutes
        ser["available_minutes"].append(pool.cfg.size * pool.available_minutes if self._on_duty else 0.0)

    def _stress_on_intensity(self, idx: np.ndarray, t: float, stress: np.ndarray) -> None:
        """While stress lasts it lowers the borrower's own repayment: hand the behaviour
        model the response model's willingness factor, day by day, where it moved by more
        than ``FACTOR_STEP`` since it was last handed over."""
        if self._set_factor is None or idx.size == 0:
            return
        f = self.response.willingness_factor(idx, t, stress)
        if self.st.steps_compiled and idx.dtype == np.int64 and f.dtype == np.float64:
            upd, fu = np.empty(idx.size, dtype=np.int64), np.empty(idx.size)
            m = ledger_kernels.moved_step(idx, f, self._factor, FACTOR_STEP, upd, fu)
            if m:
                self._set_factor(upd[:m], t, fu[:m])
            return
        moved = np.abs(f - self._factor[idx]) > FACTOR_STEP
        if moved.any():
            upd = idx[moved]
            self._factor[upd] = f[moved]
            self._set_factor(upd, t, f[moved])

    def _collect_events(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The day's contact log and the order they happened in (automated batches and
        agents' calls interleave)."""
        parts = [*self.automated.take_log(), *self.field.take_log(), self.pool.take_log()]
        if self.bots is not None:
            parts.append(self.bots.take_log())
        if self.agency is not None:
            parts = [*self.agency.take_log(), *parts]
        keys = parts[0] if self.record_events else (*_APPLIED, "seq")
        ev = {k: np.concatenate([p[k] for p in parts]) for k in keys}
        order = np.argsort(ev["seq"], kind="stable")
        if self.record_events and order.size:
            self.event_log.append({k: v[order] for k, v in ev.items()})
        return ev, order

    def _apply_repayments(self, reps: Repayments) -> None:
        ledger.apply_repayments(self.st, reps)

    def _apply_contacts(self, ev: dict[str, np.ndarray]) -> None:
        """Apply one contact per account (the accounts' k-th contacts of the day)."""
        st, ch = self.st, self.channels
        idx, t = ev["idx"], ev["time"]
        self._apply_repayments(self.behaviour.advance(idx, t))
        live = st.status[idx] == OPEN
        if not live.all():
            ev = {k: v[live] for k, v in ev.items()}
            idx, t = ev["idx"], ev["time"]
        if idx.size == 0:
            return
        action, connected = ev["action"], ev["connected"]
        ledger.count_contacts(st, ch, idx, t, action, connected)
        contacts = Contacts(idx, t, action, connected, ev["skill"], ev["harshness"], ev["discount"])
        breached = self._breached[idx] if self._breached is not None else None
        b = ledger.borrower_view(st, idx, t, ev["stress"], breached, self.comp.attempts_7d[idx])
        self._respond(contacts, b)

    def _respond(self, c: Contacts, b: Borrowers) -> None:
        """Ask the response model what the contacts do; post it to the account state."""
        out = self.response.respond(c, b)
        ledger.post_response(self.st, self.behaviour, c, b, out, self.sc.conversation.plan_interval_days)


def run(scenario: Scenario, replication: int = 0, *, progress: Progress | None = None) -> RunResult:
    """Run one replication of ``scenario`` and return its :class:`RunResult`."""
    return Simulation(scenario, replication, progress=progress).run()
