"""The collector pool: agents working a shared priority work queue.

The agents' day runs compiled (:mod:`collectsim.kernels`, through
:mod:`collectsim.compiled_team`) where Numba is installed, and otherwise in the Python
loop of this module (``COLLECTSIM_KERNELS=0`` selects it too); both give the same calls.
The work queue is a heap ordered by (policy key, arrival); stale entries (the account
closed, went to court, made a promise) are skipped when popped. The agents, their
redials (a FIFO line) and the end-of-shift bell run from an agenda of the team's own
(a heap of ``(time, seq, who)``) in one SimPy process, which runs every entry due before
SimPy's next event without handing control back (the engine applies the calls at the
day's end). Entries are ordered by time, then scheduling order, as SimPy orders its own
events, so a run gives the same calls, in the same order, as one event per attempt.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from collectsim.behaviour.response import ResponseModel
from collectsim.channels import ChannelTable
from collectsim.compiled_team import K_KEEP_SHIFTS, CompiledTeam, agent_path, for_pool
from collectsim.compliance import Compliance, hour_of
from collectsim.distributions import sample
from collectsim.policies.base import RetryRule
from collectsim.random_streams import OutcomeDraws
from collectsim.scenario_types import CollectorsConfig, ComplianceConfig, Scenario
from collectsim.shared import shared, shared_copy
from collectsim.state import OPEN, AccountState
from collectsim.work_queue import WorkQueue, predrawn

MIN_PER_DAY = 1440.0
#: Who an agenda entry is for, besides agent numbers (>= 0): the shift bell.
_BELL = -1

#: Columns of the call log: account, start time, action, reached the borrower,
#: collector skill multiplier, borrower stress after the call, settlement discount
#: offered, agent, handle minutes, global contact sequence number.
LOG_FIELDS = (
    ("idx", np.int64),
    ("time", float),
    ("action", np.int64),
    ("connected", bool),
    ("skill", float),
    ("stress", float),
    ("discount", float),
    ("agent", np.int64),
    ("minutes", float),
    ("seq", np.int64),
)


def shift_hours(cfg: CollectorsConfig, rules: ComplianceConfig) -> tuple[float, float]:
    """The hours an agent may dial, ``(start, end)``: the configured shift, moved later
    to end with an enforced calling window that ends later (``shift_follows_window``),
    and clipped to that window."""
    start, end = cfg.shift_start_hour, cfg.shift_end_hour
    if rules.enforce:
        if cfg.shift_follows_window and rules.window_end_hour > end:
            lag = rules.window_end_hour - end
            start, end = start + lag, end + lag
        # Agents do not dial outside the permitted window.
        start = max(start, rules.window_start_hour)
        end = min(end, rules.window_end_hour)
    return start, end


class CollectorPool:
    """N agents with skill and harshness, working shifts inside the calling window.

    Each agent takes the top call from the queue, checks it against the contact rules,
    dials (right-party contact with the borrower's stress-lowered contactability),
    spends a random handle time and records the call for the engine to apply. An agent
    stops for the day at the end of its shift (less its break) or after
    ``max_conversations_per_day`` conversations.
    """

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        state: AccountState,
        compliance: Compliance,
        rng: np.random.Generator,
        response: ResponseModel,
        channels: ChannelTable,
        retry: RetryRule | None = None,
        answers: OutcomeDraws | None = None,
    ) -> None:
        cfg: CollectorsConfig = scenario.collectors
        # Whether a call is answered: from the collectors' stream, or keyed per account.
        self.answers = answers if answers is not None and answers.keyed else None
        self.env = env
        self.cfg = cfg
        self.state = state
        self.compliance = compliance
        self.queue = WorkQueue(env)
        self.rng = rng
        n = cfg.size
        gain = cfg.training.skill_gain if cfg.training.enabled else 0.0
        self.skill = np.maximum(sample(cfg.skill, rng, n), 0.0) + gain
        self.harshness = np.maximum(sample(cfg.harshness, rng, n), 0.0)
        self.skill_mult = self.skill**cfg.skill_effect
        # Stress a call adds per unit of sensitivity, by agent and call channel (the
        # response model's rule, tabulated once for the hot loop).
        self.stress_inc = [
            {int(c): response.contact_stress(int(c), float(h)) for c in channels.agent_codes} for h in self.harshness
        ]
        self.contact_effect = response.avoidance
        self.retry = retry or RetryRule()
        self.reach_by_hour = [float(x) for x in scenario.portfolio.reach_by_hour]
        # Third-party channels: who answers (instead of the borrower's contactability).
        third_party = {
            int(r.code): float(r.cfg.answer_prob or 0.0) for r in channels.channels if r.cfg and r.cfg.third_party
        }
        self.third_party_prob = [third_party.get(c, -1.0) for c in range(len(channels))]
        self.telephony = scenario.channels.telephony_yuan_per_minute
        self._u = predrawn(rng.random) if self.answers is None else None
        self._conn = predrawn(lambda k: np.maximum(sample(cfg.connected_minutes, rng, k), 0.01))
        self._noans = predrawn(lambda k: np.maximum(sample(cfg.no_answer_minutes, rng, k), 0.01))
        start, end = shift_hours(cfg, scenario.compliance)
        self.shift_start = start / 24.0
        brk = cfg.break_minutes / MIN_PER_DAY
        if cfg.break_after_hours is None:
            # The break comes off the end of the shift.
            self.shift_end = end / 24.0 - brk
            self.break_start = self.break_end = math.inf
        else:
            # The break is taken inside the shift, which is worked to its end.
            self.shift_end = end / 24.0
            self.break_start = self.shift_start + cfg.break_after_hours / 24.0
            self.break_end = self.break_start + brk
        # A round-the-clock team (shift 0-24, no break, not clipped by a calling
        # window) works continuously: calls may run across midnight. This is the
        # M/M/c configuration used to validate the pool against queueing theory.
        self.continuous = start == 0.0 and end == 24.0 and cfg.break_minutes == 0
        self.available_minutes = max(self.shift_end - self.shift_start, 0.0) * MIN_PER_DAY
        if cfg.break_after_hours is not None:
            self.available_minutes = max(self.available_minutes - cfg.break_minutes, 0.0)
        # Whether every call of the shift falls inside the calling window (then the
        # window rule needs no check per call).
        win = compliance.cfg
        self.window_ok = win.window_start_hour <= start and (self.shift_end * 24.0) <= win.window_end_hour
        self._active = True
        self.callable, self.callable_py = shared(state.pf.n, "B")  # refreshed daily
        self._callable_lo = 0
        self.contact, self.contact_py = shared_copy(state.pf.contactability, "d")
        self.sens, self.sens_py = shared_copy(state.pf.sensitivity, "d")
        # Call log (flat lists, turned into arrays by the engine once per day).
        self.log: list[tuple[Any, ...]] = []  # one row per call, fields LOG_FIELDS
        self._seq = 0  # one counter for every contact of the run, in the order they happen
        self.busy_minutes = 0.0
        self.duty_days = 0  # days the team was on duty (set by the engine)
        self.calls = 0
        self.conversations = 0
        self._shift_log: list[
            tuple[int, int, float, float, float, int]
        ] = []  # (day, agent, start, end, last_end, conversations)
        self._keep_shift_log = False
        # The team's agenda (see the module docstring) and its scheduling counter.
        self._agenda: list[tuple[float, int, int, Any]] = []
        # Redials due, (time, seq, call): one gap for all, so they fall due in the order
        # they were made and a FIFO line keeps them sorted.
        self._redials: deque[tuple[float, int, tuple[float, int, int, int, float]]] = deque()
        self._agenda_seq = itertools.count()
        self.compiled: CompiledTeam | None = None
        if agent_path() != "python":
            self.compiled = for_pool(self, compliance, len(channels), rng)
            self.queue = self.compiled  # type: ignore[assignment]

    @property
    def active(self) -> bool:
        """Whether the run's days go on (the engine sets it false for the legal tail)."""
        return self._active

    @active.setter
    def active(self, value: bool) -> None:
        self._active = value
        if self.compiled is not None:
            self.compiled.set_active(value)

    @property
    def keep_shift_log(self) -> bool:
        """Keep one row per agent and day (``shift_log``; the engine sets it with
        ``record_events``)."""
        return self._keep_shift_log

    @keep_shift_log.setter
    def keep_shift_log(self, value: bool) -> None:
        self._keep_shift_log = value
        if self.compiled is not None:
            self.compiled.cfg[K_KEEP_SHIFTS] = value

    @property
    def shift_log(self) -> list[tuple[int, int, float, float, float, int]]:
        """Rows ``(day, agent, start, end, last_end, conversations)`` of every agent's day."""
        return self._shift_log if self.compiled is None else self.compiled.shift_rows()

    @property
    def agent_days(self) -> int:
        """Agent-days on duty (paid): team size x days on duty."""
        return self.cfg.size * self.duty_days

    def start(self) -> None:
        self.refresh_callable()
        self.env.process(self._team() if self.compiled is None else self.compiled.run())

    def _team(self) -> Generator[simpy.Event, Any, None]:
        """Run the agents, their redials and the shift bell from the team's agenda (see
        the module docstring): every entry due before SimPy's next event is run at once;
        the team sleeps until that event otherwise."""
        env, agenda, q, seq = self.env, self._agenda, self.queue, self._agenda_seq
        redials, popleft = self._redials, self._redials.popleft
        heappop, heappush, heapreplace = heapq.heappop, heapq.heappush, heapq.heapreplace
        peek, inf = env.peek, math.inf
        now = env.now

        def wake(agent: int, t: float) -> None:
            heappush(agenda, (t, next(seq), agent, None))

        q.on_wake = wake
        # The agents start in order, as SimPy started one process per agent.
        agents = [self._agent(k, now) for k in range(self.cfg.size)]
        sends = [g.send for g in agents]
        for k, g in enumerate(agents):
            try:
                r = next(g)
            except StopIteration:
                continue
            if r is None:
                q.idle.append(k)
            else:
                heappush(agenda, (now + r, next(seq), k, None))
        if not self.continuous:
            heappush(agenda, (now + (self._bell_time(now) - now), next(seq), _BELL, None))
        nxt = peek()
        while True:
            # The next entry by (time, seq): the first redial or the agenda's first.
            redial = bool(redials) and (not agenda or redials[0] < agenda[0])
            if redial:
                t = redials[0][0]
            elif agenda:
                t = agenda[0][0]
            else:
                t = inf
            if t >= nxt:
                # SimPy's next event comes first (ties too): let it run, then look again.
                if nxt == inf:
                    return
                yield env.timeout(max(nxt - env.now, 0.0))
                nxt = peek()
                continue
            if redial:
                # A redial that is due goes back on the queue and wakes an idle agent.
                heappush(q.heap, popleft()[2])
                if q.idle:
                    q.wake(1, t)
                continue
            _, _, who, item = agenda[0]
            if who >= 0:
                # Redials the agent makes go to their own line: its entry is still
                # the agenda's first when it hands back its next delay.
                try:
                    r = sends[who](t)
                except StopIteration:
                    heappop(agenda)
                    continue
                if r is None:
                    heappop(agenda)
                    q.idle.append(who)
                else:
                    heapreplace(agenda, (t + r, next(seq), who, None))
                continue
            heappop(agenda)  # the bell: idle agents stop waiting for calls at the end of the shift
            q.wake_all(t)
            if self.active:
                heappush(agenda, (t + (self._bell_time(t) - t), next(seq), _BELL, None))

    def _bell_time(self, now: float) -> float:
        """When today's shift ends (tomorrow's, if today's has ended)."""
        end = math.floor(now + 1e-12) + self.shift_end
        return end + 1.0 if now >= end else end

    def refresh_callable(self, lo: int = 0, hi: int | None = None) -> None:
        """Recompute which accounts may be called today over ``[lo, hi)``, the accounts
        in in-house treatment (the engine calls this once a day, after the start-of-day
        bookkeeping; nothing changes it during the shift). Below the ``lo`` of the
        previous refresh every account is already marked not callable, and stays so."""
        st, k = self.state, slice(min(lo, self._callable_lo), hi)
        self._callable_lo = lo
        self.callable[k] = (
            (st.status[k] == OPEN)
            & ~st.in_legal[k]
            & ~st.outsourced[k]
            & ~st.plan_active[k]
            & (st.promise_due[k] == math.inf)
        )

    def _agent(self, k: int, now: float) -> Generator[float | None, float, None]:
        """Agent ``k``, started at time ``now``. It yields how long it is busy (a delay in
        days) or ``None`` to wait idle for calls, and is sent the time it resumes at."""
        # The hot loop of the model: one pass per call attempt. Everything it touches is
        # bound to a local name first.
        st, comp, q, append = self.state, self.compliance, self.queue, self.log.append
        skill = float(self.skill_mult[k])
        cap = math.inf if self.continuous else self.cfg.max_conversations_per_day
        # array.array faces of the state: plain Python numbers, fast one at a time.
        pending, callable_ = st.pending_call_py, self.callable_py
        stress, stress_t, peak, decay = st.stress_py, st.stress_t_py, st.stress_peak_py, st.decay
        contact, sens = self.contact_py, self.sens_py
        ce = self.contact_effect
        answers = self.answers
        unext = (self._u if self._u is not None else iter(())).__next__
        conn_next, noans_next = self._conn.__next__, self._noans.__next__
        allow, exp = comp.allow_call, math.exp
        seq, redial = self._agenda_seq, self._redials.append
        heap, heappop = q.heap, heapq.heappop
        reach, tp_prob = self.reach_by_hour, self.third_party_prob
        flat_reach = all(x == 1.0 for x in reach)
        # Rule limits for the fast path (inf / -inf for a rule that is not active).
        max_conn, max_unans, max_week, cooldown = comp.limits
        window_ok = self.window_ok
        ws, we = comp.cfg.window_start_hour, comp.cfg.window_end_hour
        _, week, conn_today, unans_today, last_conv = comp.py_counters()
        inc_by_action = self.stress_inc[k]
        tries_max = self.retry.attempts_per_day
        gap, last_redial = self.retry.gap_minutes / MIN_PER_DAY, self.retry.last_hour / 24.0
        while self.active:
            day = math.floor(now + 1e-12)
            if self.continuous:
                start, end = now, math.inf
            else:
                start, end = day + self.shift_start, day + self.shift_end
            redial_until, next_day = min(day + last_redial, end), day + 1
            brk_start, brk_end = day + self.break_start, day + self.break_end
            if now < start:
                now = yield start - now
            if not self.active:
                return
            convs = 0
            while now < end and convs < cap:
                if brk_start <= now < brk_end:
                    # The agent's break, inside the shift (a call running into it ends first).
                    now = yield brk_end - now
                    continue
                if now >= next_day:
                    # A round-the-clock agent works across midnight: a new day for the
                    # hour of the day and the retry rule.
                    day = math.floor(now + 1e-12)
                    redial_until, next_day = day + last_redial, day + 1
                item = heappop(heap) if heap else None
                if item is None:
                    # Idle: wait for new calls or the end of the shift.
                    now = yield None
                    continue
                i = item[2]
                pending[i] = 0
                if not callable_[i]:
                    continue
                action = item[3]
                s = stress[i] * exp(-decay * (now - stress_t[i]))
                hour = (now - day) * 24.0
                third = tp_prob[action]  # who answers a third-party number; -1 for the borrower's
                p = contact[i] * exp(-ce * s) if third < 0.0 else third
                if not flat_reach:
                    p *= reach[int(hour) % 24]
                connected = (unext() if answers is None else float(answers.random(np.array([i]))[0])) < p
                minutes = conn_next() if connected else noans_next()
                if now + minutes / MIN_PER_DAY > end:
                    # No time left today for this call: it goes back to the queue.
                    q.push(item)
                    pending[i] = 1
                    break
                if not window_ok and not comp.window_allows(i, now, ws <= hour_of(now) < we):
                    continue
                if third >= 0.0:
                    # Another person's number: the borrower's per-number counters do
                    # not apply, the third-party rule does.
                    if not comp.third_party_allows(i):
                        continue
                else:
                    if (
                        conn_today[i] >= max_conn
                        or unans_today[i] >= max_unans
                        or week[i] >= max_week
                        or now - last_conv[i] < cooldown
                    ) and not allow(i, now):
                        continue
                    # Count the attempt for the contact rules (today's row of the 7-day
                    # window is looked up each time: a round-the-clock agent spans days).
                    today = comp.today_py
                    tries = today[i] + 1
                    today[i] = tries
                    week[i] += 1
                    if connected:
                        conn_today[i] += 1
                        last_conv[i] = now
                    else:
                        unans_today[i] += 1
                if connected:
                    s += inc_by_action[action] * sens[i]
                    stress[i] = s
                    stress_t[i] = now
                    if s > peak[i]:
                        peak[i] = s
                    convs += 1
                elif third < 0.0 and tries < tries_max and now + gap < redial_until:
                    # Redial later today under the policy's retry rule.
                    redial((now + gap, next(seq), item))
                    pending[i] = 1
                append((i, now, action, connected, skill, s, item[4], k, minutes, self._seq))
                self._seq += 1
                now = yield minutes / MIN_PER_DAY
            self.conversations += convs
            if self._keep_shift_log:
                self._shift_log.append((day, k, start, end, now, convs))
            # Sleep until the next day begins.
            now = yield max(day + 1 - now, 0.0)

    def sequence(self, n: int) -> np.ndarray:
        """Sequence numbers for ``n`` contacts happening now (shared with the agents)."""
        if self.compiled is not None:
            return self.compiled.sequence(n)
        out = np.arange(self._seq, self._seq + n, dtype=np.int64)
        self._seq += n
        return out

    def take_log(self) -> dict[str, np.ndarray]:
        """The calls made since the last take, as arrays; charges their minutes."""
        if self.compiled is not None:
            out = {name: col for (name, _), col in zip(LOG_FIELDS, self.compiled.take_calls())}
            counts = self.compiled.rules()[-1]  # blocked calls or breaches per rule
            for r, name in enumerate(self.compliance.counts):
                self.compliance.counts[name] += int(counts[r])
            counts[:] = 0
        else:
            rows = self.log
            cols = list(zip(*rows)) if rows else [()] * len(LOG_FIELDS)
            out = {name: np.asarray(col, dtype=dtype) for (name, dtype), col in zip(LOG_FIELDS, cols)}
            rows.clear()
        agent = out["agent"]
        out["harshness"] = np.where(agent >= 0, self.harshness[np.maximum(agent, 0)], 1.0)
        self.calls += out["idx"].size
        self.busy_minutes += float(out["minutes"].sum())
        if out["idx"].size:
            np.add.at(self.state.handle_minutes, out["idx"], out["minutes"])
            np.add.at(self.state.cost["telephony"], out["idx"], out["minutes"] * self.telephony)
        return out
