"""Compiled kernels of the agents' working day: the work queue, the team's agenda, the
redial line and one agent's pass through its shift, as Numba functions over NumPy arrays.

Every function is plain Python over arrays and scalars (no objects), so the same source
runs with the JIT off (``NUMBA_DISABLE_JIT=1``) for debugging; ``tests/test_kernels.py``
compares the two. Without Numba installed the decorator is a no-op and
:mod:`collectsim.collectors` runs its own Python agent loop instead (slower; same
results). All kernels live in this one module because Numba's on-disk cache
(``cache=True``) does not notice a changed callee in another module.

The state a kernel reads and writes is a handful of arrays, grouped in tuples:

- ``q``: the work queue, a binary heap ordered by (policy key, arrival number):
  ``(key f8, seq i8, idx i8, action i8, discount f8)``, length ``ist[Q_LEN]``;
- ``red``: the redial line, a ring buffer (FIFO) of
  ``(time f8, agenda seq i8, key f8, seq i8, idx i8, action i8, discount f8)``;
- ``ag``: the team's agenda, a heap of ``(time f8, seq i8, who i8)`` ordered by time,
  then scheduling order (``who`` is an agent, or ``BELL``);
- ``idle``: agents waiting for calls, a ring buffer (FIFO);
- ``agent``: per agent, the mode (where it resumes) ``i8`` and ``(day, start, end,
  redial_until, next_day, break_start, break_end, conversations)`` ``f8``;
- ``draws``: the pre-drawn uniform, connected-minutes and unanswered-minutes buffers
  (refilled by Python, in the order the Python loop drew them, when one runs out);
- ``log``: one row per call (the fields of ``collectors.LOG_FIELDS``) and the shift log;
- ``acct``: the account columns a call reads and writes (queued flag, callable flag,
  stress, stress time, stress peak, contactability, sensitivity);
- ``rules``: the contact-rule counters (today's attempts, 7-day attempts, connected
  and unanswered today, last conversation, failed own-number streak, per-account
  counts of blocked calls or breaches, and the run's count per rule);
- ``ist``: integer scalars (lengths, cursors, counters: the ``I_*`` indices below);
- ``cfg``: the run's constants (the ``C_*`` indices below), ``skill`` per agent,
  ``inc`` (stress a conversation adds per unit of sensitivity, agent x action),
  ``tp_prob`` (who answers a third-party number, per action; -1 for the borrower's own)
  and ``reach`` (reachability by hour).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

try:
    from numba import njit

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised where Numba has no wheel
    AVAILABLE = False

    def njit(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
        """Without Numba: the function itself."""
        if args and callable(args[0]):
            return args[0]
        return lambda f: f


#: Whether the kernels run compiled (Numba present and the JIT not switched off).
COMPILED = AVAILABLE and os.environ.get("NUMBA_DISABLE_JIT", "0") in ("", "0")

MIN_PER_DAY = 1440.0
BELL = -1

# Indices into ``ist`` (integer scalars of the team's state).
I_QLEN = 0  # calls in the work queue
I_QSEQ = 1  # arrival numbers handed out to queued calls
I_RHEAD = 2  # redial line: first entry
I_RLEN = 3  # redial line: entries
I_ALEN = 4  # agenda entries
I_ASEQ = 5  # agenda scheduling counter (shared with redials)
I_IHEAD = 6  # idle line: first agent
I_ILEN = 7  # idle line: agents
I_CSEQ = 8  # contact sequence number (shared with automated contacts)
I_LOGLEN = 9  # call-log rows
I_SHIFTLEN = 10  # shift-log rows
I_UCUR = 11  # cursor into the uniform draws
I_CCUR = 12  # cursor into the connected-minutes draws
I_NCUR = 13  # cursor into the unanswered-minutes draws
I_INIT = 14  # agents started (n_agents + 1 once the bell is set too)
I_ACTIVE = 15  # 1 while the run's days go on
N_IST = 16

# Indices into ``cfg`` (the run's constants).
C_SHIFT_START = 0  # days after midnight
C_SHIFT_END = 1
C_BREAK_START = 2  # inf without a break inside the shift
C_BREAK_END = 3
C_CONTINUOUS = 4  # 1: a round-the-clock team
C_CAP = 5  # conversations per agent and day (inf for a round-the-clock team)
C_GAP = 6  # retry rule: days between attempts
C_LAST_REDIAL = 7  # retry rule: last redial, days after midnight
C_TRIES_MAX = 8  # retry rule: attempts per day
C_WINDOW_OK = 9  # 1: the whole shift lies inside the calling window
C_WS = 10  # calling window, hours
C_WE = 11
C_MAX_CONN = 12  # rule limits (inf / -inf when not active)
C_MAX_UNANS = 13
C_MAX_WEEK = 14
C_COOLDOWN = 15
C_ENFORCE = 16  # 1: a broken rule blocks the call
C_TP_ALLOWED = 17  # 1: third parties may be called
C_TP_LOCATE = 18  # third_party_locate_after (-1: none)
C_DECAY = 19  # stress decay rate per day
C_AVOID = 20  # contactability falls as exp(-avoid * stress)
C_FLAT_REACH = 21  # 1: reachability 1 at every hour
C_KEEP_SHIFTS = 22  # 1: keep the shift log
N_CFG = 23

# Agent modes: where an agent resumes.
M_OUTER = 0  # at the top of its day (sleeping until it begins, or just started)
M_STARTED = 1  # woken at its shift start
M_SHIFT = 2  # inside its shift
M_DONE = 3  # the run is over

# Agent-state columns (``agent[1]``).
A_DAY, A_START, A_END, A_REDIAL_UNTIL, A_NEXT_DAY, A_BRK_START, A_BRK_END, A_CONVS = range(8)

# What an agent hands back (with a delay in days for R_DELAY), and what a segment returns.
R_DELAY = 0  # busy or asleep for a while
R_IDLE = 1  # waiting for calls
R_DONE = 2  # the run is over
NEED_U = 3  # refill the uniform draws and call again
NEED_CONN = 4  # refill the connected-minutes draws
NEED_NOANS = 5  # refill the unanswered-minutes draws
NEED_LOG = 6  # grow the call log
NEED_SHIFTS = 7  # grow the shift log
WAIT = 8  # SimPy's next event comes first

# Rule rows of the per-account counts (compliance.RULES).
RULE_WINDOW, RULE_CONNECTED, RULE_UNANSWERED, RULE_WEEK, RULE_COOLDOWN, RULE_THIRD = range(6)


# ----------------------------------------------------------------------------- work queue


@njit(cache=True)
def _q_less(key: Any, seq: Any, a: int, b: int) -> bool:
    """Heap order of the work queue: policy key, then arrival number."""
    return key[a] < key[b] or (key[a] == key[b] and seq[a] < seq[b])


@njit(cache=True)
def _q_swap(q: Any, a: int, b: int) -> None:
    key, seq, idx, act, disc = q
    key[a], key[b] = key[b], key[a]
    seq[a], seq[b] = seq[b], seq[a]
    idx[a], idx[b] = idx[b], idx[a]
    act[a], act[b] = act[b], act[a]
    disc[a], disc[b] = disc[b], disc[a]


@njit(cache=True)
def queue_push(q: Any, ist: Any, key: float, seq: int, i: int, action: int, discount: float) -> None:
    """Push one call onto the work queue (capacity checked by the caller).

    Writes ``q`` and ``ist[I_QLEN]``."""
    k, s, idx, act, disc = q
    n = ist[I_QLEN]
    k[n], s[n], idx[n], act[n], disc[n] = key, seq, i, action, discount
    ist[I_QLEN] = n + 1
    while n > 0:
        parent = (n - 1) >> 1
        if _q_less(k, s, n, parent):
            _q_swap(q, n, parent)
            n = parent
        else:
            break


@njit(cache=True)
def queue_pop(q: Any, ist: Any) -> None:
    """Drop the work queue's first call (read it from index 0 first).

    Writes ``q`` and ``ist[I_QLEN]``."""
    k, s = q[0], q[1]
    n = ist[I_QLEN] - 1
    ist[I_QLEN] = n
    if n == 0:
        return
    _q_swap(q, 0, n)
    j = 0
    while True:
        left = 2 * j + 1
        if left >= n:
            break
        c = left
        if left + 1 < n and _q_less(k, s, left + 1, left):
            c = left + 1
        if _q_less(k, s, c, j):
            _q_swap(q, c, j)
            j = c
        else:
            break


# ----------------------------------------------------------------------------- agenda, idle line


@njit(cache=True)
def _a_less(t: Any, s: Any, a: int, b: int) -> bool:
    """Agenda order: time, then scheduling order (as SimPy orders its events)."""
    return t[a] < t[b] or (t[a] == t[b] and s[a] < s[b])


@njit(cache=True)
def _a_swap(ag: Any, a: int, b: int) -> None:
    t, s, w = ag
    t[a], t[b] = t[b], t[a]
    s[a], s[b] = s[b], s[a]
    w[a], w[b] = w[b], w[a]


@njit(cache=True)
def _a_sift_down(ag: Any, n: int) -> None:
    t, s = ag[0], ag[1]
    j = 0
    while True:
        left = 2 * j + 1
        if left >= n:
            break
        c = left
        if left + 1 < n and _a_less(t, s, left + 1, left):
            c = left + 1
        if _a_less(t, s, c, j):
            _a_swap(ag, c, j)
            j = c
        else:
            break


@njit(cache=True)
def agenda_push(ag: Any, ist: Any, time: float, who: int) -> None:
    """Schedule ``who`` (an agent or ``BELL``) at ``time``, with the next scheduling
    number. Writes ``ag``, ``ist[I_ALEN]`` and ``ist[I_ASEQ]``."""
    t, s, w = ag
    n = ist[I_ALEN]
    t[n], s[n], w[n] = time, ist[I_ASEQ], who
    ist[I_ASEQ] += 1
    ist[I_ALEN] = n + 1
    while n > 0:
        parent = (n - 1) >> 1
        if _a_less(t, s, n, parent):
            _a_swap(ag, n, parent)
            n = parent
        else:
            break


@njit(cache=True)
def agenda_pop(ag: Any, ist: Any) -> None:
    """Drop the agenda's first entry. Writes ``ag`` and ``ist[I_ALEN]``."""
    n = ist[I_ALEN] - 1
    ist[I_ALEN] = n
    if n > 0:
        _a_swap(ag, 0, n)
        _a_sift_down(ag, n)


@njit(cache=True)
def agenda_replace(ag: Any, ist: Any, time: float, who: int) -> None:
    """Replace the agenda's first entry by ``who`` at ``time`` (``heapreplace``)."""
    t, s, w = ag
    t[0], s[0], w[0] = time, ist[I_ASEQ], who
    ist[I_ASEQ] += 1
    _a_sift_down(ag, ist[I_ALEN])


@njit(cache=True)
def wake(ag: Any, idle: Any, ist: Any, k: int, t: float) -> None:
    """Wake up to ``k`` idle agents (first come, first woken) at time ``t``."""
    cap = idle.size
    while k > 0 and ist[I_ILEN] > 0:
        agent = idle[ist[I_IHEAD]]
        ist[I_IHEAD] = (ist[I_IHEAD] + 1) % cap
        ist[I_ILEN] -= 1
        agenda_push(ag, ist, t, agent)
        k -= 1


@njit(cache=True)
def _idle_append(idle: Any, ist: Any, agent: int) -> None:
    idle[(ist[I_IHEAD] + ist[I_ILEN]) % idle.size] = agent
    ist[I_ILEN] += 1


@njit(cache=True)
def push_calls(q: Any, ag: Any, idle: Any, ist: Any, keys: Any, idx: Any, action: Any, discount: Any, now: float) -> None:
    """Queue a batch of calls (arrival numbers in batch order) and wake as many idle
    agents as calls were queued. Capacity is checked by the caller."""
    for j in range(idx.size):
        queue_push(q, ist, keys[j], ist[I_QSEQ], idx[j], action[j], discount[j])
        ist[I_QSEQ] += 1
    if ist[I_ILEN] > 0:
        wake(ag, idle, ist, idx.size, now)


# ----------------------------------------------------------------------------- contact rules


@njit(cache=True)
def _count_rule(rules: Any, r: int, i: int) -> None:
    rules[6][r, i] += 1
    rules[7][r] += 1


@njit(cache=True)
def own_number_allowed(rules: Any, cfg: Any, i: int, now: float) -> bool:
    """The per-call rules on the borrower's own number (connected and unanswered calls
    today, attempts in 7 days, cool-down after a conversation), counted per rule: under
    ``enforce`` the first broken rule blocks the call; otherwise every broken rule is a
    breach and the call goes ahead. Reads and writes ``rules``."""
    today, week, conn, unans, last = rules[0], rules[1], rules[2], rules[3], rules[4]
    broken1 = conn[i] >= cfg[C_MAX_CONN]
    broken2 = unans[i] >= cfg[C_MAX_UNANS]
    broken3 = week[i] >= cfg[C_MAX_WEEK]
    broken4 = now - last[i] < cfg[C_COOLDOWN]
    if not (broken1 or broken2 or broken3 or broken4):
        return True
    enforce = cfg[C_ENFORCE] != 0.0
    for r in range(1, 5):
        if (r == 1 and broken1) or (r == 2 and broken2) or (r == 3 and broken3) or (r == 4 and broken4):
            _count_rule(rules, r, i)
            if enforce:
                return False
    return True


@njit(cache=True)
def third_party_allowed(rules: Any, cfg: Any, i: int) -> bool:
    """The third-party rule: allowed by the preset, or (``third_party_locate_after =
    k``) to locate a borrower whose last ``k`` own-number attempts all failed; else
    counted, and blocked under ``enforce``."""
    if cfg[C_TP_ALLOWED] != 0.0:
        return True
    k = cfg[C_TP_LOCATE]
    if k >= 0.0 and rules[5][i] >= k:
        return True
    _count_rule(rules, RULE_THIRD, i)
    return cfg[C_ENFORCE] == 0.0


@njit(cache=True)
def window_allowed(rules: Any, cfg: Any, i: int, now: float) -> bool:
    """The calling-window rule for a call at ``now`` (the hour rounded to 1e-9 h, as
    ``compliance.hour_of`` does); counted when outside."""
    hour = round((now % 1.0) * 24.0, 9)
    if cfg[C_WS] <= hour < cfg[C_WE]:
        return True
    _count_rule(rules, RULE_WINDOW, i)
    return cfg[C_ENFORCE] == 0.0


# ----------------------------------------------------------------------------- an agent's day


@njit(cache=True)
def agent_run(
    k: int,
    now: float,
    q: Any,
    red: Any,
    agent: Any,
    draws: Any,
    log: Any,
    acct: Any,
    rules: Any,
    ist: Any,
    cfg: Any,
    skill: Any,
    inc: Any,
    tp_prob: Any,
    reach: Any,
) -> tuple[int, float]:
    """Run agent ``k``, resumed at time ``now``, until it is busy, idle or done.

    One pass of the inner loop per call attempt: take the queue's first call, skip it
    if the account may not be called today, dial (right-party contact with probability
    contactability x exp(-avoidance x stress) x reachability of the hour, or a third
    party's answer probability), check the contact rules, count the attempt, add the
    conversation's stress, put an unanswered own number on the redial line under the
    retry rule, log the call. Returns ``(R_DELAY, days)``, ``(R_IDLE, 0)``,
    ``(R_DONE, 0)`` or ``(NEED_*, 0)`` when a draw buffer ran out (nothing of the
    attempt is done yet: call again at the same ``now`` after refilling).

    Reads ``cfg``, ``skill``, ``inc``, ``tp_prob``, ``reach``; reads and writes ``q``,
    ``red``, ``agent``, the cursors of ``draws``, ``log``, ``acct`` and ``rules``."""
    mode_of, st = agent
    key, qseq, qidx, qact, qdisc = q
    ubuf, cbuf, nbuf = draws
    pending, callable_, stress, stress_t, peak, contact, sens = acct
    active = ist[I_ACTIVE] != 0
    mode = mode_of[k]
    if mode == M_DONE:
        return R_DONE, 0.0
    if mode == M_OUTER:
        if not active:
            mode_of[k] = M_DONE
            return R_DONE, 0.0
        day = float(math.floor(now + 1e-12))
        if cfg[C_CONTINUOUS] != 0.0:
            start, end = now, math.inf
        else:
            start, end = day + cfg[C_SHIFT_START], day + cfg[C_SHIFT_END]
        st[k, A_DAY] = day
        st[k, A_START] = start
        st[k, A_END] = end
        st[k, A_REDIAL_UNTIL] = min(day + cfg[C_LAST_REDIAL], end)
        st[k, A_NEXT_DAY] = day + 1.0
        st[k, A_BRK_START] = day + cfg[C_BREAK_START]
        st[k, A_BRK_END] = day + cfg[C_BREAK_END]
        mode_of[k] = M_STARTED
        if now < start:
            return R_DELAY, start - now
        mode = M_STARTED
    if mode == M_STARTED:
        if not active:
            mode_of[k] = M_DONE
            return R_DONE, 0.0
        st[k, A_CONVS] = 0.0
        mode_of[k] = M_SHIFT
    day = st[k, A_DAY]
    end = st[k, A_END]
    redial_until = st[k, A_REDIAL_UNTIL]
    next_day = st[k, A_NEXT_DAY]
    brk_start, brk_end = st[k, A_BRK_START], st[k, A_BRK_END]
    convs = st[k, A_CONVS]
    cap = cfg[C_CAP]
    third_ok = cfg[C_TP_ALLOWED]
    while now < end and convs < cap:
        if brk_start <= now < brk_end:
            # The agent's break, inside the shift (a call running into it ends first).
            return R_DELAY, brk_end - now
        if now >= next_day:
            # A round-the-clock agent works across midnight: a new day for the hour of
            # the day and the retry rule.
            day = float(math.floor(now + 1e-12))
            redial_until, next_day = day + cfg[C_LAST_REDIAL], day + 1.0
            st[k, A_DAY], st[k, A_REDIAL_UNTIL], st[k, A_NEXT_DAY] = day, redial_until, next_day
        if ist[I_QLEN] == 0:
            return R_IDLE, 0.0
        i = qidx[0]
        if not callable_[i]:
            pending[i] = 0
            queue_pop(q, ist)
            continue
        action = qact[0]
        s = stress[i] * math.exp(-cfg[C_DECAY] * (now - stress_t[i]))
        hour = (now - day) * 24.0
        third = tp_prob[action]  # who answers a third-party number; -1 for the borrower's
        p = contact[i] * math.exp(-cfg[C_AVOID] * s) if third < 0.0 else third
        if cfg[C_FLAT_REACH] == 0.0:
            p *= reach[int(hour) % 24]
        # The draws this attempt takes, checked before anything is changed.
        if ist[I_UCUR] >= ubuf.size:
            return NEED_U, 0.0
        connected = ubuf[ist[I_UCUR]] < p
        if connected and ist[I_CCUR] >= cbuf.size:
            return NEED_CONN, 0.0
        if not connected and ist[I_NCUR] >= nbuf.size:
            return NEED_NOANS, 0.0
        ist[I_UCUR] += 1
        if connected:
            minutes = cbuf[ist[I_CCUR]]
            ist[I_CCUR] += 1
        else:
            minutes = nbuf[ist[I_NCUR]]
            ist[I_NCUR] += 1
        it_key, it_seq, it_disc = key[0], qseq[0], qdisc[0]
        queue_pop(q, ist)
        pending[i] = 0
        if now + minutes / MIN_PER_DAY > end:
            # No time left today for this call: it goes back to the queue.
            queue_push(q, ist, it_key, it_seq, i, action, it_disc)
            pending[i] = 1
            break
        if cfg[C_WINDOW_OK] == 0.0 and not window_allowed(rules, cfg, i, now):
            continue
        tries = 0
        if third >= 0.0:
            # Another person's number: the borrower's per-number counters do not
            # apply, the third-party rule does.
            if third_ok == 0.0 and not third_party_allowed(rules, cfg, i):
                continue
        else:
            if not own_number_allowed(rules, cfg, i, now):
                continue
            # Count the attempt for the contact rules.
            today = rules[0]
            tries = today[i] + 1
            today[i] = tries
            rules[1][i] += 1
            if connected:
                rules[2][i] += 1
                rules[4][i] = now
            else:
                rules[3][i] += 1
        if connected:
            s += inc[k, action] * sens[i]
            stress[i] = s
            stress_t[i] = now
            if s > peak[i]:
                peak[i] = s
            convs += 1.0
        elif third < 0.0 and tries < cfg[C_TRIES_MAX] and now + cfg[C_GAP] < redial_until:
            # Redial later today under the policy's retry rule.
            _redial_append(red, ist, now + cfg[C_GAP], it_key, it_seq, i, action, it_disc)
            pending[i] = 1
        _log_call(log, ist, i, now, action, connected, skill[k], s, it_disc, k, minutes)
        st[k, A_CONVS] = convs
        return R_DELAY, minutes / MIN_PER_DAY
    # The shift is over (or the agent has had its conversations): sleep until tomorrow.
    if cfg[C_KEEP_SHIFTS] != 0.0:
        sh = log[10]
        n = ist[I_SHIFTLEN]
        sh[0][n] = int(day)
        sh[1][n] = k
        sh[2][n] = st[k, A_START]
        sh[3][n] = end
        sh[4][n] = now
        sh[5][n] = int(convs)
        ist[I_SHIFTLEN] = n + 1
    st[k, A_CONVS] = convs
    log[11][k] += int(convs)
    mode_of[k] = M_OUTER
    return R_DELAY, max(day + 1.0 - now, 0.0)


@njit(cache=True)
def _redial_append(red: Any, ist: Any, t: float, key: float, seq: int, i: int, action: int, disc: float) -> None:
    cap = red[0].size
    j = (ist[I_RHEAD] + ist[I_RLEN]) % cap
    red[0][j] = t
    red[1][j] = ist[I_ASEQ]
    ist[I_ASEQ] += 1
    red[2][j], red[3][j], red[4][j], red[5][j], red[6][j] = key, seq, i, action, disc
    ist[I_RLEN] += 1


@njit(cache=True)
def _log_call(
    log: Any,
    ist: Any,
    i: int,
    now: float,
    action: int,
    connected: bool,
    skill: float,
    s: float,
    disc: float,
    k: int,
    minutes: float,
) -> None:
    n = ist[I_LOGLEN]
    log[0][n] = i
    log[1][n] = now
    log[2][n] = action
    log[3][n] = connected
    log[4][n] = skill
    log[5][n] = s
    log[6][n] = disc
    log[7][n] = k
    log[8][n] = minutes
    log[9][n] = ist[I_CSEQ]
    ist[I_CSEQ] += 1
    ist[I_LOGLEN] = n + 1


# ----------------------------------------------------------------------------- the team


@njit(cache=True)
def bell_time(now: float, shift_end: float) -> float:
    """When today's shift ends (tomorrow's, if today's has ended)."""
    end = math.floor(now + 1e-12) + shift_end
    return end + 1.0 if now >= end else end


@njit(cache=True)
def run_segment(
    now: float,
    nxt: float,
    q: Any,
    red: Any,
    ag: Any,
    idle: Any,
    agent: Any,
    draws: Any,
    log: Any,
    acct: Any,
    rules: Any,
    ist: Any,
    cfg: Any,
    skill: Any,
    inc: Any,
    tp_prob: Any,
    reach: Any,
) -> int:
    """Run the team's agenda up to SimPy's next event at ``nxt``: every agent, redial
    and shift bell due before it, in order of (time, scheduling order), as one SimPy
    event each would run. The first call (at time ``now``) starts the agents in order
    and sets the bell. Returns ``WAIT`` when the next entry is not before ``nxt`` (ties
    go to SimPy), or ``NEED_*`` when Python must refill a draw buffer or grow a log
    first (then call again with the same arguments)."""
    n_agents = skill.size
    log_cap = log[0].size
    shift_cap = log[10][0].size
    keep_shifts = cfg[C_KEEP_SHIFTS] != 0.0
    at, aseq, awho = ag
    rt, rseq = red[0], red[1]
    rcap = rt.size
    while True:
        starting = ist[I_INIT] < n_agents
        if starting:
            # The agents start in order, as SimPy started one process per agent.
            who, t = ist[I_INIT], now
        else:
            if ist[I_INIT] == n_agents:
                if cfg[C_CONTINUOUS] == 0.0:
                    agenda_push(ag, ist, now + (bell_time(now, cfg[C_SHIFT_END]) - now), BELL)
                ist[I_INIT] = n_agents + 1
            # The next entry by (time, seq): the first redial or the agenda's first.
            h = ist[I_RHEAD]
            redial = ist[I_RLEN] > 0 and (
                ist[I_ALEN] == 0 or rt[h] < at[0] or (rt[h] == at[0] and rseq[h] < aseq[0])
            )
            if redial:
                t = rt[h]
            elif ist[I_ALEN] > 0:
                t = at[0]
            else:
                t = math.inf
            if t >= nxt:
                return WAIT
            if redial:
                # A redial that is due goes back on the queue and wakes an idle agent.
                queue_push(q, ist, red[2][h], red[3][h], red[4][h], red[5][h], red[6][h])
                ist[I_RHEAD] = (h + 1) % rcap
                ist[I_RLEN] -= 1
                if ist[I_ILEN] > 0:
                    wake(ag, idle, ist, 1, t)
                continue
            who = awho[0]
            if who < 0:
                # The bell: idle agents stop waiting for calls at the end of the shift.
                agenda_pop(ag, ist)
                wake(ag, idle, ist, ist[I_ILEN], t)
                if ist[I_ACTIVE] != 0:
                    agenda_push(ag, ist, t + (bell_time(t, cfg[C_SHIFT_END]) - t), BELL)
                continue
        if ist[I_LOGLEN] >= log_cap:
            return NEED_LOG
        if keep_shifts and ist[I_SHIFTLEN] >= shift_cap:
            return NEED_SHIFTS
        code, r = agent_run(who, t, q, red, agent, draws, log, acct, rules, ist, cfg, skill, inc, tp_prob, reach)
        if code >= NEED_U:
            return code
        if starting:
            if code == R_IDLE:
                _idle_append(idle, ist, who)
            elif code == R_DELAY:
                agenda_push(ag, ist, t + r, who)
            ist[I_INIT] = who + 1
        elif code == R_DONE:
            agenda_pop(ag, ist)
        elif code == R_IDLE:
            agenda_pop(ag, ist)
            _idle_append(idle, ist, who)
        else:
            agenda_replace(ag, ist, t + r, who)


def new_state() -> np.ndarray:
    """A fresh ``ist`` (integer scalars), the run active."""
    ist = np.zeros(N_IST, dtype=np.int64)
    ist[I_ACTIVE] = 1
    return ist
