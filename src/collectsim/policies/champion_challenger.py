"""Champion-challenger: a random split of the portfolio between two policies in one run."""

from __future__ import annotations

from typing import Any

import numpy as np

from collectsim import plugins
from collectsim.errors import ConfigError
from collectsim.policies.base import AccountView, Policy, Requests, RetryRule
from collectsim.portfolio import Portfolio
from collectsim.random_streams import RandomStreams


def _redials(policy: Policy) -> bool:
    """Whether ``policy`` can request calls a retry rule redials (yes, unless it says no)."""
    redials = getattr(policy, "redials", None)
    return True if redials is None else bool(redials())


def _rule(r: RetryRule) -> str:
    return f"attempts_per_day={r.attempts_per_day}, gap_minutes={r.gap_minutes:g}, last_hour={r.last_hour:g}"


class ChampionChallenger:
    """Accounts go to the challenger with probability ``challenger_share`` (drawn from
    the ``policy_split`` stream), otherwise to the champion; each arm's policy decides
    for its own accounts. KPIs are reported per arm."""

    def __init__(self, champion: Policy, challenger: Policy, challenger_share: float, key: str = "policy") -> None:
        # One team and one dialler serve both arms and redial under one rule: arms that
        # both make such calls under different rules would silently run one arm under the
        # other's. An arm that makes none (reminders only) takes the other's rule.
        rules = [getattr(arm, "retry", RetryRule()) for arm in (champion, challenger)]
        dialling = [k for k, arm in enumerate((champion, challenger)) if _redials(arm)]
        if len(dialling) == 2 and rules[0] != rules[1]:
            raise ConfigError(
                f"{key}.challenger.retry ({_rule(rules[1])}) differs from {key}.champion.retry ({_rule(rules[0])}); "
                "both arms share one team and one dialler, which redial under one rule: give the arms the same "
                "retry, e.g. "
                + " ".join(
                    f"{key}.challenger.retry.{f}={getattr(rules[0], f):g}"
                    for f in ("attempts_per_day", "gap_minutes", "last_hour")
                    if getattr(rules[0], f) != getattr(rules[1], f)
                )
            )
        self.champion = champion
        self.challenger = challenger
        self.challenger_share = challenger_share
        self.name = f"champion_challenger({champion.name} vs {challenger.name})"
        self.arm_names = [f"champion:{champion.name}", f"challenger:{challenger.name}"]
        self.arms = np.empty(0, dtype=np.int16)
        self.retry = rules[dialling[0]] if dialling else rules[0]

    @classmethod
    def from_config(cls, params: dict[str, Any], key: str, **ctx: Any) -> ChampionChallenger:
        allowed = {"champion", "challenger", "challenger_share", "name", "description"}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ConfigError(f"{key}.{unknown[0]} is not a known key; allowed keys: {', '.join(sorted(allowed))}")
        share = params.get("challenger_share")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
            raise ConfigError(f"{key}.challenger_share must be in (0, 1), got {share!r}")
        arms = []
        for arm in ("champion", "challenger"):
            node = params.get(arm)
            if not isinstance(node, dict):
                raise ConfigError(f"{key}.{arm} must be a policy config with a _target_, got {node!r}")
            arms.append(plugins.build(node, f"{key}.{arm}", **ctx))
        return cls(arms[0], arms[1], float(share), key)

    def actions(self) -> set[int] | None:
        """The action codes either arm can request (None if an arm does not say)."""
        arms = [getattr(p, "actions", None) for p in (self.champion, self.challenger)]
        return None if None in arms else set().union(*(a() for a in arms))  # type: ignore[misc]

    def start(self, portfolio: Portfolio, streams: RandomStreams) -> None:
        self.arms = (streams["policy_split"].random(portfolio.n) < self.challenger_share).astype(np.int16)
        self.champion.start(portfolio, streams)
        self.challenger.start(portfolio, streams)

    def decide(self, view: AccountView) -> Requests:
        parts = []
        for k, pol in enumerate((self.champion, self.challenger)):
            req = pol.decide(view)
            keep = self.arms[req.idx] == k
            parts.append(Requests(req.idx[keep], req.action[keep], req.discount[keep]))
        return Requests.concat(parts)

    def priority(self, view: AccountView, idx: np.ndarray) -> np.ndarray:
        # The arms' keys live on different scales (yuan, days, scores), so each arm's
        # keys become within-arm quantiles: the shared queue then interleaves the arms
        # fairly, each in its own policy's order.
        keys = np.empty(idx.size)
        for k, pol in enumerate((self.champion, self.challenger)):
            m = np.flatnonzero(self.arms[idx] == k)
            if m.size:
                order = np.argsort(pol.priority(view, idx[m]), kind="stable")
                q = np.empty(m.size)
                q[order] = (np.arange(m.size) + 0.5) / m.size
                keys[m] = q
        return keys
