"""Per-account state of a run as NumPy columns, with the money and stress operations.

Money identity kept for every account at all times (checked by the tests)::

    principal + interest_accrued
        == collected + discount + written_off + sold + balance
"""

from __future__ import annotations

import numpy as np

from collectsim import state_kernels
from collectsim.jit import compiled_steps
from collectsim.portfolio import Portfolio
from collectsim.shared import shared, shared_copy

# Account status codes.
WAITING, OPEN, CURED, WRITTEN_OFF, SOLD = 0, 1, 2, 3, 4

#: the cost columns every run has (a scenario with extra channels adds theirs)
COST_CHANNELS = ("sms", "voice", "telephony", "letters", "legal", "outsourcing", "regulatory")


class AccountState:
    """Mutable run state for ``n`` accounts. Everything is indexed by account id."""

    def __init__(
        self, pf: Portfolio, half_life_days: float, n_actions: int, cost_keys: tuple[str, ...] = COST_CHANNELS
    ) -> None:
        n = pf.n
        self.pf = pf
        self.status = np.full(n, WAITING, dtype=np.int8)
        self.balance = pf.principal.copy()
        self.interest = np.zeros(n)
        self.collected = np.zeros(n)
        self.collected_30d = np.zeros(n)
        # Everything recovery_rate counts (payments and debt-sale proceeds), booked by
        # its age at payment: within 30, 60 and 90 days of entry, and its present value
        # at entry discounted at cost_of_funds_annual (see _book_recovered).
        self.recovered_30d = np.zeros(n)
        self.recovered_60d = np.zeros(n)
        self.recovered_90d = np.zeros(n)
        self.recovered_pv = np.zeros(n)
        #: annual cost of funds, continuously compounded (the engine sets
        #: ``simulation.cost_of_funds_annual``; 0: no discounting)
        self.cost_of_funds_annual = 0.0
        self.discount = np.zeros(n)
        self.written_off = np.zeros(n)
        self.sold = np.zeros(n)
        self.sale_proceeds = np.zeros(n)
        self.close_time = np.full(n, np.nan)
        self.cure_time = np.full(n, np.nan)
        self.first_payment_time = np.full(n, np.nan)
        self.repayments = np.zeros(n, dtype=np.int32)  # borrower-initiated repayments
        # stress: value at stress_t; decays with the half-life
        self.decay = np.log(2.0) / half_life_days
        # Stress is read and written by the collector loop too: two-faced buffers.
        self.stress, self.stress_py = shared(n, "d")
        self.stress_t, self.stress_t_py = shared_copy(pf.entry_time, "d")
        self.stress_peak, self.stress_peak_py = shared(n, "d")
        self.stress_sum = np.zeros(n)  # sum of end-of-day stress over open days
        self.open_days = np.zeros(n, dtype=np.int32)
        self.distress_days = np.zeros(n, dtype=np.int32)
        # contact history (observable)
        self.actions_done = np.zeros((n, n_actions), dtype=np.int32)
        self.last_action_day = np.full((n, n_actions), -1, dtype=np.int16)
        self.attempts = np.zeros(n, dtype=np.int32)  # collector call attempts
        self.voice_attempts = np.zeros(n, dtype=np.int32)  # automated voice calls
        self.conversations = np.zeros(n, dtype=np.int32)  # right-party contacts
        self.attempts_to_rpc = np.zeros(n, dtype=np.int32)  # collector attempts up to the first one (0: never)
        self.failed_streak = np.zeros(n, dtype=np.int32)
        self.complaints = np.zeros(n, dtype=np.int32)
        self.contacts = np.zeros(n, dtype=np.int32)  # every contact attempt of any channel
        self.visits = np.zeros(n, dtype=np.int32)  # field visits made (met or not)
        self.visits_met = np.zeros(n, dtype=np.int32)  # ... that met the borrower
        self.handle_minutes = np.zeros(n)
        # promises, plans, legal, outsourcing
        self.promise_due = np.full(n, np.inf)
        self.promise_share = np.zeros(n)  # share of the balance promised
        self.promises = np.zeros(n, dtype=np.int32)
        self.promises_kept = np.zeros(n, dtype=np.int32)
        self.broken_flag = np.zeros(n, dtype=bool)
        self.plan_active = np.zeros(n, dtype=bool)
        self.plan_next_due = np.full(n, np.inf)
        self.plan_instalment = np.zeros(n)
        self.plan_left = np.zeros(n, dtype=np.int32)
        self.plan_misses = np.zeros(n, dtype=np.int32)
        self.plans_started = np.zeros(n, dtype=np.int32)
        self.plans_completed = np.zeros(n, dtype=np.int32)
        self.in_legal = np.zeros(n, dtype=bool)
        self.lawsuit_filed = np.zeros(n, dtype=bool)
        self.lawsuit_won = np.zeros(n, dtype=bool)
        self.outsourced = np.zeros(n, dtype=bool)
        self.pending_call_u8, self.pending_call_py = shared(n, "B")  # 1: a call is queued
        self.pending_call = self.pending_call_u8.view(bool)
        self.cost = {c: np.zeros(n) for c in cost_keys}
        # Per-account records (opt-in, collectsim.records): (accounts, times, amounts) of
        # every payment, and (accounts, times, shares, due times) of every promise.
        self.payment_log: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self.promise_log: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] | None = None
        self.outsourcing_commission = 0.0
        #: whether the ledger and payments run their compiled steps (same results)
        self.steps_compiled = compiled_steps() and "outsourcing" in self.cost

    # ------------------------------------------------------------------ views
    @property
    def is_open(self) -> np.ndarray:
        return self.status == OPEN

    # ------------------------------------------------------------------ stress
    def stress_at(self, idx: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        return self.stress[idx] * np.exp(-self.decay * (t - self.stress_t[idx]))

    def add_stress(self, idx: np.ndarray, t: np.ndarray, inc: np.ndarray) -> np.ndarray:
        """Add increments at times ``t`` (no duplicate accounts); return new levels."""
        s = self.stress_at(idx, t) + inc
        self.stress[idx] = s
        self.stress_t[idx] = t
        self.stress_peak[idx] = np.maximum(self.stress_peak[idx], s)
        return s

    # ------------------------------------------------------------------ money
    def pay(self, idx: np.ndarray, amount: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        """Borrower pays ``amount`` (<= balance) at ``t``; returns the accounts it cured.

        No duplicate accounts in ``idx``.
        """
        if self.steps_compiled and idx.dtype == np.int64:
            return self._pay_compiled(idx, amount, t)
        amount = np.minimum(amount, self.balance[idx])
        first = np.isnan(self.first_payment_time[idx]) & (amount > 0)
        if first.any():
            self.first_payment_time[idx[first]] = t if np.ndim(t) == 0 else np.asarray(t)[first]
        self.collected[idx] += amount
        # What was paid within 30 days of entering delinquency (the industry's
        # 30-day collection rate).
        early = (t - self.pf.entry_time[idx]) < 30.0
        self.collected_30d[idx] += np.where(early, amount, 0.0)
        self.balance[idx] -= amount
        out = self.outsourced[idx]
        if out.any():
            self.cost["outsourcing"][idx[out]] += self.outsourcing_commission * amount[out]
        # Guard against a float remainder of a full payment.
        done = self.balance[idx] <= 1e-9 * np.maximum(self.pf.principal[idx], 1.0)
        cured = idx[done]
        if cured.size:
            rest = self.balance[cured]
            self.collected[cured] += rest
            self.collected_30d[cured] += np.where(early[done], rest, 0.0)
            self.balance[cured] = 0.0
            # A plan ends complete when the balance is cleared, by instalments or not.
            self.plans_completed[cured[self.plan_active[cured]]] += 1
            self._close(cured, t if np.ndim(t) == 0 else np.asarray(t)[done], CURED)
            self.cure_time[cured] = self.close_time[cured]
        paid = amount.copy()
        if cured.size:
            paid[done] += rest
        self._book_recovered(idx, paid, t)
        if self.payment_log is not None:
            # Only amounts actually paid: closing a forgiven settlement pays nothing.
            keep = paid > 0
            times = np.broadcast_to(np.asarray(t, dtype=float), idx.shape)[keep]
            self.payment_log.append((idx[keep], times, paid[keep]))
        return cured

    def _pay_compiled(self, idx: np.ndarray, amount: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        """:meth:`pay` in two compiled steps around NumPy's ``exp``: the same bits."""
        n, pf = idx.size, self.pf
        t = np.full(n, t, dtype=float) if np.ndim(t) == 0 else np.ascontiguousarray(t, dtype=float)
        if not (isinstance(amount, np.ndarray) and amount.dtype == np.float64 and amount.shape == idx.shape):
            amount = np.ascontiguousarray(np.broadcast_to(amount, idx.shape), dtype=float)
        paid, x, cured = np.empty(n), np.empty(n), np.empty(n, dtype=np.int64)
        nc = state_kernels.pay_step(
            idx, amount, t, -self.cost_of_funds_annual / 365.0, self.balance, self.collected, self.collected_30d,
            self.cost["outsourcing"], pf.entry_time, pf.principal, self.outsourced, self.outsourcing_commission,
            self.status, self.first_payment_time, self.close_time, self.cure_time, self.promise_due,
            self.plan_next_due, self.plan_active, self.in_legal, self.plans_completed, paid, x, cured,
        )  # fmt: skip
        np.exp(x, out=x)
        state_kernels.book_step(
            idx, paid, t, pf.entry_time, x, self.recovered_30d, self.recovered_60d, self.recovered_90d,
            self.recovered_pv,
        )  # fmt: skip
        if self.payment_log is not None:
            keep = paid > 0
            self.payment_log.append((idx[keep], t[keep], paid[keep]))
        return cured[:nc]

    def forgive(self, idx: np.ndarray, amount: np.ndarray) -> None:
        """A settlement discount: part of the balance given up."""
        amount = np.minimum(amount, self.balance[idx])
        self.discount[idx] += amount
        self.balance[idx] -= amount

    def write_off(self, idx: np.ndarray, t: float) -> None:
        self.written_off[idx] += self.balance[idx]
        self.balance[idx] = 0.0
        self._close(idx, t, WRITTEN_OFF)

    def _book_recovered(self, idx: np.ndarray, amount: np.ndarray, t: np.ndarray | float) -> None:
        """Book ``amount`` (yuan, counted in recovery) received at ``t`` by its age.

        The present value at entry discounts continuously at the annual cost of funds
        ``r`` over a 365-day year: ``amount * exp(-r * (t - entry_time) / 365)``.
        """
        age = t - self.pf.entry_time[idx]
        self.recovered_30d[idx] += np.where(age < 30.0, amount, 0.0)
        self.recovered_60d[idx] += np.where(age < 60.0, amount, 0.0)
        self.recovered_90d[idx] += np.where(age < 90.0, amount, 0.0)
        self.recovered_pv[idx] += amount * np.exp(-self.cost_of_funds_annual / 365.0 * age)

    def sell(self, idx: np.ndarray, t: float, price_fraction: float) -> None:
        self.sold[idx] += self.balance[idx]
        proceeds = price_fraction * self.balance[idx]
        self.sale_proceeds[idx] += proceeds
        # Sale proceeds count in recovery_rate, so they count in its time-valued forms.
        self._book_recovered(idx, proceeds, t)
        self.balance[idx] = 0.0
        self._close(idx, t, SOLD)

    def _close(self, idx: np.ndarray, t: np.ndarray | float, status: int) -> None:
        self.status[idx] = status
        self.close_time[idx] = t
        self.promise_due[idx] = np.inf
        self.plan_active[idx] = False
        self.plan_next_due[idx] = np.inf
        self.in_legal[idx] = False

    def accrue_interest(self, idx: np.ndarray, days: float, penalty_multiplier: float) -> None:
        """Simple contract plus penalty interest for ``days`` on the overdue principal
        (the balance, but never on interest already charged: at most the principal)."""
        base = np.minimum(self.balance[idx], self.pf.principal[idx])
        inc = base * self.pf.daily_rate[idx] * (1.0 + penalty_multiplier) * days
        self.balance[idx] += inc
        self.interest[idx] += inc

    def count_action(self, idx: np.ndarray, action: int | np.ndarray, day: int) -> None:
        """Count action code(s) ``action`` on accounts ``idx`` (no duplicates) on ``day``."""
        a = np.asarray(action, dtype=np.int64)
        self.actions_done[idx, a] += 1
        self.last_action_day[idx, a] = day
