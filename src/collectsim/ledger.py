"""Reading and posting the account state: the borrower view a response model gets,
repayments, what a response model decided, promises and plan instalments that fall due.

Plain functions over explicit arguments (the account state, the behaviour model, the
arrays of one step); the engine decides *when* they run and asks the response model
*what* happens, these functions book it.
"""

from __future__ import annotations

import numpy as np

from collectsim import ledger_kernels as K
from collectsim.behaviour.base import BehaviourModel, Repayments
from collectsim.behaviour.response import Borrowers, Contacts, Response
from collectsim.channels import ChannelTable
from collectsim.jit import COMPILED, njit
from collectsim.state import OPEN, AccountState

_scratch = np.zeros(0, dtype=np.int64)  # per-account counters for the compiled ranks, kept zero


@njit(cache=True, _nrt=False)
def _ranks_compiled(idx: np.ndarray, counts: np.ndarray, out: np.ndarray) -> None:
    for j in range(idx.size):
        out[j] = counts[idx[j]]
        counts[idx[j]] += 1
    for j in range(idx.size):
        counts[idx[j]] = 0


def ranks_within(idx: np.ndarray) -> np.ndarray:
    """For each element, how many earlier elements share its value (0, 1, 2, ...);
    ``idx`` holds account numbers (non-negative)."""
    global _scratch
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    if COMPILED and idx.dtype == np.int64:
        top = int(idx.max()) + 1
        if top > _scratch.size:
            _scratch = np.zeros(max(top, 2 * _scratch.size), dtype=np.int64)
        out = np.empty(idx.size, dtype=np.int64)
        _ranks_compiled(np.ascontiguousarray(idx), _scratch, out)
        return out
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    start = np.r_[True, s[1:] != s[:-1]]
    group_start = np.maximum.accumulate(np.where(start, np.arange(s.size), 0))
    r = np.empty(idx.size, dtype=np.int64)
    r[order] = np.arange(s.size) - group_start
    return r


def borrower_view(
    st: AccountState,
    idx: np.ndarray,
    t: np.ndarray | float,
    stress: np.ndarray,
    breached: np.ndarray | None = None,
    attempts_7d: np.ndarray | None = None,
) -> Borrowers:
    """The read-only view of accounts ``idx`` at times ``t`` that a response model gets
    (``stress``: their stress at those times; ``breached``, ``attempts_7d``: contact-rule
    facts of the accounts, when the caller has them)."""
    pf = st.pf
    if st.steps_compiled and idx.dtype == np.int64:
        n = idx.size
        tt = np.full(n, t, dtype=float) if np.ndim(t) == 0 else np.ascontiguousarray(t, dtype=float)
        ab, hard, free = np.empty(n), np.empty(n, dtype=bool), np.empty(n, dtype=bool)
        cols = np.empty((3, n))
        K.view_step(idx, tt, pf.ability, pf.hardship_ability_factor, pf.hardship_end, st.plan_active, st.promise_due,
                    pf.willingness, pf.sensitivity, st.balance, ab, hard, free, cols)  # fmt: skip
        return Borrowers(
            ability=ab,
            willingness=cols[0],
            sensitivity=cols[1],
            stress=stress,
            in_hardship=hard,
            can_commit=free,
            balance=cols[2],
            breached=breached,
            attempts_7d=attempts_7d,
        )
    return Borrowers(
        ability=pf.ability_at(idx, t),
        willingness=pf.willingness[idx],
        sensitivity=pf.sensitivity[idx],
        stress=stress,
        in_hardship=t < pf.hardship_end[idx],
        can_commit=~st.plan_active[idx] & (st.promise_due[idx] == np.inf),
        balance=st.balance[idx],
        breached=breached,
        attempts_7d=attempts_7d,
    )


def count_contacts(
    st: AccountState, ch: ChannelTable, idx: np.ndarray, t: np.ndarray, action: np.ndarray, connected: np.ndarray
) -> None:
    """Count one step's contacts (no account twice; automated ones were counted when
    sent): collector calls by action and day, attempts on the borrower's own number (a
    third party is someone else), first right-party contacts, failed-call streaks."""
    if st.steps_compiled and idx.dtype == np.int64 and action.dtype == np.int64:
        K.count_step(idx, action, connected, int(t[0]), ch.is_agent, ch.third_party, ch.is_call, st.contacts,
                     st.actions_done, st.last_action_day, st.attempts, st.conversations, st.attempts_to_rpc,
                     st.failed_streak)  # fmt: skip
        return
    is_agent = ch.is_agent[action]
    ci = idx[is_agent]
    if ci.size:
        st.contacts[ci] += 1
        st.count_action(ci, action[is_agent], int(t[0]))
    own = is_agent & ~ch.third_party[action]
    oi = idx[own]
    if oi.size:
        st.attempts[oi] += 1
        rpc = oi[connected[own]]
        first = rpc[st.conversations[rpc] == 0]
        st.attempts_to_rpc[first] = st.attempts[first]
        st.conversations[rpc] += 1
    att = ch.is_call[action] & ~ch.third_party[action]
    st.failed_streak[idx[att & connected]] = 0
    st.failed_streak[idx[att & ~connected]] += 1


def close_day(
    st: AccountState, idx: np.ndarray, t: float, penalty_multiplier: float, distress_threshold: float
) -> tuple[np.ndarray, int]:
    """The end of a day for the open accounts ``idx``: a day's interest outside a plan,
    their stress at ``t`` added to their open-day records. Returns that stress and how
    many of them wait for a call."""
    if st.steps_compiled and idx.dtype == np.int64:
        pf, n = st.pf, idx.size
        x, s = np.empty(n), np.empty(n)
        K.accrue_step(idx, t, st.plan_active, st.balance, pf.principal, pf.daily_rate, 1.0 + penalty_multiplier, 1.0,
                      st.interest, float(-st.decay), st.stress_t, x)  # fmt: skip
        np.exp(x, out=x)
        backlog = K.stress_day_step(idx, x, st.stress, distress_threshold, st.stress_sum, st.open_days,
                                    st.distress_days, st.pending_call, s)  # fmt: skip
        return s, backlog
    st.accrue_interest(idx[~st.plan_active[idx]], 1.0, penalty_multiplier)
    s = st.stress_at(idx, t)
    st.stress_sum[idx] += s
    st.open_days[idx] += 1
    st.distress_days[idx[s > distress_threshold]] += 1
    return s, int(st.pending_call[idx].sum())


def apply_repayments(st: AccountState, reps: Repayments) -> None:
    """Post borrower-initiated repayments (an account's rows in time order)."""
    if reps.idx.size == 0:
        return
    rank = ranks_within(reps.idx)
    if st.steps_compiled and reps.idx.dtype == np.int64:
        n = reps.idx.size
        oi, ot, oa = np.empty(n, dtype=np.int64), np.empty(n), np.empty(n)
        for r in range(int(rank.max()) + 1):
            m = K.repay_rank_step(reps.idx, reps.time, reps.fraction, rank, r, st.status, st.balance,
                                  st.repayments, oi, ot, oa)  # fmt: skip
            st.pay(oi[:m], oa[:m], ot[:m])
        return
    for r in range(int(rank.max()) + 1):
        sel = rank == r
        idx, t, frac = reps.idx[sel], reps.time[sel], reps.fraction[sel]
        live = st.status[idx] == OPEN
        idx, t, frac = idx[live], t[live], frac[live]
        amount = np.where(frac >= 1.0, st.balance[idx], frac * st.balance[idx])
        st.repayments[idx] += 1
        # A full repayment closes the account; the behaviour model knows already.
        st.pay(idx, amount, t)


def post_response(
    st: AccountState, behaviour: BehaviourModel, c: Contacts, b: Borrowers, out: Response, plan_interval_days: int
) -> None:
    """Book a response: intensity changes, complaints, extra stress, new plans and promises."""
    moved = out.strength != 0
    if moved.any():
        behaviour.respond(c.idx[moved], c.time[moved], out.strength[moved])
    if out.stress is not None:
        st.add_stress(c.idx, c.time, np.maximum(out.stress, -b.stress))
    if st.steps_compiled and c.idx.dtype == np.int64 and out.plan_instalments.dtype == np.int64:
        K.book_step(
            c.idx, c.time, out.complaint, out.plan_instalments, out.promise_days, out.promise_share,
            plan_interval_days, st.complaints, st.balance, st.plan_active, st.plans_started, st.plan_left,
            st.plan_misses, st.plan_instalment, st.plan_next_due, st.promises, st.promise_share, st.promise_due,
        )  # fmt: skip
        if st.promise_log is not None:
            promise = ~np.isnan(out.promise_days)
            p = c.idx[promise]
            st.promise_log.append(
                (p.copy(), c.time[promise].copy(), st.promise_share[p].copy(), st.promise_due[p].copy())
            )
        return
    st.complaints[c.idx[out.complaint]] += 1
    plan = out.plan_instalments > 0
    if plan.any():
        p, k = c.idx[plan], out.plan_instalments[plan]
        st.plan_active[p] = True
        st.plans_started[p] += 1
        st.plan_left[p] = k.astype(np.int32)
        st.plan_misses[p] = 0
        st.plan_instalment[p] = st.balance[p] / k
        st.plan_next_due[p] = np.floor(c.time[plan]) + plan_interval_days
    promise = ~np.isnan(out.promise_days)
    if promise.any():
        p = c.idx[promise]
        st.promises[p] += 1
        # A promise is to pay its share of the balance (a settlement: 1 - discount)
        # on the due day, interest accrued until then included.
        st.promise_share[p] = out.promise_share[promise]
        st.promise_due[p] = np.floor(c.time[promise]) + out.promise_days[promise]
        if st.promise_log is not None:
            st.promise_log.append(
                (p.copy(), c.time[promise].copy(), st.promise_share[p].copy(), st.promise_due[p].copy())
            )


def settle_promises(st: AccountState, behaviour: BehaviourModel, due: np.ndarray, keep: np.ndarray, t: float) -> None:
    """Promises of accounts ``due`` fall due at ``t``; those in ``keep`` are paid."""
    st.promise_due[due] = np.inf
    kept = due[keep]
    st.broken_flag[due[~keep]] = True
    if kept.size:
        st.promises_kept[kept] += 1
        share = st.promise_share[kept]
        cured = st.pay(kept, share * st.balance[kept], t)
        # A settlement paid in full gives up the rest of the balance.
        rest = kept[(share < 1.0) & (st.status[kept] == OPEN)]
        if rest.size:
            st.forgive(rest, st.balance[rest])
            cured = np.concatenate([cured, st.pay(rest, np.zeros(rest.size), t)])
        behaviour.close(cured)


def collect_instalments(
    st: AccountState,
    behaviour: BehaviourModel,
    due: np.ndarray,
    paid: np.ndarray,
    t: float,
    max_misses: int,
    interval_days: int,
) -> None:
    """Plan instalments of accounts ``due`` fall due at ``t``; ``paid`` says which are
    paid. A plan breaks after ``max_misses`` missed instalments."""
    payers = due[paid]
    last = st.plan_left[payers] <= 1
    amount = np.where(last, st.balance[payers], st.plan_instalment[payers])
    st.plan_left[payers] -= 1
    behaviour.close(st.pay(payers, amount, t))
    missed = due[~paid]
    st.plan_misses[missed] += 1
    broke = missed[st.plan_misses[missed] >= max_misses]
    st.plan_active[broke] = False
    st.plan_next_due[broke] = np.inf
    st.broken_flag[broke] = True
    going = due[st.plan_active[due]]
    st.plan_next_due[going] += interval_days
