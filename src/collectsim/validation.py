"""Range checks on a built scenario; each failure names its key and what is allowed."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import Any

from collectsim.channels import ChannelTable
from collectsim.distributions import check_dist
from collectsim.errors import ConfigError, dotted_keys
from collectsim.scenario_types import ChannelConfig, Dist, Scenario

ARRIVAL_MODES = ("cohort", "stream")
BACKLOG_MODES = ("carry", "drop")


def _in(key: str, value: float, low: float, high: float) -> None:
    if not (low <= value <= high) or math.isnan(value):
        raise ConfigError(f"{key} must be in [{low:g}, {high:g}], got {value:g}")


def _pos(key: str, value: float, *, allow_zero: bool = False) -> None:
    if math.isnan(value) or value < 0 or (value == 0 and not allow_zero):
        rule = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{key} must be {rule}, got {value:g}")


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {value!r}")


def _dist(key: str, d: Dist, *, low: float | None = None, high: float | None = None) -> None:
    check_dist(d, key)
    if (low is not None and d.kind == "beta") or (low is None and high is None):
        return
    # The bounds a draw can reach: a value outside the allowed range is refused, never
    # clipped without a word.
    rule = (
        f"in [{low:g}, {high:g}]"
        if low is not None and high is not None
        else f">= {low:g}"
        if low is not None
        else f"<= {high:g}"
    )
    ends = {"constant": ("value",), "uniform": ("low", "high")}.get(d.kind, ())
    for end in ends:
        v = getattr(d, end)
        if v is not None and ((low is not None and v < low) or (high is not None and v > high)):
            raise ConfigError(f"{key}.{end} must be {rule}, got {v:g}")


def _channel(key: str, c: ChannelConfig) -> None:
    _pos(f"{key}.cost_yuan", c.cost_yuan, allow_zero=True)
    _pos(f"{key}.impulse", c.impulse, allow_zero=True)
    _pos(f"{key}.stress_increment", c.stress_increment, allow_zero=True)
    _in(f"{key}.complaint_prob", c.complaint_prob, 0.0, 1.0)
    _in(f"{key}.hour", c.hour, 0.0, 24.0)
    _pos(f"{key}.reactance", c.reactance, allow_zero=True)
    _escalation(key, c.credibility_lift, c.credibility_days, c.priority_gain)


def _escalation(key: str, lift: float, days: float, gain: float) -> None:
    _in(f"{key}.credibility_lift", lift, 0.0, 1.0)
    _pos(f"{key}.credibility_days", days, allow_zero=True)
    _in(f"{key}.priority_gain", gain, 0.0, 1.0)


def did_you_mean(word: str, choices: Sequence[str], parent: str = "") -> str:
    """`` (did you mean X?)`` for the closest of ``choices`` to ``word`` (written as a key
    under ``parent`` when one is given), or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean {parent + '.' if parent else ''}{close[0]}?)"


#: ``a.b[0].c`` -> ``a.b.0.c`` (:class:`ConfigError` applies it to every message).
cli_key = dotted_keys


def _finite(key: str, value: Any) -> None:
    """Refuse NaN and infinity anywhere inside a plug-in's parameters."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value!r}")
    if isinstance(value, dict):
        for k, v in value.items():
            _finite(f"{key}.{k}", v)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _finite(f"{key}.{i}", v)


def validate_scenario(s: Scenario) -> None:
    """Raise :class:`ConfigError` for the first value outside its allowed range.

    Typed fields refuse NaN and infinity when the scenario is built; the plug-in
    parameters (``behaviour``, ``policy``) are plain mappings and are checked here.
    """
    _finite("behaviour", s.behaviour)
    _finite("policy", s.policy)
    _finite("response", s.response)
    sim = s.simulation
    _pos("simulation.horizon_days", sim.horizon_days)
    _pos("simulation.legal_tail_days", sim.legal_tail_days, allow_zero=True)
    _pos("simulation.seed", sim.seed, allow_zero=True)
    _pos("simulation.replications", sim.replications)
    _pos("simulation.cost_of_funds_annual", sim.cost_of_funds_annual, allow_zero=True)

    p = s.portfolio
    _choice("portfolio.arrival", p.arrival, ARRIVAL_MODES)
    _pos("portfolio.n_accounts", p.n_accounts)
    _pos("portfolio.warmup_days", p.warmup_days, allow_zero=True)
    _pos("portfolio.arrival_days", p.arrival_days, allow_zero=p.arrival == "cohort")
    _pos("portfolio.cooldown_days", p.cooldown_days, allow_zero=True)
    _pos("portfolio.penalty_multiplier", p.penalty_multiplier, allow_zero=True)
    _in("portfolio.hardship_ability_factor", p.hardship_ability_factor, 0.0, 1.0)
    if not (0.5 < p.score_auc < 1.0):
        raise ConfigError(f"portfolio.score_auc must be in (0.5, 1), got {p.score_auc:g}")
    if not p.segments:
        raise ConfigError("portfolio.segments must list at least one segment")
    names = [seg.name for seg in p.segments]
    if len(set(names)) != len(names):
        raise ConfigError(f"portfolio.segments names must be unique, got {names}")
    for i, seg in enumerate(p.segments):
        k = f"portfolio.segments.{i}"
        _in(f"{k}.share", seg.share, 0.0, 1.0)
        _dist(f"{k}.principal_yuan", seg.principal_yuan, low=0.0)
        _dist(f"{k}.daily_rate", seg.daily_rate, low=0.0)
        for trait in ("ability", "willingness", "contactability"):
            d = getattr(seg, trait)
            _dist(f"{k}.{trait}", d, low=0.0, high=1.0)
            if d.kind not in ("beta", "constant", "uniform"):
                raise ConfigError(
                    f"{k}.{trait}.kind must be one of beta, constant, uniform (a value in [0, 1]), got {d.kind!r}"
                )
        _dist(f"{k}.stress_sensitivity", seg.stress_sensitivity, low=0.0)
        _in(f"{k}.hardship_prob", seg.hardship_prob, 0.0, 1.0)
        _dist(f"{k}.hardship_days", seg.hardship_days, low=0.0)
    if len(p.reach_by_hour) != 24:
        raise ConfigError(f"portfolio.reach_by_hour must list 24 values (hours 00 to 23), got {len(p.reach_by_hour)}")
    for h, reach in enumerate(p.reach_by_hour):
        _in(f"portfolio.reach_by_hour.{h}", reach, 0.0, 1.0)
    total = sum(seg.share for seg in p.segments)
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(
            f"portfolio.segments shares must sum to 1, got {total:g} ({', '.join(f'{n}={seg.share:g}' for n, seg in zip(names, p.segments))})"
        )

    st = s.stress
    _pos("stress.half_life_days", st.half_life_days)
    _pos("stress.distress_threshold", st.distress_threshold)
    for name in (
        "willingness_effect",
        "contactability_effect",
        "complaint_effect",
        "intensity_effect",
        "response_effect",
        "reactance_threshold",
    ):
        _pos(f"stress.{name}", getattr(st, name), allow_zero=True)

    cv = s.conversation
    for name in (
        "ptp_base",
        "keep_base",
        "hardship_disclosure_soft",
        "hardship_disclosure_firm",
        "plan_adherence_base",
        "settlement_accept_base",
    ):
        _in(f"conversation.{name}", getattr(cv, name), 0.0, 1.0)
    _dist("conversation.promise_days", cv.promise_days, low=0.0)
    _pos("conversation.plan_instalments", cv.plan_instalments)
    _pos("conversation.plan_interval_days", cv.plan_interval_days)
    _pos("conversation.plan_max_misses", cv.plan_max_misses)
    _pos("conversation.settlement_days", cv.settlement_days)

    ch = s.channels
    for name in ("sms", "voice", "soft_call", "firm_call", "legal_warning"):
        _channel(f"channels.{name}", getattr(ch, name))
    for name, extra in ch.extra.items():
        _channel(f"channels.extra.{name}", extra)
    ChannelTable(ch)  # kinds, tones and third-party settings, each error naming its key
    _pos("channels.voice_lines_per_day", ch.voice_lines_per_day, allow_zero=True)
    _pos("channels.telephony_yuan_per_minute", ch.telephony_yuan_per_minute, allow_zero=True)
    _in("channels.outsourcing_commission", ch.outsourcing_commission, 0.0, 1.0)
    _in("channels.debt_sale_price_fraction", ch.debt_sale_price_fraction, 0.0, 1.0)
    _pos("channels.agency.lines_per_day", ch.agency.lines_per_day, allow_zero=True)
    _pos("channels.agency.every_days", ch.agency.every_days)
    _field_team(s)
    _ai_voice(s)
    law = ch.lawsuit
    _escalation("channels.lawsuit", law.credibility_lift, law.credibility_days, law.priority_gain)
    _pos("channels.lawsuit.enforcement_days", law.enforcement_days, allow_zero=True)
    _in("channels.lawsuit.enforcement_lift", law.enforcement_lift, 0.0, 1.0)
    _pos("channels.lawsuit.team_size", law.team_size)
    _pos("channels.lawsuit.prep_days", law.prep_days, allow_zero=True)
    _dist("channels.lawsuit.delay_days", law.delay_days, low=0.0)
    _in("channels.lawsuit.recovery_fraction", law.recovery_fraction, 0.0, 1.0)
    _in("channels.lawsuit.complaint_prob", law.complaint_prob, 0.0, 1.0)
    _pos("channels.lawsuit.min_fee_yuan", law.min_fee_yuan, allow_zero=True)
    _pos("channels.lawsuit.lawyer_fee_yuan", law.lawyer_fee_yuan, allow_zero=True)
    last = -1.0
    for i, b in enumerate(law.fee_brackets):
        if b.from_yuan <= last:
            raise ConfigError(
                f"channels.lawsuit.fee_brackets.{i}.from_yuan must increase, got {b.from_yuan:g} after {last:g}"
            )
        _in(f"channels.lawsuit.fee_brackets.{i}.rate", b.rate, 0.0, 1.0)
        last = b.from_yuan

    _in("portfolio.known_address_share", s.portfolio.known_address_share, 0.0, 1.0)
    _pos("portfolio.willingness_scale", s.portfolio.willingness_scale, allow_zero=True)
    _pos("portfolio.hardship_scale", s.portfolio.hardship_scale, allow_zero=True)

    co = s.collectors
    _pos("collectors.size", co.size)
    _in("collectors.shift_start_hour", co.shift_start_hour, 0.0, 24.0)
    _in("collectors.shift_end_hour", co.shift_end_hour, 0.0, 24.0)
    if co.shift_end_hour <= co.shift_start_hour:
        raise ConfigError(
            f"collectors.shift_end_hour must be after shift_start_hour ({co.shift_start_hour:g}), got {co.shift_end_hour:g}"
        )
    shift_minutes = (co.shift_end_hour - co.shift_start_hour) * 60
    _in("collectors.break_minutes", co.break_minutes, 0.0, shift_minutes - 1)
    if co.break_after_hours is not None:
        _in("collectors.break_after_hours", co.break_after_hours, 0.0, (shift_minutes - co.break_minutes) / 60)
    _pos("collectors.max_conversations_per_day", co.max_conversations_per_day)
    _dist("collectors.connected_minutes", co.connected_minutes, low=0.0)
    _dist("collectors.no_answer_minutes", co.no_answer_minutes, low=0.0)
    _dist("collectors.skill", co.skill, low=0.0)
    _dist("collectors.harshness", co.harshness, low=0.0)
    _pos("collectors.wage_yuan_per_day", co.wage_yuan_per_day, allow_zero=True)
    _choice("collectors.backlog", co.backlog, BACKLOG_MODES)
    _pos("collectors.training.cost_yuan_per_agent", co.training.cost_yuan_per_agent, allow_zero=True)
    _pos("collectors.training.skill_gain", co.training.skill_gain, allow_zero=True)

    cp = s.compliance
    _in("compliance.window_start_hour", cp.window_start_hour, 0.0, 24.0)
    _in("compliance.window_end_hour", cp.window_end_hour, 0.0, 24.0)
    if cp.window_end_hour <= cp.window_start_hour:
        raise ConfigError(
            f"compliance.window_end_hour must be after window_start_hour ({cp.window_start_hour:g}), got {cp.window_end_hour:g}"
        )
    for name in (
        "max_connected_per_day",
        "max_unanswered_per_day",
        "max_attempts_7d",
        "cooldown_days_after_conversation",
    ):
        v: Any = getattr(cp, name)
        if v is not None:
            _pos(f"compliance.{name}", v, allow_zero=name == "cooldown_days_after_conversation")
    _visit_rules(s)
    if cp.third_party_locate_after is not None:
        _pos("compliance.third_party_locate_after", cp.third_party_locate_after)
    _pos("compliance.cost_per_complaint_yuan", cp.cost_per_complaint_yuan, allow_zero=True)
    _pos("compliance.cost_per_breach_yuan", cp.cost_per_breach_yuan, allow_zero=True)

    for name in ("behaviour", "policy"):
        node = getattr(s, name)
        if "_target_" not in node:
            raise ConfigError(f"{name}._target_ is missing: name the class that implements the {name}")


def _field_team(s: Scenario) -> None:
    """The field team (``channels.field_team``): its size, day and time per visit."""
    ft, k = s.channels.field_team, "channels.field_team"
    _pos(f"{k}.size", ft.size, allow_zero=True)
    _in(f"{k}.start_hour", ft.start_hour, 0.0, 24.0)
    _in(f"{k}.end_hour", ft.end_hour, 0.0, 24.0)
    if ft.end_hour <= ft.start_hour:
        raise ConfigError(f"{k}.end_hour must be after start_hour ({ft.start_hour:g}), got {ft.end_hour:g}")
    _pos(f"{k}.travel_minutes", ft.travel_minutes, allow_zero=True)
    _pos(f"{k}.visit_minutes", ft.visit_minutes)
    day_minutes = (ft.end_hour - ft.start_hour) * 60.0
    if ft.travel_minutes + ft.visit_minutes > day_minutes:
        raise ConfigError(
            f"{k}.travel_minutes + visit_minutes must fit in the working day ({day_minutes:g} minutes), "
            f"got {ft.travel_minutes + ft.visit_minutes:g}"
        )
    _in(f"{k}.found_prob", ft.found_prob, 0.0, 1.0)


def _ai_voice(s: Scenario) -> None:
    """The AI voice lines (``channels.ai_voice``): lines, hours, handle times, price, skill."""
    ai, k = s.channels.ai_voice, "channels.ai_voice"
    _pos(f"{k}.lines", ai.lines, allow_zero=True)
    start = s.compliance.window_start_hour if ai.start_hour is None else ai.start_hour
    end = s.compliance.window_end_hour if ai.end_hour is None else ai.end_hour
    # Hours left to the calling window are the window's, checked with the preset.
    for name, v in (("start_hour", ai.start_hour), ("end_hour", ai.end_hour)):
        if v is not None:
            _in(f"{k}.{name}", v, 0.0, 24.0)
    if (ai.start_hour is not None or ai.end_hour is not None) and end <= start:
        raise ConfigError(f"{k}.end_hour must be after start_hour ({start:g}), got {end:g}")
    _pos(f"{k}.connected_minutes_low", ai.connected_minutes_low)
    if ai.connected_minutes_high < ai.connected_minutes_low:
        raise ConfigError(
            f"{k}.connected_minutes_high must be >= connected_minutes_low ({ai.connected_minutes_low:g}), "
            f"got {ai.connected_minutes_high:g}"
        )
    _pos(f"{k}.no_answer_minutes", ai.no_answer_minutes)
    _pos(f"{k}.cost_yuan_per_minute", ai.cost_yuan_per_minute, allow_zero=True)
    _pos(f"{k}.skill", ai.skill)


def _visit_rules(s: Scenario) -> None:
    """The preset's rules for field visits: permitted hours and the cap per account."""
    cp = s.compliance
    for name in ("visit_start_hour", "visit_end_hour"):
        v = getattr(cp, name)
        if v is not None:
            _in(f"compliance.{name}", v, 0.0, 24.0)
    start = cp.window_start_hour if cp.visit_start_hour is None else cp.visit_start_hour
    end = cp.window_end_hour if cp.visit_end_hour is None else cp.visit_end_hour
    if end <= start:
        raise ConfigError(f"compliance.visit_end_hour must be after visit_start_hour ({start:g}), got {end:g}")
    if cp.max_visits_30d is not None:
        _pos("compliance.max_visits_30d", cp.max_visits_30d, allow_zero=True)
