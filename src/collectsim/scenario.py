"""Typed scenario: building a validated :class:`Scenario` from a plain mapping.

The frozen dataclasses themselves live in :mod:`collectsim.scenario_types` and are
re-exported here.

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
import math
import types
import typing
from typing import Any

from collectsim.errors import ConfigError
from collectsim.scenario_types import (
    ChannelConfig,
    ChannelsConfig,
    CollectorsConfig,
    ComplianceConfig,
    ConversationConfig,
    CourtFeeBracket,
    Dist,
    LawsuitConfig,
    PortfolioConfig,
    Scenario,
    SegmentConfig,
    SimulationConfig,
    StressConfig,
    TrainingConfig,
)
from collectsim.validation import did_you_mean, validate_scenario


def scenario_from_dict(data: typing.Mapping[str, Any]) -> Scenario:
    """Build and validate a :class:`Scenario` from a plain mapping (e.g. parsed YAML).

    Raises
    ------
    ConfigError
        naming the first offending key, for a missing or unknown key, a wrong type or
        a value outside its allowed range.
    """
    scenario = _build(Scenario, data, "")
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
        hint = did_you_mean(unknown[0], sorted(names), path)
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
        if args and dataclasses.is_dataclass(args[1]):
            return {str(k): _build(args[1], v, _join(key, str(k))) for k, v in value.items()}
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
