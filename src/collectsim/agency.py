"""The collection agency: it keeps working the accounts outsourced to it, on its own
dialler lines, and is paid only its commission on what it collects (``channels.agency``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy

from collectsim.automated import AutomatedContacts
from collectsim.behaviour.response import ResponseModel
from collectsim.channels import ChannelTable
from collectsim.compliance import Compliance
from collectsim.errors import ConfigError
from collectsim.policies.base import AccountView, RetryRule
from collectsim.random_streams import OutcomeDraws
from collectsim.scenario_types import Scenario
from collectsim.state import OPEN, AccountState


def build_agency(
    env: simpy.Environment,
    sc: Scenario,
    st: AccountState,
    comp: Compliance,
    response: ResponseModel,
    channels: ChannelTable,
    rng: OutcomeDraws,
    priority: Callable[[AccountView, np.ndarray], np.ndarray],
    sequence: Callable[[int], np.ndarray],
) -> tuple[AutomatedContacts | None, int]:
    """The agency's contacts (a dialler with its own lines, one attempt a day) and its
    channel code; ``(None, -1)`` without lines."""
    ag = sc.channels.agency
    if ag.lines_per_day <= 0:
        return None, -1
    code = channels.code(ag.channel, "channels.agency.channel")
    if channels.channels[code].kind != "dialler":
        raise ConfigError(f"channels.agency.channel must name a dialler channel, got {ag.channel!r}")
    contacts = AutomatedContacts(
        env, st, comp, response, channels, rng, RetryRule(attempts_per_day=1), ag.lines_per_day,
        sc.portfolio.reach_by_hour, priority, sequence,
    )  # fmt: skip
    return contacts, code


def agency_day(
    agency: AutomatedContacts, code: int, every_days: int, st: AccountState, d: int, view: AccountView
) -> None:
    """The agency dials, at its channel's hour, the outsourced accounts it has not
    reached in ``every_days`` days (its lines and the policy's queue order decide who)."""
    # Outsourced accounts are few: narrow to them first, then read their status and
    # last call (a strided column of every account was most of this step's time).
    due = np.flatnonzero(st.outsourced)
    due = due[st.status[due] == OPEN]
    last = st.last_action_day[due, code]
    due = due[(last < 0) | (d - last >= every_days)]
    row = agency.channels.channels[code]
    if due.size and row.cfg is not None:
        agency.send(float(d) + row.cfg.hour / 24.0, due, code, view)
