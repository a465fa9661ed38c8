"""collectsim: a discrete-event simulator for comparing debt-collection strategies.

The core takes a typed :class:`~collectsim.scenario.Scenario` and returns
:class:`~collectsim.metrics.RunResult` objects; it imports neither Hydra nor Matplotlib.

>>> from collectsim import load_scenario, run_replications
>>> results = run_replications(load_scenario(["portfolio.n_accounts=2000"]))
"""

from collectsim.api import kpi_table, load_scenario, run, run_replications
from collectsim.errors import CollectsimError, ConfigError
from collectsim.metrics import RunResult
from collectsim.scenario import Scenario, scenario_from_dict

__version__ = "0.1.0"

__all__ = [
    "CollectsimError",
    "ConfigError",
    "RunResult",
    "Scenario",
    "kpi_table",
    "load_scenario",
    "run",
    "run_replications",
    "scenario_from_dict",
]
