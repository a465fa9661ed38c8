"""Loading scenarios from the YAML config groups under ``conf/`` (uses Hydra's compose
API; this is an edge module, the core never imports it).

>>> from collectsim.config import load_scenario
>>> sc = load_scenario(["policy=soft_first", "portfolio.n_accounts=2000"])
"""

from __future__ import annotations

import copy
import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collectsim.errors import ConfigError
from collectsim.scenario import Scenario, scenario_from_dict
from collectsim.validation import did_you_mean

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
        # Only the scenario's keys: a config composed with its ``hydra`` node holds
        # interpolations that resolve only inside a running Hydra app.
        data = {
            k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k]) else cfg[k]
            for k in SCENARIO_KEYS
            if k in cfg
        }
    except Exception as exc:  # noqa: BLE001 - any resolution failure is a config error
        raise ConfigError(_one_line(exc)) from None
    missing = [k for k in SCENARIO_KEYS if k not in data]
    if missing:
        raise ConfigError(f"{missing[0]} is missing from the config")
    return scenario_from_dict({k: data[k] for k in SCENARIO_KEYS})


_PARSED: OrderedDict[tuple[Any, ...], Any] = OrderedDict()  # Hydra's parsed config files
_PARSED_KEPT = 512


def _keep_parsed_files() -> None:
    """Make Hydra parse each config file once per process: a composition reads some twenty
    YAML files and parsing them is about a third of its time. The parse is kept by path,
    modification time and size (an edited file is read afresh) and every composition gets
    its own deep copy, as if read from disk."""
    from hydra._internal.core_plugins.file_config_source import FileConfigSource
    from hydra.plugins.config_source import ConfigResult

    original = FileConfigSource.load_config
    if getattr(original, "collectsim_keeps_parses", False):
        return

    def load_config(self: Any, config_path: str) -> Any:
        full = os.path.realpath(os.path.join(self.path, self._normalize_file_name(config_path)))
        try:
            st = os.stat(full)
        except OSError:
            return original(self, config_path)  # Hydra's own error
        key = (self.path, self.provider, full, st.st_mtime_ns, st.st_size)
        kept = _PARSED.get(key)
        if kept is None:
            kept = _PARSED[key] = original(self, config_path)
            if len(_PARSED) > _PARSED_KEPT:
                _PARSED.popitem(last=False)
        return ConfigResult(
            provider=kept.provider,
            path=kept.path,
            config=copy.deepcopy(kept.config),
            header=dict(kept.header),
            defaults_list=copy.deepcopy(kept.defaults_list),
            is_schema_source=kept.is_schema_source,
        )

    load_config.collectsim_keeps_parses = True  # type: ignore[attr-defined]
    FileConfigSource.load_config = load_config  # type: ignore[method-assign]


def compose(overrides: Sequence[str] = (), return_hydra_config: bool = False) -> Any:
    """Compose ``config.yaml`` with Hydra overrides and return the raw config (with
    its ``hydra`` node when ``return_hydra_config``)."""
    import yaml
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from collectsim.schemas import register_schemas

    register_schemas()
    _keep_parsed_files()
    _refuse_schema_option(overrides)
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            return hydra_compose(
                config_name="config", overrides=list(overrides), return_hydra_config=return_hydra_config
            )
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(_one_line(exc, search_dirs(overrides))) from None
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_error_line(exc)) from None


def search_dirs(overrides: Sequence[str]) -> list[Path]:
    """The folders added to the config search path by ``hydra.searchpath=[file://...]``
    in ``overrides`` (what ``--config-dir`` does), in order."""
    found = []
    for ov in overrides:
        key, _, value = ov.lstrip("+~").partition("=")
        if key == "hydra.searchpath":
            found += [Path(m) for m in re.findall(r"file://([^,\]\s'\"]+)", value)]
    return found


def option_file(group: str, option: str, dirs: Sequence[Path] = ()) -> Path | None:
    """The YAML file of ``group=option``: in the first of ``dirs`` that has it, else in
    collectsim's own ``conf/``; None when there is none."""
    for folder in [*dirs, config_dir()]:
        path = folder / group / f"{option}.yaml"
        if path.is_file():
            return path
    return None


def yaml_error_line(exc: Exception) -> str:
    """A YAML parser error as one line naming the file, line and column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or exc).strip()
    where = f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "a config file"
    hint = " (indent with spaces: YAML does not allow tabs)" if "\\t" in problem or "\t" in problem else ""
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and start is not None and mark is not None and start.line != mark.line:
        hint += f" ({context} that starts on line {start.line + 1})"
    return f"{where}: YAML syntax error: {problem}{hint}"


#: Scenarios already composed in this process, by overrides and the state of the config
#: files (most recent last). Composing takes about 0.3 s (Hydra reads and merges some 20
#: YAML files); the page, the tests and the studies' helpers ask for the same scenarios
#: again and again.
_SCENARIOS: OrderedDict[tuple[Any, ...], Scenario] = OrderedDict()
_SCENARIOS_KEPT = 256


def _files_state(dirs: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime in ns, size) of every file under ``dirs``: a config file edited,
    added or removed composes afresh."""
    out = []
    for folder in dirs:
        for root, _, files in os.walk(folder):
            for name in files:
                path = os.path.join(root, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                out.append((path, st.st_mtime_ns, st.st_size))
    return tuple(sorted(out))


def load_scenario(overrides: Sequence[str] = ()) -> Scenario:
    """Compose the default config with ``overrides`` and build the scenario.

    The same overrides on unchanged config files give a copy of the scenario composed
    before in this process (a cache of the last 256), not a new composition."""
    overrides = tuple(overrides)
    key = (overrides, _files_state([config_dir(), *search_dirs(overrides)]))
    scenario = _SCENARIOS.get(key)
    if scenario is None:
        scenario = scenario_from_config(compose(overrides))
        _SCENARIOS[key] = scenario
        while len(_SCENARIOS) > _SCENARIOS_KEPT:
            _SCENARIOS.popitem(last=False)
    else:
        _SCENARIOS.move_to_end(key)
    return copy.deepcopy(scenario)


#: Capacities scaled with the book, as the defaults have them for their book size.
CAPACITIES = (
    "collectors.size",
    "channels.lawsuit.team_size",
    "channels.voice_lines_per_day",
    "channels.agency.lines_per_day",
)


def scaled_capacities(accounts: int, overrides: Sequence[str] = ()) -> list[str]:
    """Overrides giving a book of ``accounts`` the team, lawyers, dialler lines and
    agency lines per account that the config of ``overrides`` has for its own book (at
    least one of each), except where ``overrides`` set them: the one team-scaling rule
    (the sensitivity study's points, the page's default team)."""
    from omegaconf import OmegaConf

    cfg = compose(list(overrides))
    ratio = accounts / int(cfg.portfolio.n_accounts)
    given = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
    out = []
    for key in CAPACITIES:
        value = OmegaConf.select(cfg, key)
        if value is not None and key not in given:
            out.append(f"{key}={max(1, round(float(value) * ratio))}")
    return out


def group_options(group: str) -> list[str]:
    """The options of a config group (its YAML files), without the internal ``schema``."""
    folder = config_dir() / group
    return sorted(p.stem for p in folder.glob("*.yaml") if p.stem != "schema") if folder.is_dir() else []


def top_level_keys() -> list[str]:
    """The keys a command line may set at the top: config groups and ``config.yaml``'s own."""
    from omegaconf import OmegaConf

    raw = OmegaConf.load(config_dir() / "config.yaml")
    own = [str(k) for k in raw if k not in ("defaults", "hydra")]
    groups = sorted(p.name for p in config_dir().iterdir() if p.is_dir() and p.name != "hydra")
    return sorted({*own, *groups})


def _not_an_option(group: str, option: str) -> str:
    allowed = group_options(group)
    hint = did_you_mean(option, allowed)
    return f"{group}={option} is not an option of config group '{group}'{hint}; allowed: {', '.join(allowed)}"


def _refuse_schema_option(overrides: Sequence[str]) -> None:
    """``group=schema`` names the internal schema (all values missing), not an option."""
    for ov in overrides:
        key, sep, value = ov.lstrip("+~").partition("=")
        if sep and value.strip() == "schema" and "." not in key and (config_dir() / key).is_dir():
            raise ConfigError(_not_an_option(key, "schema"))


def _one_line(exc: BaseException, dirs: Sequence[Path] = ()) -> str:
    """Hydra/OmegaConf composition errors as one line naming the key and what is allowed
    (and the file, when the error is in a config group's file: ``In 'portfolio/gig'``)."""
    from hydra.errors import MissingConfigException

    if isinstance(exc, MissingConfigException) and exc.options is not None and exc.missing_cfg_file:
        group, _, option = str(exc.missing_cfg_file).rpartition("/")
        return _not_an_option(group, option)
    cause = exc.__cause__ or exc
    text = [ln.strip() for ln in str(cause).splitlines() if ln.strip()]
    full_key = next((ln.split(":", 1)[1].strip() for ln in text if ln.startswith("full_key:")), None)
    in_file = re.match(r"In '([\w-]+)/([\w-]+)': ", text[0]) if text else None
    if in_file:
        text = [text[0][in_file.end() :], *text[1:]]
        text = [ln for ln in text if not ln.endswith("raised while composing config:")] or text
    first = text[0] if text else type(exc).__name__
    # A top-level value (seed, replications) copied into a typed field by interpolation:
    # name the key the user typed, not the field it lands in.
    interp = re.search(r"dereferencing interpolation '\$\{([\w.]+)\}'", " ".join(text))
    named = interp.group(1) if interp else full_key
    conv = re.search(r"Value '(.*)' of type '\w+' could not be converted to (\w+)", " ".join(text))
    prefix = ""
    if in_file and named and not interp:
        # Inside a group's file the key is relative to the node that refused it (a
        # segment): find where the file sets it and name the file.
        group, option = in_file.groups()
        path = option_file(group, option, dirs)
        if path is not None:
            prefix = f"{path}: "
            named = _locate(path, group, named, conv.group(1) if conv else None) or f"{group}.{named}"
    key = named
    if key and conv:
        expected = _TYPE_WORDS.get(conv.group(2), conv.group(2).lower())
        return f"{prefix}{key} must be {expected}, got {conv.group(1)!r}"
    if key and first.startswith("Key '") and " not in " in first:
        allowed = _allowed_keys(key)
        parent, _, leaf = key.rpartition(".")
        hint = did_you_mean(leaf, allowed, parent)
        return f"{prefix}{key} is not a known key{hint}" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
    if key:
        return f"{prefix}{key}: {first}"
    return prefix + " ".join(ln for ln in (str(exc).splitlines()[:1] + text[:1]) if ln)


def _locate(path: Path, group: str, leaf: str, value: str | None) -> str | None:
    """The full key (``portfolio.segments.1.hardship_prob``) where the file ``path`` of
    ``group`` sets ``leaf`` (to ``value`` when given), or None."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    tail = leaf.split(".")

    def walk(node: Any, at: list[str]) -> str | None:
        if isinstance(node, dict):
            here: Any = node
            for part in tail:
                here = here.get(part) if isinstance(here, dict) else None
            if here is not None and (value is None or str(here) == value):
                return ".".join([*at, *tail])
            items: Any = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            return None
        for k, v in items:
            if k != "defaults":
                found = walk(v, [*at, str(k)])
                if found:
                    return found
        return None

    return walk(data, [group])


#: OmegaConf's type names in its conversion errors, as a sentence says them.
_TYPE_WORDS = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false", "String": "a string"}


def _allowed_keys(full_key: str) -> list[str]:
    """The field names of the schema node that should hold ``full_key``."""
    import dataclasses
    import typing

    from collectsim.scenario import Scenario

    node: Any = Scenario
    parts = full_key.replace("]", "").replace("[", ".").split(".")[:-1]
    if not parts:
        return top_level_keys()
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
