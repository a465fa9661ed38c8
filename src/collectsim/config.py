"""Loading scenarios from the YAML config groups under ``conf/`` (uses Hydra's compose
API; this is an edge module, the core never imports it).

>>> from collectsim.config import load_scenario
>>> sc = load_scenario(["policy=soft_first", "portfolio.n_accounts=2000"])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collectsim.errors import ConfigError
from collectsim.scenario import Scenario, scenario_from_dict

SCENARIO_KEYS = (
    "simulation",
    "portfolio",
    "behaviour",
    "stress",
    "conversation",
    "channels",
    "collectors",
    "compliance",
    "policy",
    "response",
)


def config_dir() -> Path:
    """The folder holding ``config.yaml`` and the config groups.

    An installed wheel carries it as ``collectsim/conf``; a source checkout has it at
    the repository root.
    """
    packaged = Path(__file__).resolve().parent / "conf"
    if (packaged / "config.yaml").is_file():
        return packaged
    repo = Path(__file__).resolve().parents[2] / "conf"
    if (repo / "config.yaml").is_file():
        return repo
    raise ConfigError(f"cannot find collectsim's conf/ folder (looked in {packaged} and {repo})")


def scenario_from_config(cfg: Any) -> Scenario:
    """Build a :class:`Scenario` from a composed Hydra/OmegaConf config."""
    from omegaconf import OmegaConf

    try:
        data = OmegaConf.to_container(cfg, resolve=True)
    except Exception as exc:  # noqa: BLE001 - any resolution failure is a config error
        raise ConfigError(f"config cannot be resolved: {exc}") from None
    assert isinstance(data, dict)
    missing = [k for k in SCENARIO_KEYS if k not in data]
    if missing:
        raise ConfigError(f"{missing[0]} is missing from the config")
    return scenario_from_dict({k: data[k] for k in SCENARIO_KEYS})


def compose(overrides: Sequence[str] = ()) -> Any:
    """Compose ``config.yaml`` with Hydra overrides and return the raw config."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from collectsim.schemas import register_schemas

    register_schemas()
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            return hydra_compose(config_name="config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(_one_line(exc)) from None


def load_scenario(overrides: Sequence[str] = ()) -> Scenario:
    """Compose the default config with ``overrides`` and build the scenario."""
    return scenario_from_config(compose(overrides))


def _one_line(exc: BaseException) -> str:
    """Hydra/OmegaConf composition errors as one line naming the key and what is allowed."""
    from hydra.errors import MissingConfigException

    if isinstance(exc, MissingConfigException) and exc.options is not None and exc.missing_cfg_file:
        group, _, option = str(exc.missing_cfg_file).rpartition("/")
        allowed = [o for o in exc.options if o != "schema"]
        return f"{group}={option} is not an option of config group '{group}'; allowed: {', '.join(allowed)}"
    cause = exc.__cause__ or exc
    text = [ln.strip() for ln in str(cause).splitlines() if ln.strip()]
    full_key = next((ln.split(":", 1)[1].strip() for ln in text if ln.startswith("full_key:")), None)
    first = text[0] if text else type(exc).__name__
    if full_key and first.startswith("Key '") and " not in " in first:
        allowed = _allowed_keys(full_key)
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"{full_key} is not a known key{hint}"
    if full_key:
        return f"{full_key}: {first}"
    return " ".join(ln for ln in (str(exc).splitlines()[:1] + text[:1]) if ln)


def _allowed_keys(full_key: str) -> list[str]:
    """The field names of the schema node that should hold ``full_key``."""
    import dataclasses
    import typing

    from collectsim.scenario import Scenario

    node: Any = Scenario
    parts = full_key.replace("]", "").replace("[", ".").split(".")[:-1]
    for part in parts:
        if part.isdigit():
            continue
        if not dataclasses.is_dataclass(node):
            return []
        tp = typing.get_type_hints(node).get(part)
        if tp is None:
            return []
        while typing.get_origin(tp) is not None and not dataclasses.is_dataclass(tp):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if not args:
                return []
            tp = args[0]
        node = tp
    return sorted(f.name for f in dataclasses.fields(node)) if dataclasses.is_dataclass(node) else []
