"""The channel table: every action a policy can name, with its code, kind and parameters.

The built-in actions keep the fixed codes of :class:`~collectsim.actions.Action`; the
contact channels listed under ``channels.extra`` follow in config order. Everything
the engine, the policies and the response model need to know about a channel is read
from this table, so a new contact channel is a config entry (see ``docs/behaviour.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collectsim.actions import ACTION_NAMES, Action
from collectsim.errors import ConfigError
from collectsim.scenario_types import ChannelConfig, ChannelsConfig
from collectsim.state import COST_CHANNELS

#: how the engine delivers a contact channel
CONTACT_KINDS = ("message", "dialler", "agent", "bot", "letter", "visit")
TONES = ("soft", "firm", "none")
#: kind, tone and cost key of the built-in contact channels
BUILTIN_CONTACTS: dict[str, tuple[str, str, str]] = {
    "sms": ("message", "none", "sms"),
    "voice": ("dialler", "none", "voice"),
    "soft_call": ("agent", "soft", "telephony"),
    "firm_call": ("agent", "firm", "telephony"),
    "legal_warning": ("letter", "none", "letters"),
}


@dataclass(frozen=True)
class Channel:
    """One row of the table. ``cfg`` is ``None`` for outsourcing and debt sale."""

    code: int
    name: str
    kind: str  # a contact kind, or "lawsuit", "outsource", "debt_sale"
    tone: str
    cost_key: str
    cfg: ChannelConfig | None


class ChannelTable:
    """The channels of a scenario, by name and by code, with per-code parameter arrays.

    Attributes
    ----------
    channels : rows in code order.
    codes : name -> code.
    impulse, ability_exp, willingness_exp, stress_increment, complaint_prob : float
        arrays indexed by code (lawsuit: from ``channels.lawsuit``; outsourcing and
        sale: 0).
    is_agent, is_call : bool arrays by code: a call that can hold a conversation (a
        collector's, or an AI voice agent's); any call attempt (collector, AI voice or
        dialler), the kind the contact rules count.
    is_bot : bool array by code: a call made by the AI voice lines
        (``channels.ai_voice``), not by the collectors.
    is_visit : bool array by code: a field visit (made by the field team,
        ``channels.field_team``).
    firm : bool array by code: the channel's tone is firm.
    third_party : bool array by code: the call or message goes to someone other than
        the borrower.
    reactance, credibility_lift, credibility_days, priority_gain : float arrays by
        code (see :class:`~collectsim.scenario_types.ChannelConfig`).
    cost_keys : every ``cost_<key>`` the run reports, built-in ones first.
    """

    def __init__(self, cfg: ChannelsConfig) -> None:
        rows: list[Channel] = []
        for name, action in ACTION_NAMES.items():
            if name in BUILTIN_CONTACTS:
                ch: ChannelConfig = getattr(cfg, name)
                kind, tone, cost_key = BUILTIN_CONTACTS[name]
                if ch.kind and ch.kind != kind:
                    raise ConfigError(
                        f"channels.{name}.kind is fixed to {kind} for a built-in channel, got {ch.kind!r}"
                    )
                rows.append(Channel(int(action), name, kind, ch.tone or tone, ch.cost_key or cost_key, ch))
            elif action == Action.LAWSUIT:
                law = cfg.lawsuit
                as_channel = ChannelConfig(
                    0.0,
                    law.impulse,
                    law.ability_exp,
                    law.willingness_exp,
                    law.stress_increment,
                    law.complaint_prob,
                    0.0,
                    credibility_lift=law.credibility_lift,
                    credibility_days=law.credibility_days,
                    priority_gain=law.priority_gain,
                )
                rows.append(Channel(int(action), name, "lawsuit", "firm", "legal", as_channel))
            else:
                rows.append(Channel(int(action), name, name, "none", "outsourcing", None))
        for name, ch in cfg.extra.items():
            key = f"channels.extra.{name}"
            if name in ACTION_NAMES:
                raise ConfigError(f"{key}: {name} is a built-in channel; configure it as channels.{name}")
            if ch.kind not in CONTACT_KINDS:
                raise ConfigError(f"{key}.kind must be one of {', '.join(CONTACT_KINDS)}, got {ch.kind!r}")
            tone = ch.tone or ("soft" if ch.kind in ("agent", "bot") else "none")
            rows.append(Channel(len(rows), name, ch.kind, tone, ch.cost_key or name, ch))
        for row in rows:
            if row.tone not in TONES:
                raise ConfigError(f"channels.{row.name}.tone must be one of {', '.join(TONES)}, got {row.tone!r}")
        self.channels = rows
        self.codes = {r.name: r.code for r in rows}

        def column(attr: str) -> np.ndarray:
            return np.array([getattr(r.cfg, attr) if r.cfg is not None else 0.0 for r in rows], dtype=float)

        self.impulse = column("impulse")
        self.ability_exp = column("ability_exp")
        self.willingness_exp = column("willingness_exp")
        self.stress_increment = column("stress_increment")
        self.complaint_prob = column("complaint_prob")
        self.reactance = column("reactance")
        self.credibility_lift = column("credibility_lift")
        self.credibility_days = column("credibility_days")
        self.priority_gain = column("priority_gain")
        self.is_agent = np.array([r.kind in ("agent", "bot") for r in rows])
        self.is_bot = np.array([r.kind == "bot" for r in rows])
        self.is_call = np.array([r.kind in ("agent", "bot", "dialler") for r in rows])
        self.is_visit = np.array([r.kind == "visit" for r in rows])
        self.firm = np.array([r.tone == "firm" for r in rows])
        self.third_party = np.array([bool(r.cfg is not None and r.cfg.third_party) for r in rows])
        for r in rows:
            if r.cfg is not None and r.cfg.third_party:
                if r.kind not in ("agent", "message"):
                    raise ConfigError(
                        f"channels.{r.name}.third_party needs kind agent (a collector call) or message, got {r.kind}"
                    )
                if r.kind == "agent" and (r.cfg.answer_prob is None or not 0.0 <= r.cfg.answer_prob <= 1.0):
                    raise ConfigError(
                        f"channels.{r.name}.answer_prob must be in [0, 1] for a third-party channel, got {r.cfg.answer_prob!r}"
                    )
        keys = list(COST_CHANNELS)
        keys += [r.cost_key for r in rows if r.cost_key not in keys]
        self.cost_keys = tuple(keys)

    def __len__(self) -> int:
        return len(self.channels)

    def code(self, name: object, key: str) -> int:
        """The code of the channel called ``name``; a :class:`ConfigError` naming
        ``key`` and the allowed names otherwise."""
        if not isinstance(name, str) or name not in self.codes:
            raise ConfigError(
                f"{key} must be one of {', '.join(self.codes)}, got {name!r}"
                + (f" (a channel defined under channels.extra.{name} would be one)" if isinstance(name, str) else "")
            )
        return self.codes[name]

    def of_kind(self, *kinds: str) -> list[Channel]:
        """The rows whose kind is one of ``kinds``, in code order."""
        return [r for r in self.channels if r.kind in kinds]

    @property
    def agent_codes(self) -> np.ndarray:
        return np.flatnonzero(self.is_agent)
