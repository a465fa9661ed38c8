"""The response interface: what a delivered contact does to a borrower.

The engine schedules contacts, enforces the contact rules, runs the collectors and
posts money; a *response model* decides what each delivered contact does: how
strongly it moves the repayment intensity (or hazard) of the behaviour model, how much
stress it adds, whether it draws a complaint, and what a conversation ends in
(a promise, a plan after a hardship disclosure, an accepted settlement). It also
decides, when the day comes, whether a promise is kept and a plan instalment paid.

A response model is a plug-in chosen by ``response._target_`` (config group
``response``). It receives plain arrays, never the engine:

- :class:`Contacts`: the contacts delivered in one step, at most one per account;
- :class:`Borrowers`: a read-only view of those accounts at the contact times.

It returns a :class:`Response`. The default is
:class:`~collectsim.behaviour.standard_response.StandardResponse`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from collectsim.channels import ChannelTable
from collectsim.portfolio import Portfolio
from collectsim.random_streams import RandomStreams


@dataclass(frozen=True)
class Contacts:
    """Contacts delivered in one step: at most one per account, in time order.

    Attributes
    ----------
    idx : account ids.
    time : contact times, days since the start of the run.
    channel : channel codes (see :class:`~collectsim.channels.ChannelTable`).
    connected : the contact reached the borrower (messages and letters always do).
    skill : the collector's skill multiplier (1 for contacts without a collector).
    harshness : the collector's harshness (1 for contacts without a collector).
    discount : settlement discount offered in the call (share of the balance; 0: none).
    """

    idx: np.ndarray
    time: np.ndarray
    channel: np.ndarray
    connected: np.ndarray
    skill: np.ndarray
    harshness: np.ndarray
    discount: np.ndarray


@dataclass(frozen=True)
class Borrowers:
    """Read-only state of the accounts of a step, in the same order.

    Attributes
    ----------
    ability : ability to pay at the time (lowered during a hardship shock), 0..1.
    willingness : willingness to pay (the latent trait, before stress), 0..1.
    sensitivity : stress sensitivity.
    stress : stress level at the time (after the contact's own increment).
    in_hardship : inside a hardship shock at the time.
    can_commit : free of an active plan and of a pending promise.
    balance : outstanding balance, yuan.
    breached : the account's contacts broke a contact rule today (``None``: not known).
    attempts_7d : call attempts on the borrower's own number in the last 7 days
        (``None``: not known).
    """

    ability: np.ndarray
    willingness: np.ndarray
    sensitivity: np.ndarray
    stress: np.ndarray
    in_hardship: np.ndarray
    can_commit: np.ndarray
    balance: np.ndarray
    breached: np.ndarray | None = None
    attempts_7d: np.ndarray | None = None


@dataclass
class Response:
    """What a step's contacts do, one entry per contact.

    Attributes
    ----------
    strength : response strength handed to the behaviour model
        (:meth:`~collectsim.behaviour.base.BehaviourModel.respond`); 0 for none, a
        negative value lowers the repayment intensity.
    complaint : the contact drew a complaint.
    stress : stress added now on top of the contact's own increment (may be negative;
        stress never falls below 0), or ``None``.
    promise_days : a promise to pay falls due this many days after the contact's day
        (NaN: no promise).
    promise_share : share of the balance promised (1, or 1 - discount for an accepted
        settlement).
    settled : the promise is an accepted settlement.
    plan_instalments : a repayment plan with this many equal instalments starts (0: no
        plan).
    hardship_disclosed : the borrower disclosed a hardship shock.
    """

    strength: np.ndarray
    complaint: np.ndarray
    stress: np.ndarray | None
    promise_days: np.ndarray
    promise_share: np.ndarray
    settled: np.ndarray
    plan_instalments: np.ndarray
    hardship_disclosed: np.ndarray

    @classmethod
    def none(cls, strength: np.ndarray, complaint: np.ndarray) -> Response:
        """A response with no conversation outcome."""
        n = strength.size
        return cls(
            strength,
            complaint,
            None,
            np.full(n, np.nan),
            np.ones(n),
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=bool),
        )


class ResponseModel(Protocol):
    """What the engine asks of a response model (vectorised over contacts).

    ``avoidance`` is read once: a borrower under stress ``s`` answers a call with
    probability ``contactability * exp(-avoidance * s)``.
    """

    avoidance: float

    def start(self, portfolio: Portfolio, streams: RandomStreams, channels: ChannelTable) -> None:
        """Set up before the run (per-account memory, random streams)."""

    def contact_stress(self, channel: int, harshness: float) -> float:
        """Stress a delivered contact adds at its moment, per unit of the borrower's
        sensitivity (the engine applies it when the contact happens, so that later
        attempts the same day see it)."""

    def respond(self, contacts: Contacts, borrowers: Borrowers) -> Response:
        """What the contacts do."""

    def promise_kept(self, idx: np.ndarray, time: float, borrowers: Borrowers) -> np.ndarray:
        """Whether the promises of accounts ``idx``, due at ``time``, are kept."""

    def instalment_paid(self, idx: np.ndarray, time: float, borrowers: Borrowers) -> np.ndarray:
        """Whether the plan instalments of accounts ``idx``, due at ``time``, are paid."""

    def willingness_factor(self, idx: np.ndarray, t: float, stress: np.ndarray) -> np.ndarray:
        """The factor on the willingness of accounts ``idx`` in their own repayment
        intensity at ``t`` (``stress``: their stress then); all ones for no such effect.
        The standard model lowers it with stress and raises it under a credible threat."""
