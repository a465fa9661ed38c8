"""The range of accounts a day's bookkeeping has to look at.

Accounts enter in order of entry time (the portfolio is sorted), and an account that
has left in-house treatment (closed, or handed to the court) never returns to it. So on
any day the accounts that can be contacted, worked or charged off lie in one range
``[lo, hi)``: ``hi`` is the first account not yet entered, ``lo`` the first account
still open and out of court. Below ``lo`` the only open accounts are a few in court
(``held``), which can stay open for a year of enforcement.

Daily steps restricted to that range do the same arithmetic on the same accounts as
steps over every account (the accounts left out contribute nothing: they are not
workable, and their daily counters are zero), so results stay identical while a run of a
million accounts stops paying for the hundreds of thousands that are closed or yet to
come.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from collectsim.state import OPEN, AccountState

#: Days of ``lo`` kept: the contact rules' 7-day window plus the day before.
_HISTORY = 8


class ActiveRange:
    """``lo`` and ``hi`` of the accounts in in-house treatment, updated once a day."""

    def __init__(self, n: int) -> None:
        self.lo = 0
        self.hi = 0
        self.held = np.zeros(0, dtype=np.int64)  # open accounts below lo (all in court)
        self._lo_by_day = [0] * _HISTORY

    def start_day(self, st: AccountState, day: int, hi: int) -> np.ndarray:
        """Move ``lo`` up past the accounts that left in-house treatment, with ``hi``
        the accounts entered so far; return the mask of open, out-of-court accounts
        over ``[lo, hi)``."""
        lo = self.lo
        w = (st.status[lo:hi] == OPEN) & ~st.in_legal[lo:hi]
        first = int(w.argmax()) if w.size else 0
        new_lo = lo + first if w.size and w[first] else hi
        if new_lo > lo:
            # Accounts passed over that are still open are in court: keep them in sight.
            gone = lo + np.flatnonzero(st.status[lo:new_lo] == OPEN)
            if gone.size:
                self.held = np.concatenate([self.held[st.status[self.held] == OPEN], gone])
            w = w[new_lo - lo :]
        self.lo, self.hi = new_lo, hi
        self._lo_by_day[day % _HISTORY] = new_lo
        return w

    def lo_on(self, day: int) -> int:
        """``lo`` as it was on ``day`` (one of the last seven; 0 before the run began):
        every account contacted that day is at or above it."""
        return self._lo_by_day[day % _HISTORY] if day >= 0 else 0

    def nonzero(self, cond: Callable[[Any], np.ndarray]) -> np.ndarray:
        """``flatnonzero`` of a condition true only on open accounts: ``cond(key)`` gives
        the condition on the accounts ``key`` selects (a slice or an index array)."""
        inside = self.lo + np.flatnonzero(cond(slice(self.lo, self.hi)))
        if not self.held.size:
            return inside
        return np.concatenate([self.held[cond(self.held)], inside])

    def open_idx(self, st: AccountState) -> np.ndarray:
        """Indices of all open accounts, ascending (``flatnonzero(status == OPEN)``)."""
        if self.held.size:
            self.held = self.held[st.status[self.held] == OPEN]
        inside = self.lo + np.flatnonzero(st.status[self.lo : self.hi] == OPEN)
        return np.concatenate([self.held, inside]) if self.held.size else inside
