"""Typed scenario: every input of one simulation run, as frozen dataclasses.

The scenario is the only thing the core reads. It holds no default *model numbers*:
those live in the YAML files under ``conf/`` with their sources, and a scenario is
built from them (``collectsim.config.load_scenario``) or from a plain mapping
(:func:`scenario_from_dict`). Building validates every value and names the offending
key, so a bad input fails before any simulation starts.

Units are in the field names: ``*_days`` are days, ``*_hour`` hours of the day
(0-24), ``*_minutes`` minutes, ``*_yuan`` yuan, ``*_rate`` per day unless said.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass
from typing import Any

from collectsim.errors import ConfigError

# --------------------------------------------------------------------------- pieces


@dataclass(frozen=True)
class Dist:
    """A one-dimensional distribution described in config.

    ``kind`` is one of ``beta`` (``a``, ``b``), ``lognormal`` (arithmetic ``mean`` and
    log-scale ``sigma``), ``uniform`` (``low``, ``high``), ``normal`` (``mean``,
    ``sigma``), ``exponential`` (``mean``) or ``constant`` (``value``). ``low`` and
    ``high`` clip draws of the unbounded kinds.
    """

    kind: str
    a: float | None = None
    b: float | None = None
    mean: float | None = None
    sigma: float | None = None
    value: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class SegmentConfig:
    """One borrower segment: its share of the portfolio and trait distributions."""

    name: str
    share: float
    principal_yuan: Dist
    daily_rate: Dist
    ability: Dist
    willingness: Dist
    contactability: Dist
    stress_sensitivity: Dist
    hardship_prob: float
    hardship_days: Dist


@dataclass(frozen=True)
class PortfolioConfig:
    """The delinquent portfolio: size, arrival mode and segments."""

    n_accounts: int
    arrival: str  # "cohort" or "stream"
    stream_rate_per_day: float
    warmup_days: int
    arrival_days: int
    penalty_multiplier: float
    hardship_ability_factor: float
    score_auc: float
    segments: list[SegmentConfig]


@dataclass(frozen=True)
class StressConfig:
    """Borrower stress: decay, distress threshold and feedback strengths."""

    half_life_days: float
    distress_threshold: float
    willingness_effect: float
    contactability_effect: float
    complaint_effect: float


@dataclass(frozen=True)
class ConversationConfig:
    """What a connected collector call can end in: promise, plan or settlement."""

    ptp_base: float
    ptp_skill_effect: float
    promise_days: Dist
    keep_base: float
    keep_ability: float
    keep_willingness: float
    keep_stress: float
    hardship_disclosure_soft: float
    hardship_disclosure_firm: float
    hardship_disclosure_skill: float
    plan_instalments: int
    plan_interval_days: int
    plan_adherence_base: float
    plan_adherence_ability: float
    plan_max_misses: int
    settlement_accept_base: float
    settlement_accept_discount: float
    settlement_days: int


@dataclass(frozen=True)
class ChannelConfig:
    """An action's cost, its effect on repayment intensity and on stress.

    The intensity impulse of a contact is
    ``impulse * ability**ability_exp * willingness_eff**willingness_exp``.
    """

    cost_yuan: float
    impulse: float
    ability_exp: float
    willingness_exp: float
    stress_increment: float
    complaint_prob: float
    hour: float


@dataclass(frozen=True)
class CourtFeeBracket:
    """Court fee rate applied to the part of the claim above ``from_yuan``."""

    from_yuan: float
    rate: float


@dataclass(frozen=True)
class LawsuitConfig:
    """Lawsuits: fees, legal team capacity, delay and judgment recovery."""

    min_fee_yuan: float
    fee_brackets: list[CourtFeeBracket]
    simplified_procedure: bool
    lawyer_fee_yuan: float
    team_size: int
    prep_days: float
    delay_days: Dist
    win_base: float
    win_ability: float
    recovery_fraction: float
    impulse: float
    ability_exp: float
    willingness_exp: float
    stress_increment: float
    complaint_prob: float


@dataclass(frozen=True)
class ChannelsConfig:
    """All actions the engine knows, with their costs and effects."""

    sms: ChannelConfig
    voice: ChannelConfig
    voice_lines_per_day: int
    soft_call: ChannelConfig
    firm_call: ChannelConfig
    telephony_yuan_per_minute: float
    legal_warning: ChannelConfig
    lawsuit: LawsuitConfig
    outsourcing_commission: float
    debt_sale_price_fraction: float


@dataclass(frozen=True)
class TrainingConfig:
    """The training lever: a cost per agent that raises skill."""

    enabled: bool
    cost_yuan_per_agent: float
    skill_gain: float


@dataclass(frozen=True)
class CollectorsConfig:
    """The collector pool and its work queue."""

    size: int
    shift_start_hour: float
    shift_end_hour: float
    break_minutes: float
    max_conversations_per_day: int
    connected_minutes: Dist
    no_answer_minutes: Dist
    skill: Dist
    harshness: Dist
    skill_effect: float
    wage_yuan_per_day: float
    backlog: str  # "carry" or "drop"
    training: TrainingConfig


@dataclass(frozen=True)
class ComplianceConfig:
    """Contact rules. ``enforce`` blocks breaking requests; otherwise they are counted.

    A rule whose value is ``None`` is not checked.
    """

    name: str
    enforce: bool
    window_start_hour: float
    window_end_hour: float
    max_connected_per_day: int | None
    max_unanswered_per_day: int | None
    max_attempts_7d: int | None
    cooldown_days_after_conversation: float | None
    cost_per_complaint_yuan: float
    cost_per_breach_yuan: float


@dataclass(frozen=True)
class SimulationConfig:
    """Run length and seeding."""

    horizon_days: int
    legal_tail_days: int
    seed: int
    replications: int


@dataclass(frozen=True)
class Scenario:
    """Everything one run needs. ``behaviour`` and ``policy`` are plug-in configs with
    a ``_target_`` naming their class (see :mod:`collectsim.plugins`)."""

    simulation: SimulationConfig
    portfolio: PortfolioConfig
    behaviour: dict[str, Any]
    stress: StressConfig
    conversation: ConversationConfig
    channels: ChannelsConfig
    collectors: CollectorsConfig
    compliance: ComplianceConfig
    policy: dict[str, Any]


# --------------------------------------------------------------------------- building


def scenario_from_dict(data: typing.Mapping[str, Any]) -> Scenario:
    """Build and validate a :class:`Scenario` from a plain mapping (e.g. parsed YAML).

    Raises
    ------
    ConfigError
        naming the first offending key, for a missing or unknown key, a wrong type or
        a value outside its allowed range.
    """
    scenario = _build(Scenario, data, "")
    from collectsim.validation import validate_scenario

    validate_scenario(scenario)
    return scenario


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain nested dicts and lists (JSON-friendly)."""
    return dataclasses.asdict(scenario)


def _build(cls: Any, data: Any, path: str) -> Any:
    hints = typing.get_type_hints(cls)
    if not isinstance(data, typing.Mapping):
        raise ConfigError(f"{path or 'config'} must be a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(names), n=1)
        hint = f" (did you mean {_join(path, close[0])}?)" if close else ""
        raise ConfigError(
            f"{_join(path, unknown[0])} is not a known key{hint}; allowed keys: {', '.join(sorted(names))}"
        )
    kwargs = {}
    for f in dataclasses.fields(cls):
        key = _join(path, f.name)
        if f.name not in data:
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            raise ConfigError(f"{key} is missing")
        kwargs[f.name] = _convert(hints[f.name], data[f.name], key)
    return cls(**kwargs)


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, key)
    if value is None:
        raise ConfigError(f"{key} must not be empty (null)")
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    if origin is list:
        if isinstance(value, (str, bytes)) or not isinstance(value, typing.Sequence):
            raise ConfigError(f"{key} must be a list, got {type(value).__name__}")
        # ``key.0.name``: the form the command line accepts for list items.
        return [_convert(args[0], v, f"{key}.{i}") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, typing.Mapping):
            raise ConfigError(f"{key} must be a mapping, got {type(value).__name__}")
        return _plain(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, typing.Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


__all__ = [
    "ChannelConfig",
    "ChannelsConfig",
    "CollectorsConfig",
    "ComplianceConfig",
    "ConversationConfig",
    "CourtFeeBracket",
    "Dist",
    "LawsuitConfig",
    "PortfolioConfig",
    "Scenario",
    "SegmentConfig",
    "SimulationConfig",
    "StressConfig",
    "TrainingConfig",
    "scenario_from_dict",
    "scenario_to_dict",
]
