"""collectsim: a discrete-event simulator for comparing debt-collection strategies.

The core takes a typed :class:`~collectsim.scenario.Scenario` and returns
:class:`~collectsim.metrics.RunResult` objects; it imports neither Hydra nor Matplotlib.

>>> from collectsim import load_scenario, run_replications, kpi_table
>>> results = run_replications(load_scenario(["portfolio.n_accounts=2000"]), 3)
>>> kpi_table(results)["recovery_rate"]          # one value per replication
"""

from __future__ import annotations

from typing import Any

from collectsim.errors import CollectsimError, ConfigError

__version__ = "0.1.0"

# The simulation API is imported on first use, so that analysis code (the report)
# can import collectsim.metrics without loading SimPy.
_LAZY = {
    "kpi_table": "collectsim.api",
    "load_scenario": "collectsim.api",
    "run": "collectsim.api",
    "run_replications": "collectsim.api",
    "RunResult": "collectsim.metrics",
    "Scenario": "collectsim.scenario",
    "scenario_from_dict": "collectsim.scenario",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'collectsim' has no attribute {name!r}")


__all__ = ["CollectsimError", "ConfigError", "__version__", *_LAZY]
