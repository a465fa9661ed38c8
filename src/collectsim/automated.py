"""Contacts without a collector: messages, dialler calls and letters.

Each batch goes out at its hour, as a SimPy process, so that it takes its place in time
among the agents' calls (the contact rules count them in the order they happen).
Dialler numbers that do not answer are redialled later the same day under the policy's
retry rule. The contacts are logged for the engine, which applies them at the end of
the day with the agents' calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from typing import Any

import numpy as np
import simpy

from collectsim import contact_kernels as CK
from collectsim.behaviour.response import ResponseModel
from collectsim.channels import ChannelTable
from collectsim.compliance import Compliance, hour_of
from collectsim.policies.base import AccountView, RetryRule
from collectsim.random_streams import OutcomeDraws
from collectsim.state import AccountState


def contact_rows(
    idx: np.ndarray, time: np.ndarray, kind: int, connected: np.ndarray, stress: np.ndarray, seq: np.ndarray
) -> dict[str, np.ndarray]:
    """An event-log batch for contacts not made by an agent (agent -1, no minutes)."""
    n = idx.size
    return {
        "idx": idx,
        "time": time,
        "action": np.full(n, kind),
        "connected": connected,
        "skill": np.ones(n),
        "harshness": np.ones(n),
        "stress": stress,
        "discount": np.zeros(n),
        "agent": np.full(n, -1),
        "minutes": np.zeros(n),
        "seq": seq,
    }


class AutomatedContacts:
    """Sends the automated contacts a policy requested.

    Parameters
    ----------
    priority : the policy's queue order, used when more dialler calls are asked for
        than ``lines_per_day`` lines can make.
    sequence : numbers contacts in the order they happen (shared with the agents).
    """

    def __init__(
        self,
        env: simpy.Environment,
        state: AccountState,
        compliance: Compliance,
        response: ResponseModel,
        channels: ChannelTable,
        rng: OutcomeDraws,
        retry: RetryRule,
        lines_per_day: int,
        reach_by_hour: Sequence[float],
        priority: Callable[[AccountView, np.ndarray], np.ndarray],
        sequence: Callable[[int], np.ndarray],
    ) -> None:
        self.env, self.st, self.comp, self.response, self.channels = env, state, compliance, response, channels
        self.rng, self.retry, self.lines = rng, retry, lines_per_day
        self.reach_by_hour = np.asarray(reach_by_hour, dtype=float)
        self.priority, self.sequence = priority, sequence
        self.log: list[dict[str, np.ndarray]] = []

    def send(self, t: float, idx: np.ndarray, code: int, view: AccountView) -> None:
        """Send channel ``code`` to accounts ``idx`` at time ``t`` (today)."""
        self.env.process(self._send_at(t, idx, code, view))

    def take_log(self) -> list[dict[str, np.ndarray]]:
        """The contacts sent since the last take, in batches."""
        out, self.log = self.log, []
        return out

    def _send_at(self, t: float, idx: np.ndarray, code: int, view: AccountView) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(t - self.env.now)
        self._deliver(idx, code, t, view)

    def _deliver(self, idx: np.ndarray, code: int, t: float, view: AccountView) -> None:
        st, pf, comp = self.st, self.st.pf, self.comp
        row = self.channels.channels[code]
        assert row.cfg is not None
        is_call = row.kind == "dialler"
        if row.kind != "letter":  # letters go by post, not subject to call hours
            idx = idx[comp.filter(idx, t, is_call=is_call)]
        if row.cfg.third_party and idx.size:
            # A message to the borrower's contacts: the third-party rule applies.
            idx = idx[np.fromiter((comp.third_party_allows(int(i)) for i in idx), bool, idx.size)]
        if is_call and idx.size > self.lines:
            # The dialler has limited lines: the policy's queue order decides who is called.
            order = np.argsort(self.priority(view, idx), kind="stable")
            idx = np.sort(idx[order[: self.lines]])
        if idx.size == 0:
            return
        if st.steps_compiled and idx.dtype == np.int64:
            self._deliver_compiled(idx, code, t, view, row.cost_key, row.cfg.cost_yuan, is_call)
            return
        st.count_action(idx, code, int(t))
        st.contacts[idx] += 1
        st.cost[row.cost_key][idx] += row.cfg.cost_yuan
        if is_call:
            s_now = st.stress_at(idx, t)
            c_eff = pf.contactability[idx] * np.exp(-self.response.avoidance * s_now)
            c_eff = c_eff * self.reach_by_hour[int(hour_of(t)) % 24]
            connected = self.rng.random(idx) < c_eff
            comp.record_attempts(idx, t, connected)
            st.voice_attempts[idx] += 1
            self._redial(idx[~connected], code, t, view)
        else:
            connected = np.ones(idx.size, dtype=bool)
        inc = np.where(connected, self.response.contact_stress(code, 1.0) * pf.sensitivity[idx], 0.0)
        s = st.add_stress(idx, np.full(idx.size, t), inc)
        self.log.append(contact_rows(idx, np.full(idx.size, t), code, connected, s, self.sequence(idx.size)))

    def _deliver_compiled(
        self, idx: np.ndarray, code: int, t: float, view: AccountView, cost_key: str, cost: float, is_call: bool
    ) -> None:
        """The delivery of :meth:`_deliver` in compiled steps around NumPy's exp and the
        outcome draws: the same bits."""
        st, pf, comp, n = self.st, self.st.pf, self.comp, idx.size
        x = np.empty(n)
        CK.send_step(idx, code, int(t), t, st.actions_done, st.last_action_day, st.contacts, st.cost[cost_key], cost,
                     float(-st.decay), st.stress_t, x)  # fmt: skip
        np.exp(x, out=x)
        connected = np.empty(n, dtype=bool)
        if is_call:
            y = np.empty(n)
            CK.stress_now_step(idx, x, st.stress, -self.response.avoidance, y)
            np.exp(y, out=y)
            u = self.rng.random(idx)
            CK.answer_step(idx, t, y, pf.contactability, float(self.reach_by_hour[int(hour_of(t)) % 24]), u,
                           comp.attempts_today, comp.attempts_7d, comp.connected_today, comp.unanswered_today,
                           comp.last_conversation, st.voice_attempts, connected)  # fmt: skip
            self._redial(idx[~connected], code, t, view)
        else:
            connected[:] = True
        s = np.empty(n)
        CK.stress_step(idx, t, x, connected, self.response.contact_stress(code, 1.0), pf.sensitivity, st.stress,
                       st.stress_t, st.stress_peak, s)  # fmt: skip
        self.log.append(contact_rows(idx, np.full(n, t), code, connected, s, self.sequence(n)))

    def _redial(self, idx: np.ndarray, code: int, t: float, view: AccountView) -> None:
        """Numbers that did not answer are tried again later the same day, under the
        policy's retry rule (attempts per day, gap, last hour)."""
        rule, day = self.retry, math.floor(t + 1e-12)
        ready = t + rule.gap_minutes / 1440.0
        if idx.size == 0 or ready >= day + rule.last_hour / 24.0:
            return
        again = idx[self.comp.attempts_today[idx] < rule.attempts_per_day]
        if again.size:
            self.send(ready, again, code, view)
