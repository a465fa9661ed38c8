"""Roll-rate behaviour: accounts move month by month between buckets M1, M2, M3, M3+.

In bucket ``b`` an account with no contacts cures (pays in full) within the month with
probability ``cure_prob[b]``, otherwise it rolls to the next bucket; the last bucket
repeats until charge-off. Inside a month the cure hazard is constant,
``h_b = -ln(1 - cure_prob[b]) / 30`` per day, so the month's cure frequency is exactly
``cure_prob[b]``. A contact adds ``impulse_scale * strength`` to the hazard until the
end of the month: actions shift the transition probabilities. There are no partial
payments. Meant for students and for calibration against roll-rate tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from collectsim.behaviour.base import Repayments
from collectsim.errors import ConfigError
from collectsim.portfolio import Portfolio
from collectsim.random_streams import RandomStreams

MONTH_DAYS = 30.0


class RollRate:
    """Monthly bucket transitions with action-shifted cure hazards."""

    def __init__(self, cure_prob: list[float], impulse_scale: float) -> None:
        self.cure_prob = np.asarray(cure_prob, dtype=float)
        self.impulse_scale = float(impulse_scale)
        self.base_hazard = -np.log1p(-self.cure_prob) / MONTH_DAYS

    @classmethod
    def from_config(cls, params: dict[str, Any], key: str, **_: Any) -> RollRate:
        allowed = {"cure_prob", "impulse_scale"}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ConfigError(f"{key}.{unknown[0]} is not a known key; allowed keys: {', '.join(sorted(allowed))}")
        probs = params.get("cure_prob")
        if not isinstance(probs, list) or len(probs) != 4:
            raise ConfigError(
                f"{key}.cure_prob must be a list of 4 monthly cure probabilities (M1, M2, M3, M3+), got {probs!r}"
            )
        for i, v in enumerate(probs):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ConfigError(f"{key}.cure_prob[{i}] must be in [0, 1), got {v!r}")
        scale = params.get("impulse_scale")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale < 0:
            raise ConfigError(f"{key}.impulse_scale must be a number >= 0, got {scale!r}")
        return cls(list(probs), float(scale))

    def start(self, portfolio: Portfolio, streams: RandomStreams, horizon_days: float) -> None:
        self.streams = streams
        self.draws = np.zeros(portfolio.n, dtype=np.int64)
        self.entry = portfolio.entry_time
        n = portfolio.n
        self.month = np.zeros(n, dtype=np.int64)
        self.boost = np.zeros(n)
        self.factor = np.ones(n)  # stress factor on the base hazard
        self.t = portfolio.entry_time.copy()
        self.next_t = np.full(n, np.inf)
        self.open = np.ones(n, dtype=bool)
        self._redraw(np.arange(n))

    def _hazard(self, idx: np.ndarray) -> np.ndarray:
        b = np.minimum(self.month[idx], self.cure_prob.size - 1)
        return self.base_hazard[b] * self.factor[idx] + self.boost[idx]

    def _redraw(self, idx: np.ndarray) -> None:
        if idx.size == 0:
            return
        h = self._hazard(idx)
        # Per-account counter-based draws (common random numbers across policies).
        e = -np.log(self.streams.keyed("behaviour", idx, self.draws[idx]))
        self.draws[idx] += 1
        with np.errstate(divide="ignore"):
            self.next_t[idx] = self.t[idx] + np.where(h > 0, e / np.where(h > 0, h, 1.0), np.inf)

    def month_end(self, idx: np.ndarray) -> np.ndarray:
        return self.entry[idx] + MONTH_DAYS * (self.month[idx] + 1)

    def advance(self, idx: np.ndarray | None, until: np.ndarray | float) -> Repayments:
        if idx is None:
            idx = np.flatnonzero(self.open)
        until_arr = np.broadcast_to(np.asarray(until, dtype=float), idx.shape)
        live = self.open[idx]
        cur, cur_until = idx[live], until_arr[live]
        parts: list[Repayments] = []
        while cur.size:
            end = self.month_end(cur)
            stop = np.minimum(end, cur_until)
            pays = self.next_t[cur] < stop
            if pays.any():
                pidx = cur[pays]
                parts.append(Repayments(pidx.copy(), self.next_t[pidx].copy(), np.ones(pidx.size)))
                self.close(pidx)
            # Accounts that reach their month end before `until` start the next month.
            roll = ~pays & (end < cur_until)
            ridx = cur[roll]
            self.t[ridx] = end[roll]
            self.month[ridx] += 1
            self.boost[ridx] = 0.0
            self._redraw(ridx)
            cur, cur_until = ridx, cur_until[roll]
        return Repayments.concat(parts)

    def respond(self, idx: np.ndarray, time: np.ndarray, strength: np.ndarray) -> None:
        live = self.open[idx]
        idx, time, strength = idx[live], time[live], strength[live]
        self.boost[idx] += self.impulse_scale * strength
        self.t[idx] = time
        self._redraw(idx)

    def close(self, idx: np.ndarray) -> None:
        self.open[idx] = False
        self.next_t[idx] = np.inf

    def set_willingness_factor(self, idx: np.ndarray, time: float, factor: np.ndarray) -> None:
        """Stress scales the month's base cure hazard by ``factor`` while it lasts."""
        live = self.open[idx]
        idx, factor = idx[live], factor[live]
        if idx.size == 0:
            return
        self.factor[idx] = factor
        self.t[idx] = time
        self._redraw(idx)
