"""Resolving plug-in classes named by ``_target_`` in configs, inside an allow-list.

Configs travel between teams, so a ``_target_`` may only name a class inside
``collectsim`` or inside a package the user allowed explicitly (the environment
variable ``COLLECTSIM_ALLOWED_PACKAGES``, comma separated, or the ``allowed``
argument). Nothing else is ever imported.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from typing import Any

from collectsim.errors import ConfigError

BUILTIN_PACKAGES = ("collectsim",)


def allowed_packages(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The packages whose classes a ``_target_`` may name."""
    env = [p.strip() for p in os.environ.get("COLLECTSIM_ALLOWED_PACKAGES", "").split(",") if p.strip()]
    return (*BUILTIN_PACKAGES, *env, *extra)


def resolve(target: Any, key: str, extra_allowed: Iterable[str] = ()) -> Any:
    """Import and return the object named by a dotted ``target`` string.

    Raises
    ------
    ConfigError
        if ``target`` is not a string, lies outside the allowed packages, or cannot
        be imported.
    """
    if not isinstance(target, str) or "." not in target:
        raise ConfigError(
            f"{key}._target_ must be a dotted class path such as collectsim.policies.TreatmentPath, got {target!r}"
        )
    allowed = allowed_packages(extra_allowed)
    if not any(target == p or target.startswith(p + ".") for p in allowed):
        raise ConfigError(
            f"{key}._target_ {target!r} is outside the allowed packages ({', '.join(allowed)}); "
            "add a trusted package to COLLECTSIM_ALLOWED_PACKAGES to use it"
        )
    module_name, _, attr = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{key}._target_ {target!r} cannot be imported: {exc}") from None


def build(node: dict[str, Any], key: str, **context: Any) -> Any:
    """Build the plug-in described by ``node`` by calling its class's ``from_config``.

    ``from_config(params, key, **context)`` receives the node without ``_target_``.
    """
    cls = resolve(node.get("_target_"), key)
    params = {k: v for k, v in node.items() if k != "_target_"}
    factory = getattr(cls, "from_config", None)
    if factory is None:
        raise ConfigError(
            f"{key}._target_ {node['_target_']!r} has no from_config method, so it is not a collectsim plug-in"
        )
    return factory(params, key, **context)
