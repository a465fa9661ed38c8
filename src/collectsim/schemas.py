"""Structured-config schemas: the scenario dataclasses registered in Hydra's ConfigStore (an edge module).

Each config group's options are validated against its dataclass at compose time, so a
typo in a key or a wrong type fails before the run, naming the key. The core's
dataclasses are frozen; OmegaConf needs mutable ones to merge into, so mutable twins
are derived here from the same definitions (one source of truth).
"""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from typing import Any

from hydra.core.config_store import ConfigStore

from collectsim import scenario as S

#: config group -> schema dataclass (behaviour and policy are plug-ins, checked when built)
GROUP_SCHEMAS: dict[str, type] = {
    "simulation": S.SimulationConfig,
    "portfolio": S.PortfolioConfig,
    "stress": S.StressConfig,
    "conversation": S.ConversationConfig,
    "channels": S.ChannelsConfig,
    "collectors": S.CollectorsConfig,
    "compliance": S.ComplianceConfig,
}


@cache
def mutable(cls: type) -> type:
    """A non-frozen copy of dataclass ``cls`` whose nested dataclasses are copied too."""
    hints = typing.get_type_hints(cls)
    fields: list[Any] = []
    for f in dataclasses.fields(cls):
        tp = _swap(hints[f.name])
        if f.default is not dataclasses.MISSING:
            fields.append((f.name, tp, dataclasses.field(default=f.default)))
        elif f.default_factory is not dataclasses.MISSING:
            # A nested dataclass defaults to its mutable twin (OmegaConf checks the type).
            factory: Any = tp if dataclasses.is_dataclass(tp) else f.default_factory
            fields.append((f.name, tp, dataclasses.field(default_factory=factory)))
        else:
            fields.append((f.name, tp))
    name = f"{cls.__name__}Schema"
    new = dataclasses.make_dataclass(name, fields)
    # Importable by name, so a launcher that pickles configs (joblib, Ray) finds the
    # class by reference in its workers instead of rebuilding it by value.
    new.__module__ = __name__
    new.__qualname__ = name
    globals()[name] = new
    return new


def _swap(tp: Any) -> Any:
    if dataclasses.is_dataclass(tp):
        return mutable(tp)  # type: ignore[arg-type]
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is list:
        return list[_swap(args[0])]  # type: ignore[misc]
    if origin in (typing.Union,) or type(tp).__name__ == "UnionType":
        inner = [a for a in args if a is not type(None)]
        return typing.Optional[_swap(inner[0])]  # noqa: UP007, UP045 - OmegaConf needs Optional
    if origin is dict and dataclasses.is_dataclass(args[1]):
        return dict[str, mutable(args[1])]  # type: ignore[misc, arg-type]
    if tp is dict or origin is dict:
        return typing.Any
    return tp


# Build every schema class at import time, so workers that unpickle a config can
# import them from this module.
for _cls in GROUP_SCHEMAS.values():
    mutable(_cls)


@cache
def register_schemas() -> None:
    """Register each group's schema as ``<group>/schema`` (idempotent).

    Every option file of a group lists ``- schema`` first in its defaults, so the
    option is merged onto (and checked against) the schema.
    """
    cs = ConfigStore.instance()
    for group, cls in GROUP_SCHEMAS.items():
        cs.store(group=group, name="schema", node=mutable(cls))
