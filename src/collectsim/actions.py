"""The actions a policy can request, as small integer codes shared by engine and policies."""

from __future__ import annotations

from enum import IntEnum


class Action(IntEnum):
    """Collection actions. Calls (``SOFT_CALL``, ``FIRM_CALL``) go to the collector
    work queue; the others are carried out by the engine on the day they are asked for."""

    SMS = 0
    VOICE = 1
    SOFT_CALL = 2
    FIRM_CALL = 3
    LEGAL_WARNING = 4
    LAWSUIT = 5
    OUTSOURCE = 6
    DEBT_SALE = 7


#: config name -> action
ACTION_NAMES: dict[str, Action] = {
    "sms": Action.SMS,
    "voice": Action.VOICE,
    "soft_call": Action.SOFT_CALL,
    "firm_call": Action.FIRM_CALL,
    "legal_warning": Action.LEGAL_WARNING,
    "lawsuit": Action.LAWSUIT,
    "outsource": Action.OUTSOURCE,
    "debt_sale": Action.DEBT_SALE,
}

CALLS = (Action.SOFT_CALL, Action.FIRM_CALL)
#: actions that end in-house treatment; at most one per account and day, and no other
#: action that day.
TERMINAL = (Action.LAWSUIT, Action.OUTSOURCE, Action.DEBT_SALE)

#: event kinds beyond the actions, used in the engine's event log
JUDGMENT = 100
