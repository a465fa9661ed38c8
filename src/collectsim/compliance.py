"""Contact rules (a compliance preset) checked for every call and message.

Rules, by the name used in KPIs (``blocked_<rule>`` / ``breaches_<rule>``):

- ``window``: contact outside [window_start_hour, window_end_hour);
- ``connected_day``: a call when the borrower already had ``max_connected_per_day``
  conversations today;
- ``unanswered_day``: a call after ``max_unanswered_per_day`` unanswered attempts today;
- ``attempts_7d``: a call after ``max_attempts_7d`` attempts in the last 7 days;
- ``cooldown``: a call within ``cooldown_days_after_conversation`` of a conversation;
- ``third_party``: a call to someone other than the borrower (a relative, a colleague)
  where ``third_party_contact`` is false (unless it locates an unreachable borrower
  under ``third_party_locate_after``);
- ``visit_hours``: a field visit that starts before ``visit_start_hour`` or ends after
  ``visit_end_hour`` (by default the calling window's hours);
- ``visit_cap``: a field visit to an account that already had ``max_visits_30d``
  visits in the last 30 days (0: every visit).

With ``enforce`` the first broken rule blocks the request and is counted; without it
the contact goes ahead and every rule it breaks is counted as a breach.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from collectsim import contact_kernels as CK
from collectsim.jit import compiled_steps
from collectsim.scenario_types import ComplianceConfig
from collectsim.shared import shared

RULES = (
    "window",
    "connected_day",
    "unanswered_day",
    "attempts_7d",
    "cooldown",
    "third_party",
    "visit_hours",
    "visit_cap",
)


def hour_of(t: Any) -> Any:
    """Hour of the day of time ``t`` (days), rounded to 1e-9 h so that 08:00 computed
    as ``day + 8/24`` is not read as 07:59:59.999."""
    return np.round((np.asarray(t) % 1.0) * 24.0, 9) if np.ndim(t) else round((t % 1.0) * 24.0, 9)


class Compliance:
    """Counters and checks for the contact rules."""

    def __init__(self, cfg: ComplianceConfig, n: int) -> None:
        self.cfg = cfg
        self.enforce = cfg.enforce
        # Two-faced counters (see collectsim.shared): vectorised resets, scalar checks.
        self.connected_today, self._connected_py = shared(n, "i")
        self.unanswered_today, self._unanswered_py = shared(n, "i")
        self._ring = [shared(n, "i") for _ in range(7)]  # attempts per day, last 7 days
        self.attempts_7d, self._week_py = shared(n, "i")
        self.last_conversation, self._last_conv_py = shared(n, "d", -np.inf)
        self.counts = {r: 0 for r in RULES}  # blocked (enforce) or breaches
        self.by_account = np.zeros((len(RULES), n), dtype=np.int32)
        self._max = (
            np.inf if cfg.max_connected_per_day is None else cfg.max_connected_per_day,
            np.inf if cfg.max_unanswered_per_day is None else cfg.max_unanswered_per_day,
            np.inf if cfg.max_attempts_7d is None else cfg.max_attempts_7d,
            -np.inf if cfg.cooldown_days_after_conversation is None else cfg.cooldown_days_after_conversation,
        )
        self._limits = np.array(self._max, dtype=float)  # for the compiled check
        #: whether the checks run their compiled step (same results)
        self.steps_compiled = compiled_steps()
        self._day = -1
        #: (max connected today, max unanswered today, max attempts in 7 days, cooldown days)
        self.limits = self._max
        self.attempts_today, self.today_py = self._ring[6]
        # Unanswered own-number attempts in a row, per account (the engine hands its
        # state's column over; read by the third-party rule's locate exception).
        self.failed_streak = np.zeros(n, dtype=np.int32)
        self._build_scalar_checks()

    def new_day(self, day: int, lo_yesterday: int = 0, lo_week_ago: int = 0, hi: int | None = None) -> None:
        """Reset daily counters and roll the 7-day window to ``day``. Only accounts
        ``[lo_yesterday, hi)`` can have been contacted yesterday and ``[lo_week_ago, hi)``
        seven days ago (see :mod:`collectsim.active`): the counters are zero elsewhere."""
        y, w = slice(lo_yesterday, hi), slice(lo_week_ago, hi)
        self.connected_today[y] = 0
        self.unanswered_today[y] = 0
        slot = day % 7
        row = self._ring[slot][0]
        self.attempts_7d[w] -= row[w]
        row[w] = 0
        self.attempts_today, self.today_py = self._ring[slot]
        self._day = day

    def in_window(self, hour: float) -> bool:
        return self.cfg.window_start_hour <= hour < self.cfg.window_end_hour

    def violations(self, idx: np.ndarray, t: np.ndarray | float, is_call: bool) -> np.ndarray:
        """Boolean matrix (rules x accounts) of rules a contact at ``t`` would break."""
        hour = hour_of(t)
        out = np.zeros((len(RULES), idx.size), dtype=bool)
        out[0] = (hour < self.cfg.window_start_hour) | (hour >= self.cfg.window_end_hour)
        if is_call:
            mc, mu, ma, cd = self._max
            out[1] = self.connected_today[idx] >= mc
            out[2] = self.unanswered_today[idx] >= mu
            out[3] = self.attempts_7d[idx] >= ma
            out[4] = (t - self.last_conversation[idx]) < cd
        return out

    def filter(self, idx: np.ndarray, t: np.ndarray | float, is_call: bool) -> np.ndarray:
        """Count the rules broken by contacts ``idx`` at ``t``; return the mask allowed."""
        if self.steps_compiled and isinstance(t, float) and idx.dtype == np.int64:
            hour = hour_of(t)
            outside = hour < self.cfg.window_start_hour or hour >= self.cfg.window_end_hour
            counts, allowed = np.zeros(len(RULES), dtype=np.int64), np.empty(idx.size, dtype=bool)
            CK.filter_step(idx, t, outside, is_call, self._limits, self.connected_today, self.unanswered_today,
                           self.attempts_7d, self.last_conversation, self.enforce, self.by_account, counts, allowed)  # fmt: skip
            for r in np.flatnonzero(counts):
                self.counts[RULES[r]] += int(counts[r])
            return allowed
        return self._count(self.violations(idx, t, is_call), idx)

    def visit_hours(self) -> tuple[float, float]:
        """The hours (start, end) a field visit must lie within."""
        cfg = self.cfg
        start = cfg.window_start_hour if cfg.visit_start_hour is None else cfg.visit_start_hour
        end = cfg.window_end_hour if cfg.visit_end_hour is None else cfg.visit_end_hour
        return start, end

    def filter_visits(self, idx: np.ndarray, t: float, minutes: float, recent: np.ndarray) -> np.ndarray:
        """Count the rules broken by field visits to ``idx`` starting at ``t`` and lasting
        ``minutes``, to accounts that had ``recent`` visits in the last 30 days; return
        the mask allowed."""
        start, end = self.visit_hours()
        hour = hour_of(t)
        v = np.zeros((len(RULES), idx.size), dtype=bool)
        v[6] = (hour < start) | (hour + minutes / 60.0 > end + 1e-9)
        if self.cfg.max_visits_30d is not None:
            v[7] = recent >= self.cfg.max_visits_30d
        return self._count(v, idx)

    def _count(self, v: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Count the broken rules ``v`` (rules x accounts ``idx``); the mask allowed."""
        if not v.any():
            return np.ones(idx.size, dtype=bool)  # nothing broken: all allowed
        if self.enforce:
            # Count only the first rule that blocks each request.
            first = np.argmax(v, axis=0)
            blocked = v.any(axis=0)
            for r in range(len(RULES)):
                m = blocked & (first == r)
                self.counts[RULES[r]] += int(m.sum())
                np.add.at(self.by_account[r], idx[m], 1)
            return np.asarray(~blocked)
        for r in range(len(RULES)):
            self.counts[RULES[r]] += int(v[r].sum())
            np.add.at(self.by_account[r], idx[v[r]], 1)
        return np.ones(idx.size, dtype=bool)

    def py_counters(self) -> tuple[Any, Any, Any, Any, Any]:
        """The array.array faces of today's attempts, the 7-day attempts, today's
        connected and unanswered calls and the last conversation time, for the
        collector loop to update in place."""
        return self.today_py, self._week_py, self._connected_py, self._unanswered_py, self._last_conv_py

    def window_allows(self, i: int, t: float, inside: bool) -> bool:
        """Count a call outside the window (``inside`` False); whether it may go ahead."""
        if inside:
            return True
        self.counts["window"] += 1
        self.by_account[0, i] += 1
        return not self.enforce

    def third_party_allows(self, i: int) -> bool:
        """Count a third-party call where the preset forbids it; whether it may go ahead.

        Under ``third_party_locate_after = k`` a call to a listed contact is allowed
        only to locate a borrower whose last ``k`` attempts on their own number all
        failed (``failed_streak``, set by the engine); any other such call breaks the rule.
        """
        if self.cfg.third_party_contact:
            return True
        k = self.cfg.third_party_locate_after
        if k is not None and self.failed_streak[i] >= k:
            return True
        self.counts["third_party"] += 1
        self.by_account[5, i] += 1
        return not self.enforce

    def _build_scalar_checks(self) -> None:
        """Specialise the per-call check to the rules that are active (the window rule
        is checked by :meth:`window_allows`)."""
        mc, mu, ma, cd = self._max
        connected, unanswered, week, last = self._connected_py, self._unanswered_py, self._week_py, self._last_conv_py
        checks: list[tuple[int, Any]] = []
        if mc < np.inf:
            checks.append((1, lambda i, t: connected[i] >= mc))
        if mu < np.inf:
            checks.append((2, lambda i, t: unanswered[i] >= mu))
        if ma < np.inf:
            checks.append((3, lambda i, t: week[i] >= ma))
        if cd > -np.inf:
            checks.append((4, lambda i, t: t - last[i] < cd))
        counts, by_account, enforce = self.counts, self.by_account, self.enforce

        def allow_call(i: int, t: float) -> bool:
            """Per-call rules for one collector call (the hot path); counts what it breaks."""
            ok = True
            for r, broken in checks:
                if broken(i, t):
                    counts[RULES[r]] += 1
                    by_account[r, i] += 1
                    if enforce:
                        return False
                    ok = False
            return True if not enforce else ok

        self.allow_call = allow_call

    def record_attempts(self, idx: np.ndarray, t: np.ndarray | float, connected: np.ndarray) -> None:
        """Update the counters after call attempts (no duplicate accounts)."""
        self.attempts_today[idx] += 1
        self.attempts_7d[idx] += 1
        self.connected_today[idx] += connected
        self.unanswered_today[idx] += ~connected
        c = idx[connected]
        self.last_conversation[c] = np.asarray(t)[connected] if np.ndim(t) else t
