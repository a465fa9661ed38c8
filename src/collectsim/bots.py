"""AI voice agents: lines that hold collection conversations, a pool in time like the
collectors.

A bot line is a member of a second :class:`~collectsim.collectors.CollectorPool`, run by
the same compiled agent day (:mod:`collectsim.kernels`, in the collectors' SimPy
process; Numba is needed, the Python fallback has no bots): ``channels.ai_voice.lines``
lines take calls of ``kind: bot`` channels (``ai_call``) from a queue of their own, in
the policy's order, over the calling window (or ``start_hour``-``end_hour``) without
breaks, each call lasting ``connected_minutes_low``-``connected_minutes_high`` minutes
when answered and ``no_answer_minutes`` otherwise. An answered bot call is a
conversation: the response model treats it like a collector's, with the bots' ``skill``
(below an average agent's 1) scaling the promise rate and the call's impulse, and the
channel's own stress, complaint and effect parameters. The contact rules count bot calls
as calls (attempts, connected and unanswered calls a day, the 7-day count, the window),
the same counters a human call adds to. Each connected minute costs
``cost_yuan_per_minute`` (``cost_ai_voice``) on top of telephony; the lines have no
wage.

Everything the bots draw comes from their own streams (``bots``, and ``bot_answers``
for whether a call is answered), so a run whose policy never asks for a bot call is the
run without bots, draw for draw.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from collectsim.collectors import CollectorPool
from collectsim.errors import ConfigError
from collectsim.scenario_types import CollectorsConfig, Dist, Scenario

#: Bot lines appear in the event log as agents AGENT_OFFSET + line.
AGENT_OFFSET = 1000


def bot_collectors(sc: Scenario) -> CollectorsConfig:
    """The collectors' config that makes a pool of ``channels.ai_voice`` lines."""
    ai, rules = sc.channels.ai_voice, sc.compliance
    return replace(
        sc.collectors,
        size=ai.lines,
        shift_start_hour=rules.window_start_hour if ai.start_hour is None else ai.start_hour,
        shift_end_hour=rules.window_end_hour if ai.end_hour is None else ai.end_hour,
        break_minutes=0.0,
        break_after_hours=None,
        max_conversations_per_day=10**9,
        connected_minutes=Dist(kind="uniform", low=ai.connected_minutes_low, high=ai.connected_minutes_high),
        no_answer_minutes=Dist(kind="constant", value=ai.no_answer_minutes),
        skill=Dist(kind="constant", value=ai.skill),
        harshness=Dist(kind="constant", value=1.0),
        wage_yuan_per_day=0.0,
        training=replace(sc.collectors.training, enabled=False),
        shift_follows_window=False,
    )


class BotPool(CollectorPool):
    """The AI voice lines: a collector pool whose contact numbers are the main pool's
    (``owner``), whose agents are logged from :data:`AGENT_OFFSET` and whose connected
    minutes are charged to the bot channel's cost key."""

    def __init__(self, owner: CollectorPool, sc: Scenario, cost_key: str, *args: Any) -> None:
        self.owner = owner
        super().__init__(owner.env, replace(sc, collectors=bot_collectors(sc)), *args)
        self.rate = sc.channels.ai_voice.cost_yuan_per_minute
        self.cost_key = cost_key
        if self.compiled is None or owner.compiled is None:
            raise ConfigError(
                "the AI voice lines (channels.ai_voice) run on the compiled agent day: install Numba "
                "(pip install numba) and unset COLLECTSIM_KERNELS=0, or use a policy without bot calls"
            )
        # The lines run in the collectors' process, segment by segment after them: two
        # teams each waiting on the other's wake-up at the same instant would never
        # advance the clock.
        owner.compiled.partners.append(self.compiled)

    def sequence(self, n: int) -> np.ndarray:
        return self.owner.sequence(n)

    def start(self) -> None:
        """The lines run in the collectors' process (see ``__init__``): nothing to start."""
        self.refresh_callable()

    def take_log(self) -> dict[str, np.ndarray]:
        out = super().take_log()
        if out["idx"].size:
            on = out["connected"]
            np.add.at(self.state.cost[self.cost_key], out["idx"][on], out["minutes"][on] * self.rate)
            out["agent"] = out["agent"] + AGENT_OFFSET
        return out


def bot_actions_asked(policy: Any, channels: Any) -> list[int] | None:
    """The bot actions a policy lists, or ``None`` when it does not list its actions
    (then it may ask for any of them)."""
    acts = getattr(policy, "actions", None)
    if acts is None:
        return None
    return sorted(int(a) for a in acts() if channels.is_bot[a])


def build_bots(sim: Any) -> BotPool | None:
    """The bot lines of a simulation, or ``None`` when its policy never asks for a bot
    call (a policy that does not list its actions gets them whenever lines exist)."""
    sc, ch = sim.sc, sim.channels
    codes = np.flatnonzero(ch.is_bot)
    asked = bot_actions_asked(sim.policy, ch)
    if not codes.size or asked == [] or sc.channels.ai_voice.lines <= 0:
        return None
    cost_key = ch.channels[int(codes[0])].cost_key
    return BotPool(
        sim.pool, sc, cost_key, sim.st, sim.comp, sim.streams["bots"], sim.response, ch, sim.retry,
        sim.streams.outcomes("bot_answers", sim.pf.n),
    )  # fmt: skip


def check_bots(sc: Scenario, policy: Any, channels: Any) -> None:
    """Refuse a policy that asks for bot calls when there are no lines, or no compiled
    agent day to run them."""
    from collectsim.compiled_team import agent_path

    bot = sorted(channels.channels[a].name for a in bot_actions_asked(policy, channels) or [])
    if bot and agent_path() == "python":
        raise ConfigError(
            f"policy {policy.name} asks for {', '.join(bot)}: the AI voice lines run on the compiled agent day; "
            "install Numba (pip install numba) and unset COLLECTSIM_KERNELS=0"
        )
    if bot and sc.channels.ai_voice.lines <= 0:
        raise ConfigError(
            f"policy {policy.name} asks for {', '.join(bot)} but channels.ai_voice.lines is 0; "
            "give the bots lines, e.g. channels.ai_voice.lines=20"
        )
