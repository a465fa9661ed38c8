"""Checking a command line before Hydra starts: every value of every swept key is
composed and validated, and the memory a run needs is estimated, so bad input stops
with one line before any job is launched or any folder is created.

Hydra's own options (``--help``, ``--cfg``, ``-cn`` ...) are left to Hydra.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException
from hydra.types import RunMode
from omegaconf import OmegaConf

from collectsim.cli.sweep_folder import swept_values
from collectsim.config import compose, config_dir, option_file, scenario_from_config, search_dirs
from collectsim.engine import build_plugins
from collectsim.errors import ConfigError

MULTIRUN_FLAGS = ("-m", "--multirun")
#: Top-level switches of ``conf/config.yaml`` that must be true or false.
BOOLEAN_KEYS = ("show_segments", "resume", "publish", "memory_check")
#: Peak memory of one run: the interpreter and imports, plus a per-account cost
#: (measured: 116 MiB at 10,000 accounts, 889 MiB at 1,000,000; docs/performance.md),
#: rounded up.
BASE_BYTES = 150 * 2**20
BYTES_PER_ACCOUNT = 1024


@dataclass
class Checked:
    """What the precheck learnt about the command line."""

    multirun: bool = False
    jobs: int = 1
    swept: dict[str, list[str]] = field(default_factory=dict)


def precheck(argv: list[str]) -> Checked | None:
    """Validate the command line ``argv``; raise :class:`ConfigError` on bad input, with
    keys written as the command line accepts them (``policy.stages.0.name``).

    Returns None when the command line holds Hydra options the precheck leaves to Hydra.
    """
    return _precheck(argv)


def config_dir_options(argv: list[str]) -> tuple[list[str], list[str]] | None:
    """``argv`` without ``--config-dir DIR`` (``-cd DIR``, ``--config-dir=DIR``), and
    the ``hydra.searchpath`` override that adds those folders as Hydra does; None when
    ``argv`` holds another Hydra option (``--help``, ``--cfg`` ...)."""
    rest: list[str] = []
    dirs: list[str] = []
    args = iter(argv)
    for a in args:
        if a in ("--config-dir", "-cd"):
            dirs.append(next(args, ""))
        elif a.startswith("--config-dir="):
            dirs.append(a.split("=", 1)[1])
        elif a.startswith("-") and a not in MULTIRUN_FLAGS:
            return None
        else:
            rest.append(a)
    if not dirs:
        return rest, []
    for d in dirs:
        if not Path(d).is_dir():
            raise ConfigError(f"--config-dir {d}: no such folder")
    paths = ",".join(f"file://{Path(d).resolve()}" for d in dirs)
    return rest, [f"hydra.searchpath=[{paths}]"]


def _precheck(argv: list[str]) -> Checked | None:
    split = config_dir_options(argv)
    if split is None:
        return None
    argv, searchpath = split
    flag = any(a in MULTIRUN_FLAGS for a in argv)
    texts = [a for a in argv if a not in MULTIRUN_FLAGS]
    parser = OverridesParser.create()
    parsed = []
    for text in texts:
        try:
            parsed += parser.parse_overrides([text])
        except OverrideParseException as exc:
            if "[" in text.partition("=")[0]:
                raise ConfigError(f"list items are written with dots on the command line: {text}") from None
            reason = str(exc).splitlines()[0].strip()
            raise ConfigError(f"cannot read the override {text!r}: {reason}") from None
    sweeps: dict[str, list[str]] = {}
    for ov in parsed:
        if ov.is_sweep_override():
            try:
                sweeps[ov.key_or_group] = list(ov.sweep_string_iterator())
            except Exception:  # noqa: BLE001 - an interval for an optimising sweeper: its values are drawn later
                return None
    first = [
        _with(ov, sweeps[ov.key_or_group][0]) if ov.key_or_group in sweeps else str(ov.input_line) for ov in parsed
    ]

    cfg = compose([*first, *searchpath], return_hydra_config=True)
    multirun = flag or cfg.hydra.mode == RunMode.MULTIRUN
    if sweeps and not multirun:
        key, values = next(iter(sweeps.items()))
        raise ConfigError(
            f"{key}={','.join(values)} lists several values: add -m to sweep over them "
            f"(collectsim -m {' '.join(texts)}), or quote the value if it is one string"
        )
    swept = dict(sweeps)
    if multirun and str(cfg.hydra.sweeper._target_).endswith("BasicSweeper"):
        swept = swept_values(cfg.hydra.sweeper.params, texts)
    for key in BOOLEAN_KEYS:
        value = cfg.get(key)
        if value is not None and not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
    reps = swept.get("replications", [])
    if len(reps) > 1:
        # Job k runs replications 0..R-1: two values repeat the same seeds in every cell.
        raise ConfigError(
            f"replications={','.join(reps)} would run the same replications (same seeds) of every cell "
            "more than once, and the report would count them twice; give one value "
            "(to add independent runs, sweep seed=... instead)"
        )

    values_set = [ov.key_or_group for ov in parsed if "." in ov.key_or_group]  # not group choices
    scenarios = [_checked(cfg, values_set, searchpath)]
    base = {ov.key_or_group: text for ov, text in zip(parsed, first)}
    for key, values in swept.items():
        for value in values[1:] if key in sweeps else values:
            overrides = dict(base)
            overrides[key] = _with_key(parsed, key, value)
            composed = compose([*overrides.values(), *searchpath], return_hydra_config=True)
            scenarios.append(_checked(composed, values_set, searchpath))

    jobs = math.prod(len(v) for v in swept.values()) if multirun else 1
    if cfg.get("memory_check", True):
        _check_memory(cfg, scenarios, jobs if multirun else 1)
    return Checked(multirun=multirun, jobs=jobs, swept=swept)


def _with(ov: Any, value: str) -> str:
    return f"{ov.get_key_element()}={value}"


def _with_key(parsed: list[Any], key: str, value: str) -> str:
    for ov in parsed:
        if ov.key_or_group == key:
            return _with(ov, value)
    return f"{key}={value}"


def _checked(cfg: Any, given: list[str], searchpath: list[str]) -> Any:
    """The scenario of ``cfg``, built and checked. A value refused inside a group's file
    from the user's ``--config-dir`` (not set on the command line: ``given``) names that
    file."""
    try:
        scenario = scenario_from_config(cfg)
        build_plugins(scenario)
    except ConfigError as exc:
        key = str(exc).split(" ", 1)[0]
        group = key.split(".", 1)[0]
        option = OmegaConf.select(cfg, f"hydra.runtime.choices.{group}")
        set_here = any(key == g or key.startswith(f"{g}.") or g.startswith(f"{key}.") for g in given)
        path = option_file(group, str(option), search_dirs(searchpath)) if option and not set_here else None
        if path is None or path.is_relative_to(config_dir()):
            raise
        raise ConfigError(f"{path}: {exc}") from None
    return scenario


def memory_estimate(scenario: Any) -> int:
    """Estimated peak bytes of one run of ``scenario``."""
    return BASE_BYTES + BYTES_PER_ACCOUNT * int(scenario.portfolio.n_accounts)


def available_memory() -> int | None:
    """Bytes of memory available to new processes (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _concurrent(cfg: Any, jobs: int) -> int | None:
    """Jobs running at once on this machine, or None when they run elsewhere."""
    target = str(cfg.hydra.launcher.get("_target_", ""))
    if "joblib" in target.lower():
        n = int(cfg.hydra.launcher.get("n_jobs") or -1)
        n = os.cpu_count() or 1 if n < 0 else n
        return max(1, min(n, jobs))
    if "basic" in target.lower():
        return 1
    return None


def _check_memory(cfg: Any, scenarios: list[Any], jobs: int) -> None:
    at_once = _concurrent(cfg, jobs) if jobs > 1 else 1
    free = available_memory()
    if at_once is None or free is None:
        return
    biggest = max(scenarios, key=memory_estimate)
    need = memory_estimate(biggest) * at_once
    if need <= free:
        return
    what = f"portfolio.n_accounts={biggest.portfolio.n_accounts}"
    runs = f" x {at_once} jobs at once" if at_once > 1 else ""
    raise ConfigError(
        f"{what} needs about {_gib(need)} of memory (about 1 KiB per account{runs}), more than this machine "
        f"has available ({_gib(free)}); use fewer accounts, or add memory_check=false to run anyway"
    )


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def fail(exc: Exception) -> None:
    """Print ``exc`` as collectsim's one-line error and exit with status 2."""
    print(f"collectsim: error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
