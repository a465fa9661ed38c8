"""The field team: visits to borrowers at home or at work, with a capacity of its own.

A visit is a contact channel of kind ``visit`` (``channels.extra.field_visit`` by
default) made by the field team of ``channels.field_team``. Each day the visits the
policy requested form the day's queue, in the policy's queue order; accounts whose
address the lender does not know (``Portfolio.address_known``) are dropped first, and
what the team cannot visit that day is dropped too (a policy that schedules a visit
once asks again the next day). Visitor ``j``'s ``k``-th visit of the day starts at
``start_hour + k * (travel_minutes + visit_minutes) + travel_minutes``: all visitors
arrive at their ``k``-th visit together, one SimPy event per slot, so visits take their
place in time among the day's calls and messages. Each visit is checked against the
preset's visit rules (:meth:`~collectsim.compliance.Compliance.filter_visits`: the
permitted hours and the cap per account in 30 days), costs the channel's ``cost_yuan``
whether it meets the borrower or not, and meets the borrower with probability
``found_prob``; a visit that meets the borrower adds stress and is answered by the
response model like any delivered contact (impulse, reactance, complaint).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from collectsim.automated import contact_rows
from collectsim.behaviour.response import ResponseModel
from collectsim.channels import ChannelTable
from collectsim.compliance import Compliance
from collectsim.policies.base import AccountView
from collectsim.random_streams import OutcomeDraws
from collectsim.scenario_types import FieldTeamConfig
from collectsim.state import AccountState

#: days over which the per-account visit cap counts visits
CAP_DAYS = 30.0


class FieldTeam:
    """Visits requested by the policy, made by a team of ``cfg.size`` visitors.

    Attributes
    ----------
    slots : visits one visitor makes a day.
    capacity : visits the team makes a day (``size * slots``).
    requested, no_address, unserved : visit requests in total; those dropped because
        the address is unknown; those dropped because the day's capacity was used.
    visits_by_day : the number of visits started each day (day -> count).
    log : the day's visits as event-log batches, taken by the engine.
    """

    def __init__(
        self,
        env: simpy.Environment,
        cfg: FieldTeamConfig,
        state: AccountState,
        compliance: Compliance,
        response: ResponseModel,
        channels: ChannelTable,
        rng: OutcomeDraws,
        address_known: np.ndarray | None,
        priority: Callable[[AccountView, np.ndarray], np.ndarray],
        sequence: Callable[[int], np.ndarray],
    ) -> None:
        self.env, self.cfg, self.st, self.comp = env, cfg, state, compliance
        self.response, self.channels, self.rng = response, channels, rng
        n = state.pf.n
        self.address_known = np.ones(n, dtype=bool) if address_known is None else address_known
        self.priority, self.sequence = priority, sequence
        self.slot_minutes = cfg.travel_minutes + cfg.visit_minutes
        self.slots = int((cfg.end_hour - cfg.start_hour) * 60.0 // self.slot_minutes + 1e-9) if cfg.size else 0
        self.capacity = cfg.size * self.slots
        self.requested = self.no_address = self.unserved = 0
        self.visits_by_day: dict[int, int] = {}
        self.log: list[dict[str, np.ndarray]] = []
        self._history: np.ndarray | None = None  # last visit times per account (the cap)

    def take_log(self) -> list[dict[str, np.ndarray]]:
        """The visits made since the last take, in batches."""
        out, self.log = self.log, []
        return out

    def plan_day(self, d: int, idx: np.ndarray, codes: np.ndarray, view: AccountView) -> None:
        """Queue today's visit requests (accounts ``idx``, visit channels ``codes``, one
        per account) in the policy's order and schedule the ones the team can make."""
        self.requested += idx.size
        if idx.size:  # one visit per account and day, whatever channels were asked for
            _, first = np.unique(idx, return_index=True)
            idx, codes = idx[np.sort(first)], codes[np.sort(first)]
        known = self.address_known[idx]
        self.no_address += int((~known).sum())
        idx, codes = idx[known], codes[known]
        if idx.size == 0:
            return
        order = np.argsort(self.priority(view, idx), kind="stable")[: self.capacity]
        self.unserved += idx.size - order.size
        if order.size == 0:
            return
        self.visits_by_day[d] = int(order.size)
        idx, codes = idx[order], codes[order]
        # The k-th visit of the day goes to visitor k % size as their (k // size)-th.
        slot = np.arange(idx.size) // self.cfg.size
        for s in range(int(slot[-1]) + 1):
            at = d + (self.cfg.start_hour * 60.0 + s * self.slot_minutes + self.cfg.travel_minutes) / 1440.0
            m = slot == s
            self.env.process(self._visit_at(at, idx[m], codes[m]))

    def _visit_at(self, t: float, idx: np.ndarray, codes: np.ndarray) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(t - self.env.now)
        self._visit(t, idx, codes)

    def _recent(self, idx: np.ndarray, t: float) -> np.ndarray:
        """Visits to accounts ``idx`` in the ``CAP_DAYS`` days before ``t`` (counted up to
        the preset's cap, which is all the rule needs)."""
        cap = self.comp.cfg.max_visits_30d
        if cap is None:
            return np.zeros(idx.size, dtype=np.int64)
        if self._history is None:
            self._history = np.full((self.st.pf.n, max(cap, 1)), -np.inf)
        return (self._history[idx] > t - CAP_DAYS).sum(axis=1)

    def _remember(self, idx: np.ndarray, t: float) -> None:
        if self._history is not None and idx.size:
            oldest = np.argmin(self._history[idx], axis=1)
            self._history[idx, oldest] = t

    def _visit(self, t: float, idx: np.ndarray, codes: np.ndarray) -> None:
        st, ch = self.st, self.channels
        ok = self.comp.filter_visits(idx, t, self.cfg.visit_minutes, self._recent(idx, t))
        idx, codes = idx[ok], codes[ok]
        if idx.size == 0:
            return
        self._remember(idx, t)
        day = int(t)
        per_unit = np.zeros(idx.size)
        for code in np.unique(codes):
            row = ch.channels[int(code)]
            assert row.cfg is not None
            m = codes == code
            st.count_action(idx[m], int(code), day)
            st.cost[row.cost_key][idx[m]] += row.cfg.cost_yuan
            per_unit[m] = self.response.contact_stress(int(code), 1.0)
        st.contacts[idx] += 1
        st.visits[idx] += 1
        met = self.rng.random(idx) < self.cfg.found_prob
        st.visits_met[idx[met]] += 1
        inc = np.where(met, per_unit * st.pf.sensitivity[idx], 0.0)
        s = st.add_stress(idx, np.full(idx.size, t), inc)
        rows = contact_rows(idx, np.full(idx.size, t), 0, met, s, self.sequence(idx.size))
        rows["action"] = codes.astype(rows["action"].dtype)
        self.log.append(rows)
