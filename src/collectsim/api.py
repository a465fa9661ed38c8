"""The Python API for notebooks and scripts: build a scenario, run replications, get KPIs.

Sweeps (a list or grid of override sets, in parallel, with the command line's files and
report) are :func:`collectsim.experiments.run_experiments`, re-exported here with
:func:`~collectsim.experiments.grid` and :func:`~collectsim.experiments.compare`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from collectsim.engine import Progress, build_plugins, run
from collectsim.metrics import RunResult
from collectsim.scenario import Scenario

# The sweep functions are imported on first use: collectsim.experiments loads pandas and
# Matplotlib (about 100 MiB), which a single run does not need.
_SWEEP = ("compare", "grid", "run_experiments")


def __getattr__(name: str) -> Any:
    if name in _SWEEP:
        from collectsim import experiments

        return getattr(experiments, name)
    raise AttributeError(f"module 'collectsim.api' has no attribute {name!r}")


def load_scenario(overrides: Sequence[str] = ()) -> Scenario:
    """The default scenario from ``conf/`` with Hydra-style ``overrides``
    (e.g. ``["policy=soft_first", "collectors.size=30"]``)."""
    from collectsim.config import load_scenario as _load

    return _load(overrides)


def check_scenario(scenario: Scenario) -> None:
    """Build every plug-in of ``scenario`` (behaviour, response, policy, channels), so
    that a bad plug-in parameter fails now with one line, not in the middle of a sweep."""
    build_plugins(scenario)


def run_replications(
    scenario: Scenario, replications: int | None = None, *, progress: Progress | None = None
) -> list[RunResult]:
    """Run replications ``0 .. R-1`` (``R`` from the scenario unless given)."""
    r = scenario.simulation.replications if replications is None else replications
    return [run(scenario, k, progress=progress) for k in range(r)]


def kpi_table(results: Sequence[RunResult], group: str = "all") -> dict[str, np.ndarray]:
    """KPIs as arrays, one entry per replication: ``table["recovery_rate"][k]``.

    ``group`` selects ``"all"`` (overall) or a segment/arm name.
    """
    rows: list[dict[str, Any]] = []
    for res in results:
        rows += [r for r in res.records() if r["name"] == group]
    if not rows:
        raise KeyError(f"no KPIs for group {group!r}")
    keys = [k for k, v in rows[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return {k: np.array([r[k] for r in rows], dtype=float) for k in keys}


__all__ = ["check_scenario", "kpi_table", "load_scenario", "run", "run_replications", *_SWEEP]
