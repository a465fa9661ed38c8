"""The policy interface: what a policy sees (only lender-observable data) and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from collectsim.portfolio import Portfolio
from collectsim.random_streams import RandomStreams


@dataclass
class Requests:
    """Actions requested today: account ``idx`` gets ``action`` (an
    :class:`~collectsim.actions.Action` code), with a settlement ``discount`` (a share
    of the balance, 0 for none) for calls."""

    idx: np.ndarray
    action: np.ndarray
    discount: np.ndarray

    @classmethod
    def empty(cls) -> Requests:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))

    @classmethod
    def concat(cls, parts: list[Requests]) -> Requests:
        parts = [p for p in parts if p.idx.size]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("idx", "action", "discount")))


@dataclass(frozen=True)
class RetryRule:
    """How a policy redials an unanswered number the same day.

    At most ``attempts_per_day`` attempts per account and day (1: no retry), at least
    ``gap_minutes`` apart, none scheduled at or after ``last_hour`` (hour of the day).
    Applies to collector calls and to dialler (automated voice) calls.
    """

    attempts_per_day: int = 1
    gap_minutes: float = 60.0
    last_hour: float = 21.0


@dataclass
class AccountView:
    """What the lender can observe about every account at the start of a day.

    Arrays are indexed by account id, must not be modified and hold for that day only
    (the engine reuses some of them the next day). There is no stress, ability,
    willingness or contactability here: a policy cannot see them.

    Attributes
    ----------
    workable : in delinquency, not closed, not in a lawsuit, not outsourced.
    dpd : days past due today (1 on the day of entry).
    balance, principal : outstanding balance and balance at entry, yuan.
    score : the lender's score (higher is better).
    segment : segment index (the lender knows its customer groups).
    promise_pending : a promise to pay has not yet come due.
    in_plan : on a repayment plan.
    broken_promise_today : a promise or plan broke since the last decision.
    failed_streak : consecutive call attempts that did not reach the borrower.
    attempts, conversations : collector call attempts and right-party conversations so far.
    actions_done : count of each action so far, shape (n, number of actions).
    last_action_day : day of the run each action was last taken (-1: never), same shape.
    active : the accounts in in-house treatment, as a slice: no account outside it is
        workable, so a policy may restrict its daily work to it (the whole book if None).
    """

    day: int
    workable: np.ndarray
    dpd: np.ndarray
    balance: np.ndarray
    principal: np.ndarray
    score: np.ndarray
    segment: np.ndarray
    promise_pending: np.ndarray
    in_plan: np.ndarray
    broken_promise_today: np.ndarray
    failed_streak: np.ndarray
    attempts: np.ndarray
    conversations: np.ndarray
    actions_done: np.ndarray
    last_action_day: np.ndarray
    expected_minutes_connected: float
    expected_minutes_no_answer: float
    active: slice | None = None


class Policy(Protocol):
    """A collection policy (a plug-in chosen by ``policy._target_``).

    ``retry`` is the policy's redial rule (:class:`RetryRule`; a class without one
    gets the default, no retry).
    """

    name: str

    def start(self, portfolio: Portfolio, streams: RandomStreams) -> None:
        """Called once before the run (e.g. to split the portfolio)."""

    def decide(self, view: AccountView) -> Requests:
        """The actions to take today."""

    def priority(self, view: AccountView, idx: np.ndarray) -> np.ndarray:
        """Work-queue keys for calls on accounts ``idx``; lower is called first."""
