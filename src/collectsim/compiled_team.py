"""The agents' working day run by the compiled kernels (:mod:`collectsim.kernels`): the
arrays they own, the SimPy process that hands them a segment at a time, and the work
queue's interface for the engine.

The team runs its agenda up to SimPy's next event (an automated send, a lawsuit filing,
the day's end) in one kernel call, then yields to SimPy, exactly as the Python team of
:mod:`collectsim.collectors` does; when a buffer of pre-drawn numbers runs out the
kernel returns, Python draws the next chunk from the collectors' stream (in the order the
Python loop draws them) and the kernel resumes where it stopped.

State, in tuples of arrays: ``team`` = ``(q, red, ag, idle, agent, draws, log)``: the
work queue (a heap of ``key f8, seq i8, idx i8, action i8, discount f8`` ordered by
policy key, then arrival), the redial line (a FIFO ring of ``time, agenda seq`` and a
call), the agenda (a heap of ``time f8, seq i8, who i8``, ``who`` an agent or ``BELL``),
the idle agents (a FIFO ring), per agent its mode and ``A_*`` columns, the pre-drawn
uniform / connected-minutes / unanswered-minutes buffers, and the call log (the columns
of ``collectors.LOG_FIELDS``, then the shift log and conversations per agent); ``acct``
= the account columns a call reads and writes (queued, callable, stress, stress time,
stress peak, contactability, sensitivity, keyed answer draws so far); ``rules`` = the
contact-rule counters (today's attempts, 7-day attempts, connected and unanswered today,
last conversation, failed own-number streak, counts per rule and account, counts per
rule); ``ist`` = integer scalars (``I_*``); ``par`` = ``(cfg, skill, inc, tp_prob,
reach)``: the run's constants (``C_*``), skill per agent, stress a conversation adds
(agent x action), who answers a third-party number (per action; -1 for the borrower's
own) and reachability by hour.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from collectsim import kernels as K
from collectsim.distributions import sample

#: Where the kernels' constants say whether to keep the shift log.
K_KEEP_SHIFTS = K.C_KEEP_SHIFTS
#: Pre-drawn numbers per refill (as the Python loop's ``predrawn``).
CHUNK = 8192


class CompiledTeam:
    """The state of the agents' day as arrays, and the work queue's interface
    (``push_many``, ``clear``, ``len``) the engine uses.

    Parameters
    ----------
    n_accounts, n_agents : sizes.
    cfg : the run's constants (``kernels.C_*``).
    skill : skill multiplier per agent; ``inc`` stress a conversation adds per unit of
        sensitivity (agent x action); ``tp_prob`` who answers a third-party number per
        action (-1: the borrower's own); ``reach`` reachability by hour.
    acct : the account columns (see :mod:`collectsim.kernels`).
    rules : a function returning the contact-rule arrays of the moment (today's row
        of the 7-day window changes daily).
    draw_u, draw_conn, draw_noans : draw ``k`` uniforms, connected minutes, unanswered
        minutes from the collectors' stream.
    """

    def __init__(
        self,
        env: simpy.Environment,
        n_agents: int,
        cfg: np.ndarray,
        skill: np.ndarray,
        inc: np.ndarray,
        tp_prob: np.ndarray,
        reach: np.ndarray,
        acct: tuple[np.ndarray, ...],
        rules: Callable[[], tuple[Any, ...]],
        draw_u: Callable[[int], np.ndarray],
        draw_conn: Callable[[int], np.ndarray],
        draw_noans: Callable[[int], np.ndarray],
    ) -> None:
        self.env = env
        self.cfg, self.skill, self.inc, self.tp_prob, self.reach = cfg, skill, inc, tp_prob, reach
        self.acct, self.rules = acct, rules
        self.draw_fns = (draw_u, draw_conn, draw_noans)
        self.ist = np.zeros(K.N_IST, dtype=np.int64)
        self.ist[K.I_ACTIVE] = 1
        cap = 1024
        self.q: tuple[np.ndarray, ...] = (
            np.zeros(cap),
            np.zeros(cap, np.int64),
            np.zeros(cap, np.int64),
            np.zeros(cap, np.int64),
            np.zeros(cap),
        )
        self.red: tuple[np.ndarray, ...] = self._ring(cap)
        a = n_agents + 2
        self.ag = (np.zeros(a), np.zeros(a, np.int64), np.zeros(a, np.int64), np.zeros(a, np.int64), np.zeros(a))
        self.idle = np.zeros(max(n_agents, 1), np.int64)
        self.agent = (np.zeros(n_agents, np.int64), np.zeros((n_agents, 8)))
        empty = np.zeros(0)
        self.draws = (empty, empty, empty)  # drawn when first needed, as the Python loop does
        self.calls = self._log_arrays(4096)
        self.shifts = self._shift_arrays(64)
        self.conv = np.zeros(n_agents, np.int64)  # conversations per agent
        # Teams run in this team's process after it, segment by segment (the AI voice
        # lines run with the collectors); they share its contact sequence.
        self.partners: list[CompiledTeam] = []

    # ------------------------------------------------------------------ arrays
    @staticmethod
    def _ring(cap: int) -> tuple[np.ndarray, ...]:
        i8 = np.int64
        return (
            np.zeros(cap),
            np.zeros(cap, i8),
            np.zeros(cap),
            np.zeros(cap, i8),
            np.zeros(cap, i8),
            np.zeros(cap, i8),
            np.zeros(cap),
        )

    @staticmethod
    def _log_arrays(cap: int) -> tuple[np.ndarray, ...]:
        i8, f8 = np.int64, np.float64
        dtypes = (i8, f8, i8, np.bool_, f8, f8, f8, i8, f8, i8)
        return tuple(np.zeros(cap, dt) for dt in dtypes)

    @staticmethod
    def _shift_arrays(cap: int) -> tuple[np.ndarray, ...]:
        i8, f8 = np.int64, np.float64
        return tuple(np.zeros(cap, dt) for dt in (i8, i8, f8, f8, f8, i8))

    def _grow_queue(self, need: int) -> None:
        """Make room for ``need`` calls in the queue and the redial line together."""
        cap = self.q[0].size
        if need <= cap:
            return
        new = max(need, 2 * cap)
        n = int(self.ist[K.I_QLEN])
        q = []
        for col in self.q:
            grown = np.zeros(new, col.dtype)
            grown[:n] = col[:n]
            q.append(grown)
        self.q = tuple(q)
        head, m = int(self.ist[K.I_RHEAD]), int(self.ist[K.I_RLEN])
        order = (head + np.arange(m)) % cap
        red = self._ring(new)
        for old, grown in zip(self.red, red):
            grown[:m] = old[order]
        self.red = red
        self.ist[K.I_RHEAD] = 0

    def _grow(self, arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        out = []
        for col in arrays:
            grown = np.zeros(2 * col.size, col.dtype)
            grown[: col.size] = col
            out.append(grown)
        return tuple(out)

    # ------------------------------------------------------------------ the work queue
    def push_many(self, keys: np.ndarray, idx: np.ndarray, action: np.ndarray, discount: np.ndarray) -> None:
        """Queue calls (policy keys, accounts, actions, discounts) and wake idle agents."""
        if np.isnan(keys).any():
            raise ValueError("a policy's queue keys must not be NaN")
        self._grow_queue(int(self.ist[K.I_QLEN] + self.ist[K.I_RLEN]) + idx.size)
        K.push_calls(
            self.q,
            self.ag,
            self.idle,
            self.ist,
            np.asarray(keys, dtype=np.float64),
            np.asarray(idx, dtype=np.int64),
            np.asarray(action, dtype=np.int64),
            np.asarray(discount, dtype=np.float64),
            float(self.env.now),
        )

    def clear(self) -> np.ndarray:
        """Drop the queued calls (not the redial line); return their accounts."""
        n = int(self.ist[K.I_QLEN])
        out = self.q[2][:n].copy()
        self.ist[K.I_QLEN] = 0
        return out

    def __len__(self) -> int:
        return int(self.ist[K.I_QLEN])

    # ------------------------------------------------------------------ the day
    def run(self) -> Generator[simpy.Event, Any, None]:
        """The team's SimPy process: a kernel segment up to each SimPy event, for this
        team and then for each of its ``partners`` (teams run in this one process)."""
        env = self.env
        peek = env.peek
        nxt = peek()
        while True:
            self.segment(float(nxt))
            for partner in self.partners:
                partner.ist[K.I_CSEQ] = self.ist[K.I_CSEQ]  # one contact sequence for all
                partner.segment(float(nxt))
                self.ist[K.I_CSEQ] = partner.ist[K.I_CSEQ]
            if nxt == math.inf:
                return
            yield env.timeout(max(nxt - env.now, 0.0))
            nxt = peek()

    def segment(self, nxt: float) -> None:
        """Run the agenda up to ``nxt`` (SimPy's next event), refilling draw buffers and
        growing logs as the kernel asks."""
        while True:
            team = (self.q, self.red, self.ag, self.idle, self.agent, self.draws, (*self.calls, self.shifts, self.conv))
            par = (self.cfg, self.skill, self.inc, self.tp_prob, self.reach)
            code = K.run_segment(float(self.env.now), nxt, team, self.acct, self.rules(), self.ist, par)
            if code == K.WAIT:
                return
            if code <= K.NEED_NOANS:
                j = code - K.NEED_U
                draws = list(self.draws)
                draws[j] = np.ascontiguousarray(self.draw_fns[j](CHUNK), dtype=np.float64)
                self.draws = tuple(draws)  # type: ignore[assignment]
                self.ist[K.I_UCUR + j] = 0
            elif code == K.NEED_LOG:
                self.calls = self._grow(self.calls)
            else:
                self.shifts = self._grow(self.shifts)

    def sequence(self, n: int) -> np.ndarray:
        """Sequence numbers for ``n`` contacts happening now (shared with the agents)."""
        s = int(self.ist[K.I_CSEQ])
        self.ist[K.I_CSEQ] = s + n
        return np.arange(s, s + n, dtype=np.int64)

    def take_calls(self) -> list[np.ndarray]:
        """The call log's columns since the last take (copies); empties it."""
        n = int(self.ist[K.I_LOGLEN])
        self.ist[K.I_LOGLEN] = 0
        return [col[:n].copy() for col in self.calls]

    def shift_rows(self) -> list[tuple[int, int, float, float, float, int]]:
        """The shift log as rows ``(day, agent, start, end, last_end, conversations)``."""
        n = int(self.ist[K.I_SHIFTLEN])
        cols = [c[:n].tolist() for c in self.shifts]
        return list(zip(*cols)) if n else []

    def set_active(self, active: bool) -> None:
        self.ist[K.I_ACTIVE] = int(active)


_notice_given = False


def agent_path() -> str:
    """Which agents' day runs: ``"compiled"`` (the Numba kernels), ``"kernels-uncompiled"``
    (the kernels' source with ``NUMBA_DISABLE_JIT=1``, for debugging) or ``"python"`` (the
    Python agent loop of :mod:`collectsim.collectors`: without Numba, or with
    ``COLLECTSIM_KERNELS=0``). All three give the same results."""
    global _notice_given
    if os.environ.get("COLLECTSIM_KERNELS", "1") == "0":
        return "python"
    if not K.AVAILABLE:
        if not _notice_given:
            _notice_given = True
            print(
                "collectsim: Numba is not installed; the agents' day runs in Python (slower, same results)",
                file=sys.stderr,
            )
        return "python"
    return "compiled" if K.COMPILED else "kernels-uncompiled"


def for_pool(pool: Any, comp: Any, n_actions: int, rng: np.random.Generator) -> CompiledTeam:
    """The agents' day on the compiled kernels with a ``collectors.CollectorPool``'s
    constants, its contact rules ``comp`` and the collectors' random stream ``rng``."""
    self = pool
    cfg, rules = self.cfg, comp.cfg
    c = np.zeros(K.N_CFG)
    c[K.C_SHIFT_START], c[K.C_SHIFT_END] = self.shift_start, self.shift_end
    c[K.C_BREAK_START], c[K.C_BREAK_END] = self.break_start, self.break_end
    c[K.C_CONTINUOUS] = self.continuous
    c[K.C_CAP] = math.inf if self.continuous else cfg.max_conversations_per_day
    c[K.C_GAP] = self.retry.gap_minutes / K.MIN_PER_DAY
    c[K.C_LAST_REDIAL] = self.retry.last_hour / 24.0
    c[K.C_TRIES_MAX] = self.retry.attempts_per_day
    c[K.C_WINDOW_OK] = self.window_ok
    c[K.C_WS], c[K.C_WE] = rules.window_start_hour, rules.window_end_hour
    c[K.C_MAX_CONN : K.C_COOLDOWN + 1] = comp.limits
    c[K.C_ENFORCE] = comp.enforce
    c[K.C_TP_ALLOWED] = rules.third_party_contact
    c[K.C_TP_LOCATE] = -1.0 if rules.third_party_locate_after is None else rules.third_party_locate_after
    c[K.C_DECAY] = self.state.decay
    c[K.C_AVOID] = self.contact_effect
    c[K.C_FLAT_REACH] = all(x == 1.0 for x in self.reach_by_hour)
    answers = self.answers
    c[K.C_KEYED] = answers is not None
    inc = np.zeros((cfg.size, n_actions))
    for k, by_action in enumerate(self.stress_inc):
        for a, v in by_action.items():
            inc[k, a] = v
    st = self.state
    drawn = answers.counter if answers is not None else np.zeros(1, np.int64)
    acct = (st.pending_call_u8, self.callable, st.stress, st.stress_t, st.stress_peak, self.contact, self.sens, drawn)
    rule_counts = np.zeros(len(comp.counts), np.int64)

    def rule_arrays() -> tuple[Any, ...]:
        return (
            comp.attempts_today,
            comp.attempts_7d,
            comp.connected_today,
            comp.unanswered_today,
            comp.last_conversation,
            comp.failed_streak,
            comp.by_account,
            rule_counts,
        )

    team = CompiledTeam(
        self.env,
        cfg.size,
        c,
        np.ascontiguousarray(self.skill_mult, dtype=np.float64),
        inc,
        np.asarray(self.third_party_prob, dtype=np.float64),
        np.asarray(self.reach_by_hour, dtype=np.float64),
        acct,
        rule_arrays,
        rng.random,
        lambda k: np.maximum(sample(cfg.connected_minutes, rng, k), 0.01),
        lambda k: np.maximum(sample(cfg.no_answer_minutes, rng, k), 0.01),
    )
    if answers is not None:
        team.ist[K.I_KEY] = np.array([answers.streams.key(answers.name)], dtype=np.uint64).view(np.int64)[0]
    return team


def warm() -> float:
    """Compile the kernels (or load them from Numba's on-disk cache) now, on tiny arrays
    of the types a real run hands them, so that sweep workers started after this find
    them compiled. Returns the seconds it took (0 without Numba).

    On a cold cache and a machine with more than one core, the models' and the ledger's
    steps compile in a helper process while this one compiles the agents' kernels (about
    half the time each), and are then loaded from the cache here."""
    if not K.AVAILABLE:
        return 0.0
    import time

    t0 = time.perf_counter()
    helper = _steps_compiling_elsewhere()
    _warm_team()
    if helper is not None:
        helper.wait()  # whatever it did not write, warm_steps() compiles here
    warm_steps()
    return time.perf_counter() - t0


def _steps_compiling_elsewhere() -> subprocess.Popen[bytes] | None:
    """Start ``warm_steps()`` in a helper process when the kernel cache is cold (a small
    step kernel, compiled here first, was not found in it) and there is a second core;
    otherwise None."""
    from collectsim import state_kernels

    if not K.COMPILED or (os.cpu_count() or 1) < 2:
        return None
    i, f = np.zeros(1, dtype=np.int64), np.zeros(1)
    state_kernels.book_step(i, f, f, f, f, *[np.zeros(1) for _ in range(4)])
    if not state_kernels.book_step.stats.cache_misses:
        return None
    code = "from collectsim.compiled_team import warm_steps; warm_steps()"
    try:
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def _warm_team() -> None:
    """Run the agents' kernels on a team of one agent and two accounts for half a day."""
    env = simpy.Environment()
    n = 2
    u8, f8, i4 = np.uint8, np.float64, np.int32
    acct: tuple[np.ndarray, ...] = (np.zeros(n, u8), np.zeros(n, u8), *[np.zeros(n) for _ in range(5)])
    acct = (*acct, np.zeros(n, np.int64))
    rules = (
        np.zeros(n, i4),
        np.zeros(n, i4),
        np.zeros(n, i4),
        np.zeros(n, i4),
        np.zeros(n, f8),
        np.zeros(n, i4),
        np.zeros((6, n), i4),
        np.zeros(6, np.int64),
    )
    cfg = np.zeros(K.N_CFG)
    cfg[K.C_CONTINUOUS] = 1.0
    team = CompiledTeam(
        env,
        1,
        cfg,
        np.ones(1),
        np.zeros((1, 1)),
        np.full(1, -1.0),
        np.ones(24),
        acct,
        lambda: rules,
        np.random.default_rng(0).random,
        np.ones,
        np.ones,
    )
    team.push_many(np.zeros(1), np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1))
    env.process(team.run())
    env.run(until=0.5)


def warm_steps() -> None:
    """Compile (or load) the models', the ledger's and the keyed draws' kernels."""
    from collectsim import contact_kernels, ledger_kernels, state_kernels
    from collectsim.behaviour import intensity, intensity_kernels, response_kernels
    from collectsim.ledger import ranks_within
    from collectsim.random_streams import RandomStreams

    streams = RandomStreams(0, 0)
    streams.keyed("warm", np.zeros(1, np.int64), np.zeros(1, np.int64))
    streams.keyed_next("warm", np.zeros(1, np.int64), np.zeros(1, np.int64), 2)
    ranks_within(np.zeros(1, np.int64))
    intensity.waiting_times(np.ones(1), np.ones(1), 1.0, np.ones(1))
    intensity_kernels.warm()
    state_kernels.warm()
    ledger_kernels.warm()
    contact_kernels.warm()
    response_kernels.warm()


if __name__ == "__main__":  # `python -m collectsim.compiled_team`: compile or load the kernels
    seconds = warm()
    print(f"collectsim: compiled kernels ready ({seconds:.1f} s)" if K.AVAILABLE else "collectsim: no Numba")
