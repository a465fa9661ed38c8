"""A randomised learning period: whom do the collectors' calls change?

:class:`CallHoldout` wraps a policy (the champion). The first time the policy asks for
a collector call on an account, the account is *assigned*: with probability
``treat_share`` it is treated (its collector calls go ahead, now and later), otherwise
it is held out (its collector calls are dropped; reminders, letters and everything else
the policy does still happen). The draw is keyed on the account alone, so an account
has the same arm in every run of a seed whatever happens to the others. At assignment
the features a lender observes (:data:`collectsim.policies.features.FEATURES`) are
logged; the outcome (yuan collected after assignment) is read from the run's state.

For the simulator's own yardstick, ``forced`` (set before the run) overrides the arm of
chosen accounts: the same seed run with an account forced in and forced out gives its
true uplift, every other account keeping its arm (see :mod:`collectsim.uplift_study`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from collectsim import plugins
from collectsim.channels import ChannelTable
from collectsim.errors import ConfigError
from collectsim.policies.base import AccountView, Policy, Requests, RetryRule
from collectsim.policies.features import FEATURES, observable_features
from collectsim.portfolio import Portfolio
from collectsim.random_streams import RandomStreams


class CallHoldout:
    """The wrapped ``base`` policy with a random share of accounts held out of its
    collector calls (see the module docstring). KPIs are reported per arm
    (``called``, ``held_out``; accounts never asked for belong to the arm drawn)."""

    arm_names = ["called", "held_out"]

    def __init__(self, base: Policy, treat_share: float, channels: ChannelTable) -> None:
        self.base, self.treat_share, self.channels = base, treat_share, channels
        self.name = f"call_holdout({base.name}, {treat_share:g})"
        self.retry: RetryRule = getattr(base, "retry", RetryRule())
        self.forced: dict[int, bool] = {}  # account -> treated, set before the run
        self.arms = np.empty(0, dtype=np.int16)

    @classmethod
    def from_config(cls, params: dict[str, Any], key: str, **ctx: Any) -> CallHoldout:
        allowed = {"base", "treat_share", "name", "description"}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ConfigError(f"{key}.{unknown[0]} is not a known key; allowed keys: {', '.join(sorted(allowed))}")
        share = params.get("treat_share")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ConfigError(f"{key}.treat_share must be in [0, 1], got {share!r}")
        node = params.get("base")
        if not isinstance(node, dict):
            raise ConfigError(f"{key}.base must be a policy config with a _target_, got {node!r}")
        return cls(plugins.build(node, f"{key}.base", **ctx), float(share), ctx["channels"])

    def actions(self) -> set[int] | None:
        """The action codes the wrapped policy can request (None if it does not say)."""
        acts = getattr(self.base, "actions", None)
        return None if acts is None else set(acts())

    def start(self, portfolio: Portfolio, streams: RandomStreams) -> None:
        n = portfolio.n
        u = streams.keyed("uplift_assignment", np.arange(n), np.zeros(n, dtype=np.int64))
        self.treated = u < self.treat_share
        for i, t in self.forced.items():
            self.treated[i] = t
        self.arms = (~self.treated).astype(np.int16)
        self.assigned_day = np.full(n, -1, dtype=np.int64)
        self.features = np.full((n, len(FEATURES)), np.nan)
        self.base.start(portfolio, streams)

    def decide(self, view: AccountView) -> Requests:
        req = self.base.decide(view)
        calls = self.channels.is_agent[req.action]
        asked = np.unique(req.idx[calls])
        new = asked[self.assigned_day[asked] < 0]
        if new.size:
            self.assigned_day[new] = view.day
            self.features[new] = observable_features(view, new)
        keep = ~calls | self.treated[req.idx]
        return Requests(req.idx[keep], req.action[keep], req.discount[keep])

    def priority(self, view: AccountView, idx: np.ndarray) -> np.ndarray:
        return self.base.priority(view, idx)
