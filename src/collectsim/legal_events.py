"""What the engine does when the court pipeline reports: a lawsuit filed, a judgment,
the end of enforcement (a mix-in of :class:`collectsim.engine.Simulation`)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from collectsim.actions import JUDGMENT, Action
from collectsim.automated import contact_rows
from collectsim.behaviour.response import Contacts
from collectsim.legal import court_fee
from collectsim.state import OPEN


class LegalEvents:
    """The court callbacks; the attributes they use are the simulation's."""

    sc: Any
    st: Any
    pf: Any
    env: simpy.Environment
    response: Any
    behaviour: Any
    legal: Any
    pool: Any
    record_events: bool
    event_log: list[dict[str, np.ndarray]]
    streams: Any
    _apply_repayments: Callable[..., None]
    _respond: Callable[..., None]
    _stress_on_intensity: Callable[..., None]
    borrowers: Callable[..., Any]

    def _advance_one(self, i: int, t: float) -> bool:
        """Bring account ``i`` to time ``t``; return whether it is still open."""
        idx = np.array([i])
        self._apply_repayments(self.behaviour.advance(idx, np.array([t])))
        return bool(self.st.status[i] == OPEN)

    def _on_filed(self, i: int, t: float) -> None:
        st, law = self.st, self.sc.channels.lawsuit
        if not self._advance_one(i, t):
            return
        idx, tt = np.array([i]), np.array([t])
        st.lawsuit_filed[i] = True
        st.cost["legal"][i] += float(court_fee(st.balance[i], law)) + law.lawyer_fee_yuan
        st.contacts[i] += 1
        code = int(Action.LAWSUIT)
        inc = self.response.contact_stress(code, 1.0) * self.pf.sensitivity[idx]
        s = st.add_stress(idx, tt, inc)
        one, yes = np.ones(1), np.array([True])
        contacts = Contacts(idx, tt, np.array([code]), yes, one, one, np.zeros(1))
        self._respond(contacts, self.borrowers(idx, tt, s))
        if self.record_events:
            self.event_log.append(contact_rows(idx, tt, code, yes, s, self.pool.sequence(1)))

    def _on_judgment(self, i: int, t: float) -> None:
        st, law = self.st, self.sc.channels.lawsuit
        if not self._advance_one(i, t):
            return
        idx = np.array([i])
        ab = float(self.pf.ability[i])
        win = self.streams["legal"].random() < min(1.0, max(0.0, law.win_base + law.win_ability * ab))
        credible = getattr(self.response, "credible", None)
        if win and st.lawsuit_filed[i]:
            st.lawsuit_won[i] = True
            cured = st.pay(idx, np.array([law.recovery_fraction * ab * st.balance[i]]), t)
            if cured.size:
                self.behaviour.close(cured)
            if st.status[i] == OPEN and law.enforcement_days > 0:
                # The claim stays alive: enforcement goes on, and the borrower, facing
                # the dishonest-debtor list, repays more readily until it ends.
                if credible is not None:
                    credible(idx, t, law.enforcement_lift, law.enforcement_days)
                    self._stress_on_intensity(idx, t, st.stress_at(idx, t))
                self.legal.pending += 1
                self.env.process(self._enforcement(i, t + law.enforcement_days))
        elif credible is not None:
            credible(idx, t, 0.0, 0.0)  # a lost case is no longer a threat
        if st.status[i] == OPEN and not (win and st.lawsuit_won[i] and law.enforcement_days > 0):
            self.behaviour.close(idx)
            st.write_off(idx, t)
        if self.record_events:
            won = np.array([bool(st.lawsuit_won[i])])
            self.event_log.append(contact_rows(idx, np.array([t]), JUDGMENT, won, np.zeros(1), self.pool.sequence(1)))

    def _enforcement(self, i: int, end: float) -> Generator[simpy.Event, Any, None]:
        """Enforcement of a won judgment on ``i`` until ``end``; the rest is written off then."""
        yield self.env.timeout(end - self.env.now)
        if self._advance_one(i, end):
            idx = np.array([i])
            self.behaviour.close(idx)
            self.st.write_off(idx, end)
        self.legal.pending -= 1
