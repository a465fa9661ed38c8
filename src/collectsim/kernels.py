"""Compiled kernels of the agents' working day: the work queue, the team's agenda, the
redial line and one agent's pass through its shift, as Numba functions over NumPy arrays.

Every function is plain Python over arrays and scalars (no objects), so the same source
runs with the JIT off (``NUMBA_DISABLE_JIT=1``) for debugging; ``tests/test_kernels.py``
compares the two. Without Numba installed the decorator is a no-op and
:mod:`collectsim.collectors` runs its own Python agent loop instead (slower; same
results). All kernels live in this one module because Numba's on-disk cache
(``cache=True``) does not notice a changed callee in another module.

The state the kernels work on is laid out in :mod:`collectsim.compiled_team`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from collectsim.jit import AVAILABLE, COMPILED, compiled_steps, njit  # noqa: F401 (re-exported)

MIN_PER_DAY = 1440.0
BELL = -1

# Indices into ``ist``: queue length and arrival counter; redial line head and length;
# agenda length and scheduling counter (shared with redials); idle line head and length;
# contact sequence number (shared with automated contacts); call-log and shift-log rows;
# cursors into the three draw buffers; agents started (n + 1 once the bell is set);
# 1 while the run's days go on.
(I_QLEN, I_QSEQ, I_RHEAD, I_RLEN, I_ALEN, I_ASEQ, I_IHEAD, I_ILEN, I_CSEQ, I_LOGLEN, I_SHIFTLEN) = range(11)
I_UCUR, I_CCUR, I_NCUR, I_INIT, I_ACTIVE, I_KEY, N_IST = 11, 12, 13, 14, 15, 16, 17

# Indices into ``cfg``: shift start and end, break start and end (days after midnight;
# inf without a break inside the shift); 1 for a round-the-clock team; conversations per
# agent and day; retry rule (gap in days, last redial in days after midnight, attempts a
# day); 1 when the whole shift lies inside the calling window, the window's hours; rule
# limits (inf / -inf when a rule is not active); 1 under ``enforce``; 1 when third
# parties may be called, ``third_party_locate_after`` (-1: none); stress decay per day;
# contactability avoidance (exp(-avoid x stress)); 1 for reachability 1 at every hour;
# 1 to keep the shift log; 1 to draw whether a call is answered per account (keyed:
# ``ist[I_KEY]`` holds the stream's key, ``acct``'s last column each account's count).
(C_SHIFT_START, C_SHIFT_END, C_BREAK_START, C_BREAK_END, C_CONTINUOUS, C_CAP, C_GAP, C_LAST_REDIAL) = range(8)
(C_TRIES_MAX, C_WINDOW_OK, C_WS, C_WE, C_MAX_CONN, C_MAX_UNANS, C_MAX_WEEK, C_COOLDOWN) = range(8, 16)
(C_ENFORCE, C_TP_ALLOWED, C_TP_LOCATE, C_DECAY, C_AVOID, C_FLAT_REACH, C_KEEP_SHIFTS, C_KEYED, N_CFG) = range(16, 25)

# Agent modes (where an agent resumes): at the top of its day; woken at its shift start;
# inside its shift; the run is over. And its state columns (``agent[1]``).
M_OUTER, M_STARTED, M_SHIFT, M_DONE = range(4)
A_DAY, A_START, A_END, A_REDIAL_UNTIL, A_NEXT_DAY, A_BRK_START, A_BRK_END, A_CONVS = range(8)

# What an agent hands back (R_DELAY with a delay in days), and what a segment returns:
# NEED_* when Python must refill a draw buffer or grow a log (then call again), WAIT
# when SimPy's next event comes first.
R_DELAY, R_IDLE, R_DONE, NEED_U, NEED_CONN, NEED_NOANS, NEED_LOG, NEED_SHIFTS, WAIT = range(9)

# Rule rows of the per-account counts (compliance.RULES).
RULE_WINDOW, RULE_CONNECTED, RULE_UNANSWERED, RULE_WEEK, RULE_COOLDOWN, RULE_THIRD = range(6)


@njit(cache=True, _nrt=False)
def keyed_uniform(key: int, i: int, k: int) -> float:
    """``RandomStreams.keyed``'s uniform (same bits) for account ``i``'s ``k``-th draw; ``key`` as int64."""
    z = np.uint64(key) + np.uint64(i) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(k) * np.uint64(0xD1B54A32D192ED03)
    for _ in range(2):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (np.float64(z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


# ----------------------------------------------------------------------------- heaps


@njit(cache=True, _nrt=False)
def _less(key: Any, seq: Any, a: int, b: int) -> bool:
    """Heap order: key (the policy key; the time), then arrival (scheduling) number, as
    ``heapq`` orders tuples and SimPy its events."""
    return key[a] < key[b] or (key[a] == key[b] and seq[a] < seq[b])


@njit(cache=True, _nrt=False)
def _swap(h: Any, a: int, b: int) -> None:
    key, seq, x, y, z = h
    key[a], key[b], seq[a], seq[b] = key[b], key[a], seq[b], seq[a]
    x[a], x[b], y[a], y[b], z[a], z[b] = x[b], x[a], y[b], y[a], z[b], z[a]


@njit(cache=True, _nrt=False)
def _sift_down(h: Any, n: int) -> None:
    key, seq = h[0], h[1]
    j = 0
    while True:
        c = 2 * j + 1
        if c >= n:
            break
        if c + 1 < n and _less(key, seq, c + 1, c):
            c += 1
        if not _less(key, seq, c, j):
            break
        _swap(h, c, j)
        j = c


@njit(cache=True, _nrt=False)
def heap_push(h: Any, ist: Any, ilen: int, key: float, seq: int, x: int, y: int, z: float) -> None:
    """Push ``(key, seq, x, y, z)`` onto heap ``h`` of length ``ist[ilen]`` (capacity
    checked by the caller): the work queue (``x, y, z`` = account, action, discount) or
    the agenda (``x`` = who)."""
    hk, hs, hx, hy, hz = h
    n = ist[ilen]
    hk[n], hs[n], hx[n], hy[n], hz[n] = key, seq, x, y, z
    ist[ilen] = n + 1
    while n > 0 and _less(hk, hs, n, (n - 1) >> 1):
        _swap(h, n, (n - 1) >> 1)
        n = (n - 1) >> 1


@njit(cache=True, _nrt=False)
def heap_pop(h: Any, ist: Any, ilen: int) -> None:
    """Drop heap ``h``'s first entry (read it from index 0 first)."""
    n = ist[ilen] - 1
    ist[ilen] = n
    if n > 0:
        _swap(h, 0, n)
        _sift_down(h, n)


@njit(cache=True, _nrt=False)
def agenda_push(ag: Any, ist: Any, time: float, who: int) -> None:
    """Schedule ``who`` (an agent or ``BELL``) at ``time`` with the next scheduling number."""
    heap_push(ag, ist, I_ALEN, time, ist[I_ASEQ], who, 0, 0.0)
    ist[I_ASEQ] += 1


@njit(cache=True, _nrt=False)
def agenda_replace(ag: Any, ist: Any, time: float, who: int) -> None:
    """Replace the agenda's first entry by ``who`` at ``time`` (``heapreplace``)."""
    ag[0][0], ag[1][0], ag[2][0] = time, ist[I_ASEQ], who
    ist[I_ASEQ] += 1
    _sift_down(ag, ist[I_ALEN])


@njit(cache=True, _nrt=False)
def wake(ag: Any, idle: Any, ist: Any, k: int, t: float) -> None:
    """Wake up to ``k`` idle agents (first come, first woken) at time ``t``."""
    cap = idle.size
    while k > 0 and ist[I_ILEN] > 0:
        agent = idle[ist[I_IHEAD]]
        ist[I_IHEAD] = (ist[I_IHEAD] + 1) % cap
        ist[I_ILEN] -= 1
        agenda_push(ag, ist, t, agent)
        k -= 1


@njit(cache=True, _nrt=False)
def _idle_append(idle: Any, ist: Any, agent: int) -> None:
    idle[(ist[I_IHEAD] + ist[I_ILEN]) % idle.size] = agent
    ist[I_ILEN] += 1


@njit(cache=True, _nrt=False)
def push_calls(
    q: Any, ag: Any, idle: Any, ist: Any, keys: Any, idx: Any, action: Any, discount: Any, now: float
) -> None:
    """Queue a batch of calls (arrival numbers in batch order) and wake as many idle
    agents as calls were queued. Capacity is checked by the caller."""
    for j in range(idx.size):
        heap_push(q, ist, I_QLEN, keys[j], ist[I_QSEQ], idx[j], action[j], discount[j])
        ist[I_QSEQ] += 1
    if ist[I_ILEN] > 0:
        wake(ag, idle, ist, idx.size, now)


# ----------------------------------------------------------------------------- contact rules


@njit(cache=True, _nrt=False)
def _count_rule(rules: Any, r: int, i: int) -> None:
    rules[6][r, i] += 1
    rules[7][r] += 1


@njit(cache=True, _nrt=False)
def own_number_allowed(rules: Any, cfg: Any, i: int, now: float) -> bool:
    """The per-call rules on the borrower's own number (connected and unanswered calls
    today, attempts in 7 days, cool-down after a conversation), counted per rule: under
    ``enforce`` the first broken rule blocks the call; otherwise every broken rule is a
    breach and the call goes ahead. Reads and writes ``rules``."""
    week, conn, unans, last = rules[1], rules[2], rules[3], rules[4]
    broken = (conn[i] >= cfg[C_MAX_CONN], unans[i] >= cfg[C_MAX_UNANS], week[i] >= cfg[C_MAX_WEEK])
    for r in range(4):
        if broken[r] if r < 3 else now - last[i] < cfg[C_COOLDOWN]:
            _count_rule(rules, r + 1, i)
            if cfg[C_ENFORCE] != 0.0:
                return False
    return True


@njit(cache=True, _nrt=False)
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


@njit(cache=True, _nrt=False)
def window_allowed(rules: Any, cfg: Any, i: int, now: float) -> bool:
    """The calling-window rule for a call at ``now`` (the hour rounded to 1e-9 h, as
    ``compliance.hour_of`` does); counted when outside."""
    hour = round((now % 1.0) * 24.0, 9)
    if cfg[C_WS] <= hour < cfg[C_WE]:
        return True
    _count_rule(rules, RULE_WINDOW, i)
    return cfg[C_ENFORCE] == 0.0


# ----------------------------------------------------------------------------- an agent's day


@njit(cache=True, _nrt=False)
def agent_run(k: int, now: float, team: Any, acct: Any, rules: Any, ist: Any, par: Any) -> tuple[int, float]:
    """Run agent ``k``, resumed at time ``now``, until it is busy, idle or done.

    One pass of the inner loop per call attempt: take the queue's first call, skip it
    if the account may not be called today, dial (right-party contact with probability
    contactability x exp(-avoidance x stress) x reachability of the hour, or a third
    party's answer probability), check the contact rules, count the attempt, add the
    conversation's stress, put an unanswered own number on the redial line under the
    retry rule, log the call. Returns ``(R_DELAY, days)``, ``(R_IDLE, 0)``,
    ``(R_DONE, 0)`` or ``(NEED_*, 0)`` when a draw buffer ran out (nothing of the
    attempt is done yet: call again at the same ``now`` after refilling).

    Reads ``par``; reads and writes ``team``, ``acct`` and ``rules``."""
    q, red, _, _, agent, draws, log = team
    cfg, skill, inc, tp_prob, reach = par
    mode_of, st = agent
    key, qseq, qidx, qact, qdisc = q
    ubuf, cbuf, nbuf = draws
    pending, callable_, stress, stress_t, peak, contact, sens, drawn = acct
    keyed = cfg[C_KEYED] != 0.0
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
            heap_pop(q, ist, I_QLEN)
            continue
        action = qact[0]
        s = stress[i] * math.exp(-cfg[C_DECAY] * (now - stress_t[i]))
        hour = (now - day) * 24.0
        third = tp_prob[action]  # who answers a third-party number; -1 for the borrower's
        p = contact[i] * math.exp(-cfg[C_AVOID] * s) if third < 0.0 else third
        if cfg[C_FLAT_REACH] == 0.0:
            p *= reach[int(hour) % 24]
        # The draws this attempt takes, checked before anything is changed.
        if not keyed and ist[I_UCUR] >= ubuf.size:
            return NEED_U, 0.0
        connected = (keyed_uniform(ist[I_KEY], i, drawn[i]) if keyed else ubuf[ist[I_UCUR]]) < p
        if connected and ist[I_CCUR] >= cbuf.size:
            return NEED_CONN, 0.0
        if not connected and ist[I_NCUR] >= nbuf.size:
            return NEED_NOANS, 0.0
        if keyed:
            drawn[i] += 1
        else:
            ist[I_UCUR] += 1
        if connected:
            minutes = cbuf[ist[I_CCUR]]
            ist[I_CCUR] += 1
        else:
            minutes = nbuf[ist[I_NCUR]]
            ist[I_NCUR] += 1
        it_key, it_seq, it_disc = key[0], qseq[0], qdisc[0]
        heap_pop(q, ist, I_QLEN)
        pending[i] = 0
        if now + minutes / MIN_PER_DAY > end:
            # No time left today for this call: it goes back to the queue.
            heap_push(q, ist, I_QLEN, it_key, it_seq, i, action, it_disc)
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
        n = ist[I_LOGLEN]
        log[0][n], log[1][n], log[2][n], log[3][n], log[4][n] = i, now, action, connected, skill[k]
        log[5][n], log[6][n], log[7][n], log[8][n], log[9][n] = s, it_disc, k, minutes, ist[I_CSEQ]
        ist[I_CSEQ] += 1
        ist[I_LOGLEN] = n + 1
        st[k, A_CONVS] = convs
        return R_DELAY, minutes / MIN_PER_DAY
    # The shift is over (or the agent has had its conversations): sleep until tomorrow.
    if cfg[C_KEEP_SHIFTS] != 0.0:
        sh, n = log[10], ist[I_SHIFTLEN]
        sh[0][n], sh[1][n], sh[2][n], sh[3][n], sh[4][n], sh[5][n] = int(day), k, st[k, A_START], end, now, int(convs)
        ist[I_SHIFTLEN] = n + 1
    st[k, A_CONVS] = convs
    log[11][k] += int(convs)
    mode_of[k] = M_OUTER
    return R_DELAY, max(day + 1.0 - now, 0.0)


@njit(cache=True, _nrt=False)
def _redial_append(red: Any, ist: Any, t: float, key: float, seq: int, i: int, action: int, disc: float) -> None:
    j = (ist[I_RHEAD] + ist[I_RLEN]) % red[0].size
    red[0][j], red[1][j] = t, ist[I_ASEQ]
    ist[I_ASEQ] += 1
    red[2][j], red[3][j], red[4][j], red[5][j], red[6][j] = key, seq, i, action, disc
    ist[I_RLEN] += 1


# ----------------------------------------------------------------------------- the team


@njit(cache=True, _nrt=False)
def bell_time(now: float, shift_end: float) -> float:
    """When today's shift ends (tomorrow's, if today's has ended)."""
    end = math.floor(now + 1e-12) + shift_end
    return end + 1.0 if now >= end else end


@njit(cache=True, _nrt=False)
def run_segment(now: float, nxt: float, team: Any, acct: Any, rules: Any, ist: Any, par: Any) -> int:
    """Run the team's agenda up to SimPy's next event at ``nxt``: every agent, redial
    and shift bell due before it, in order of (time, scheduling order), as one SimPy
    event each would run. The first call (at time ``now``) starts the agents in order
    and sets the bell. Returns ``WAIT`` when the next entry is not before ``nxt`` (ties
    go to SimPy), or ``NEED_*`` when Python must refill a draw buffer or grow a log
    first (then call again with the same arguments)."""
    q, red, ag, idle, _, _, log = team
    cfg, skill = par[0], par[1]
    n_agents = skill.size
    log_cap = log[0].size
    shift_cap = log[10][0].size
    keep_shifts = cfg[C_KEEP_SHIFTS] != 0.0
    at, aseq, awho = ag[0], ag[1], ag[2]
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
            redial = ist[I_RLEN] > 0 and (ist[I_ALEN] == 0 or rt[h] < at[0] or (rt[h] == at[0] and rseq[h] < aseq[0]))
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
                heap_push(q, ist, I_QLEN, red[2][h], red[3][h], red[4][h], red[5][h], red[6][h])
                ist[I_RHEAD] = (h + 1) % rcap
                ist[I_RLEN] -= 1
                if ist[I_ILEN] > 0:
                    wake(ag, idle, ist, 1, t)
                continue
            who = awho[0]
            if who < 0:
                # The bell: idle agents stop waiting for calls at the end of the shift.
                heap_pop(ag, ist, I_ALEN)
                wake(ag, idle, ist, ist[I_ILEN], t)
                if ist[I_ACTIVE] != 0:
                    agenda_push(ag, ist, t + (bell_time(t, cfg[C_SHIFT_END]) - t), BELL)
                continue
        if ist[I_LOGLEN] >= log_cap:
            return NEED_LOG
        if keep_shifts and ist[I_SHIFTLEN] >= shift_cap:
            return NEED_SHIFTS
        code, r = agent_run(who, t, team, acct, rules, ist, par)
        if code >= NEED_U:
            return code
        if starting:
            if code == R_IDLE:
                _idle_append(idle, ist, who)
            elif code == R_DELAY:
                agenda_push(ag, ist, t + r, who)
            ist[I_INIT] = who + 1
        elif code == R_DONE:
            heap_pop(ag, ist, I_ALEN)
        elif code == R_IDLE:
            heap_pop(ag, ist, I_ALEN)
            _idle_append(idle, ist, who)
        else:
            agenda_replace(ag, ist, t + r, who)
