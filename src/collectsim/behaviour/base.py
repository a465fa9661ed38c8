"""The interface every behaviour model implements, and the repayments it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from collectsim.portfolio import Portfolio
from collectsim.random_streams import RandomStreams


@dataclass
class Repayments:
    """Repayments found while advancing: account ``idx`` pays ``fraction`` of its
    balance at ``time``. Rows of one account appear in time order."""

    idx: np.ndarray
    time: np.ndarray
    fraction: np.ndarray

    @classmethod
    def empty(cls) -> Repayments:
        return cls(np.empty(0, np.int64), np.empty(0), np.empty(0))

    @classmethod
    def concat(cls, parts: list[Repayments]) -> Repayments:
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.idx for p in parts]),
            np.concatenate([p.time for p in parts]),
            np.concatenate([p.fraction for p in parts]),
        )


class BehaviourModel(Protocol):
    """What the engine asks of a behaviour model (all methods are vectorised).

    Times are in days since the start of the run. ``idx`` arrays name accounts and hold
    no duplicates within one call.
    """

    def start(self, portfolio: Portfolio, streams: RandomStreams, horizon_days: float) -> None:
        """Set up per-account state; accounts become active at ``portfolio.entry_time``."""

    def advance(self, idx: np.ndarray | None, until: np.ndarray | float) -> Repayments:
        """Repayments strictly before ``until`` (per account or one time) of the given
        accounts (``None``: all), in time order per account. Accounts that pay in full
        stop producing repayments."""

    def respond(self, idx: np.ndarray, time: np.ndarray, strength: np.ndarray) -> None:
        """A contact at ``time`` (already advanced to) of the given response strength
        (non-zero; negative when the contact backfires and should lower repayment)."""

    def close(self, idx: np.ndarray) -> None:
        """The accounts left the book (paid by other means, sold, written off)."""

    def set_willingness_factor(self, idx: np.ndarray, time: float, factor: np.ndarray) -> None:
        """From ``time`` (already advanced to) on, the borrowers' own repayment sees
        their willingness times ``factor`` (stress lowers it while it lasts). Optional:
        a model without this method ignores stress in its own intensity."""


def params_from(params: dict[str, Any], key: str, names: tuple[str, ...]) -> dict[str, float]:
    """Pick the named numeric parameters, naming a missing or unknown one."""
    from collectsim.errors import ConfigError

    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]} is not a known key; allowed keys: {', '.join(sorted(names))}")
    out = {}
    for n in names:
        if n not in params:
            raise ConfigError(f"{key}.{n} is missing")
        v = params[n]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(f"{key}.{n} must be a number, got {v!r}")
        out[n] = float(v)
    return out
