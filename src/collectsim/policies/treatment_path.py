"""Policies written as treatment paths: stages by days past due, each with scheduled
actions, plus triggers (a broken promise, N failed contacts)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from collectsim.actions import TERMINAL
from collectsim.channels import ChannelTable
from collectsim.errors import ConfigError
from collectsim.policies.base import AccountView, Requests, RetryRule
from collectsim.policies.queue_order import MODEL_ORDERS, QUEUE_ORDERS, fifo, uplift_order
from collectsim.portfolio import Portfolio
from collectsim.random_streams import RandomStreams


@dataclass(frozen=True)
class ScheduledAction:
    """``action`` on days past due ``start_day``, then every ``every_days``; with
    ``every_days`` 0, once: on the first day from ``start_day`` on when the account is
    eligible. Only for accounts whose balance lies in [min_balance_yuan, max_balance_yuan]."""

    action: int  # channel code
    start_day: int
    every_days: int
    min_balance_yuan: float
    max_balance_yuan: float
    settlement_discount: float


@dataclass(frozen=True)
class Stage:
    name: str
    dpd_from: int
    dpd_to: int
    actions: tuple[ScheduledAction, ...]


def _num(node: dict[str, Any], name: str, key: str, default: float | None = None, *, integer: bool = False) -> Any:
    v = node.get(name, default)
    if v is None:
        raise ConfigError(f"{key}.{name} is missing")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and float(v) != int(v)):
        raise ConfigError(f"{key}.{name} must be {'an integer' if integer else 'a number'}, got {v!r}")
    return int(v) if integer else float(v)


def _keys(node: Any, key: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise ConfigError(f"{key} must be a mapping, got {type(node).__name__}")
    unknown = sorted(set(node) - allowed)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]} is not a known key; allowed keys: {', '.join(sorted(allowed))}")
    return node


def _retry(node: Any, key: str) -> RetryRule:
    node = _keys(node, key, {"attempts_per_day", "gap_minutes", "last_hour"})
    default = RetryRule()
    attempts = _num(node, "attempts_per_day", key, default.attempts_per_day, integer=True)
    gap = _num(node, "gap_minutes", key, default.gap_minutes)
    last = _num(node, "last_hour", key, default.last_hour)
    if attempts < 1:
        raise ConfigError(f"{key}.attempts_per_day must be >= 1 (1: no retry), got {attempts}")
    if not np.isfinite(gap) or gap < 0:
        raise ConfigError(f"{key}.gap_minutes must be >= 0, got {gap:g}")
    if not 0 <= last <= 24:
        raise ConfigError(f"{key}.last_hour must be in [0, 24], got {last:g}")
    return RetryRule(attempts, gap, last)


class TreatmentPath:
    """A policy given as stages of scheduled actions (see ``docs/policies.md``).

    On each day, every workable account without a pending promise or an active plan
    gets the actions its stage schedules for its days past due; a broken promise or
    plan, or ``failed_contacts.count`` failed attempts in a row, fire the trigger
    actions. At most one call per account and day (a firm call wins over a soft one);
    a terminal action (lawsuit, outsourcing, debt sale) replaces everything else.
    """

    def __init__(
        self,
        name: str,
        stages: list[Stage],
        queue_order: str,
        on_broken_promise: int | None,
        failed_contacts_count: int,
        failed_contacts_action: int | None,
        channels: ChannelTable,
        retry: RetryRule | None = None,
    ) -> None:
        self.name = name
        self.stages = stages
        self.queue_order = queue_order
        self._order = QUEUE_ORDERS.get(queue_order, fifo)  # a model order is set by from_config
        self.on_broken_promise = on_broken_promise
        self.failed_contacts_count = failed_contacts_count
        self.failed_contacts_action = failed_contacts_action
        self.channels = channels
        self.retry = retry or RetryRule()

    def actions(self) -> set[int]:
        """The action codes it can request."""
        acts = {a.action for st in self.stages for a in st.actions}
        return acts | {a for a in (self.on_broken_promise, self.failed_contacts_action) if a is not None}

    def redials(self) -> bool:
        """Whether it can request a call its retry rule redials: a collector or AI voice
        call to the borrower's own number, or a dialler call."""
        ch = self.channels
        return any(ch.is_call[a] and not ch.third_party[a] for a in self.actions())

    @classmethod
    def from_config(cls, params: dict[str, Any], key: str, *, channels: ChannelTable, **_: Any) -> TreatmentPath:
        _action = channels.code
        node = _keys(params, key, {"name", "stages", "queue_order", "uplift_model", "triggers", "retry", "description"})
        name = node.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{key}.name must be a non-empty string, got {name!r}")
        order = node.get("queue_order", "fifo")
        if order not in QUEUE_ORDERS and order not in MODEL_ORDERS:
            names = ", ".join([*QUEUE_ORDERS, *MODEL_ORDERS])
            raise ConfigError(f"{key}.queue_order must be one of {names}, got {order!r}")
        model = node.get("uplift_model")
        if (order in MODEL_ORDERS) != (model is not None):
            raise ConfigError(f"{key}.uplift_model (a model file from collectsim-uplift) goes with queue_order=uplift")
        if model is not None and not Path(str(model)).is_file():
            raise ConfigError(f"{key}.uplift_model: no such file {model!r} (collectsim-uplift writes one)")
        raw_stages = node.get("stages")
        if not isinstance(raw_stages, list):
            raise ConfigError(f"{key}.stages must be a list of stages, got {type(raw_stages).__name__}")
        stages: list[Stage] = []
        for i, st in enumerate(raw_stages):
            k = f"{key}.stages[{i}]"
            st = _keys(st, k, {"name", "dpd_from", "dpd_to", "actions"})
            lo = _num(st, "dpd_from", k, integer=True)
            hi = _num(st, "dpd_to", k, integer=True)
            if lo < 1 or hi < lo:
                raise ConfigError(f"{k}: need 1 <= dpd_from <= dpd_to, got dpd_from={lo}, dpd_to={hi}")
            acts = []
            for j, a in enumerate(st.get("actions") or []):
                ka = f"{k}.actions[{j}]"
                a = _keys(
                    a,
                    ka,
                    {
                        "action",
                        "start_day",
                        "every_days",
                        "min_balance_yuan",
                        "max_balance_yuan",
                        "settlement_discount",
                    },
                )
                act = _action(a.get("action"), f"{ka}.action")
                start = _num(a, "start_day", ka, lo, integer=True)
                every = _num(a, "every_days", ka, 0, integer=True)
                if not lo <= start <= hi:
                    raise ConfigError(f"{ka}.start_day must lie in the stage's days past due [{lo}, {hi}], got {start}")
                if every < 0:
                    raise ConfigError(f"{ka}.every_days must be >= 0 (0 means once), got {every}")
                disc = _num(a, "settlement_discount", ka, 0.0)
                if not 0 <= disc < 1:
                    raise ConfigError(f"{ka}.settlement_discount must be in [0, 1), got {disc:g}")
                if disc > 0 and not channels.is_agent[act]:
                    calls = ", ".join(c.name for c in channels.of_kind("agent", "bot"))
                    raise ConfigError(
                        f"{ka}.settlement_discount can only be offered in a call that holds a conversation ({calls}), not {a.get('action')}"
                    )
                acts.append(
                    ScheduledAction(
                        act,
                        start,
                        every,
                        _num(a, "min_balance_yuan", ka, 0.0),
                        _num(a, "max_balance_yuan", ka, np.inf),
                        disc,
                    )
                )
            stages.append(Stage(str(st.get("name", f"stage{i}")), lo, hi, tuple(acts)))
        ordered = sorted(stages, key=lambda s: s.dpd_from)
        for a, b in zip(ordered, ordered[1:]):
            if b.dpd_from <= a.dpd_to:
                raise ConfigError(
                    f"{key}.stages overlap: {a.name!r} covers days past due {a.dpd_from}-{a.dpd_to} and {b.name!r} starts at {b.dpd_from}"
                )
        trig = _keys(node.get("triggers") or {}, f"{key}.triggers", {"broken_promise", "failed_contacts"})
        bp = trig.get("broken_promise")
        on_bp = _action(bp, f"{key}.triggers.broken_promise") if bp is not None else None
        fc = trig.get("failed_contacts")
        fc_count, fc_action = 0, None
        if fc is not None:
            fc = _keys(fc, f"{key}.triggers.failed_contacts", {"count", "action"})
            fc_count = _num(fc, "count", f"{key}.triggers.failed_contacts", integer=True)
            if fc_count < 1:
                raise ConfigError(f"{key}.triggers.failed_contacts.count must be >= 1, got {fc_count}")
            fc_action = _action(fc.get("action"), f"{key}.triggers.failed_contacts.action")
        retry = _retry(node.get("retry") or {}, f"{key}.retry")
        policy = cls(name, ordered, order, on_bp, fc_count, fc_action, channels, retry)
        if model is not None:
            policy._order = uplift_order(str(model))
        return policy

    def start(self, portfolio: Portfolio, streams: RandomStreams) -> None:
        return None

    def decide(self, view: AccountView) -> Requests:
        # Candidates once (they shrink fast as accounts cure), then stage by stage.
        k = view.active or slice(0, None)
        lo = k.start or 0
        cand = lo + np.flatnonzero(view.workable[k] & ~view.promise_pending[k] & ~view.in_plan[k])
        dc, bc = view.dpd[cand], view.balance[cand]
        parts: list[Requests] = []
        for st in self.stages:
            in_stage = (dc >= st.dpd_from) & (dc <= st.dpd_to)
            if not in_stage.any():
                continue
            idx_stage = cand[in_stage]
            d = dc[in_stage]
            bal = bc[in_stage]
            for sa in st.actions:
                since = d - sa.start_day
                if sa.every_days == 0:
                    # Once: on the first day from start_day on when the account is
                    # eligible (it may have had a promise or plan pending that day).
                    last = view.last_action_day[idx_stage, sa.action]
                    due = (since >= 0) & (last < view.day - since)
                else:
                    due = (since >= 0) & (since % sa.every_days == 0)
                due &= (bal >= sa.min_balance_yuan) & (bal <= sa.max_balance_yuan)
                if due.any():
                    idx = idx_stage[due]
                    parts.append(Requests(idx, np.full(idx.size, sa.action), np.full(idx.size, sa.settlement_discount)))
        if self.on_broken_promise is not None:
            idx = cand[view.broken_promise_today[cand]]
            parts.append(Requests(idx, np.full(idx.size, self.on_broken_promise), np.zeros(idx.size)))
        if self.failed_contacts_action is not None:
            idx = cand[view.failed_streak[cand] >= self.failed_contacts_count]
            parts.append(Requests(idx, np.full(idx.size, self.failed_contacts_action), np.zeros(idx.size)))
        return dedupe(Requests.concat(parts), self.channels)

    def priority(self, view: AccountView, idx: np.ndarray) -> np.ndarray:
        return self._order(view, idx)


#: Whether an action code is terminal, by code (the last entry stands for every code past it).
_TERMINAL_CODE = np.zeros(max(int(a) for a in TERMINAL) + 2, dtype=bool)
_TERMINAL_CODE[[int(a) for a in TERMINAL]] = True


def dedupe(req: Requests, channels: ChannelTable) -> Requests:
    """Keep one request per (account, action); one collector call to the borrower per
    account (firm tone over soft, then the later channel, then the larger settlement
    discount) and one to a third party; a terminal action alone."""
    if req.idx.size == 0:
        return req
    act = req.action
    is_call = channels.is_agent[act]
    is_term = _TERMINAL_CODE[np.minimum(act, _TERMINAL_CODE.size - 1)]
    # Group calls under one code so only the best call per account survives (calls to
    # a third party are a group of their own: another number).
    group = np.where(is_call, np.where(channels.third_party[act], -2, -1), act)
    # Sort by account, group, then preference (firm first, larger discount first).
    order = np.lexsort((-req.discount, -act, -channels.firm[act].astype(np.int64), group, req.idx))
    idx, group_s = req.idx[order], group[order]
    first = np.ones(idx.size, dtype=bool)
    first[1:] = (idx[1:] != idx[:-1]) | (group_s[1:] != group_s[:-1])
    keep = order[first]
    out = Requests(req.idx[keep], act[keep], req.discount[keep])
    term = is_term[keep]
    if term.any():
        t_acc = out.idx[term]
        # A terminal action replaces all others (and only the first terminal one is kept).
        _, first_t = np.unique(t_acc, return_index=True)
        t_keep = np.flatnonzero(term)[first_t]
        others = ~np.isin(out.idx, t_acc, kind="table")
        keep2 = np.sort(np.concatenate([np.flatnonzero(others), t_keep]))
        out = Requests(out.idx[keep2], out.action[keep2], out.discount[keep2])
    return out
