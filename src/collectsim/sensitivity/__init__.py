"""Which behaviour assumptions decide whether early escalation beats soft-first?

A global sensitivity study of the paired difference ``early_escalation - soft_first``
(same seeds, so the difference is measured replication by replication) over uncertain
behaviour parameters, with SALib:

1. Morris screening (elementary effects, ``r`` trajectories) of every factor;
2. Sobol indices (first order and total, Saltelli sampling) of the factors the
   screening keeps, the others fixed at their defaults, where affordable;
3. where in the factor space the sign of the difference flips, against the two
   strongest drivers.

    python -m collectsim.sensitivity --mode tiny                  # seconds, for tests
    python -m collectsim.sensitivity --mode study --publish-dir experiments/sensitivity
    python -m collectsim.sensitivity --mode full --n-jobs 8       # tens of CPU-hours; see experiments/sensitivity/

Outputs, in ``--out`` (default ``multirun/sensitivity/<date_time>``): ``samples.csv``
(every evaluated point: factors, per-policy means and differences), ``indices.csv``,
``indices.png`` (indices with 95% confidence intervals), ``flips.csv`` and
``flips.png`` (share of points where early escalation wins, by the top two drivers)
and ``report.md``.

The simulation runs through the Python API; SALib is needed (``pip install
'collectsim[sensitivity]'``).
"""

from collectsim.sensitivity.analysis import flip_table
from collectsim.sensitivity.cli import main
from collectsim.sensitivity.design import CONFIDENCE as CONFIDENCE
from collectsim.sensitivity.design import DEFAULT_FACTORS, MODES, OUTPUTS, Factor, Settings, settings_for
from collectsim.sensitivity.output import PUBLISHED as PUBLISHED
from collectsim.sensitivity.output import load_study, write_outputs
from collectsim.sensitivity.output import plot_flips as plot_flips
from collectsim.sensitivity.output import plot_indices as plot_indices
from collectsim.sensitivity.output import publish as publish
from collectsim.sensitivity.study import Study, evaluate, run_study
from collectsim.sensitivity.study import base_scenarios as base_scenarios
from collectsim.sensitivity.study import evaluate_all as evaluate_all

__all__ = [
    "DEFAULT_FACTORS",
    "MODES",
    "OUTPUTS",
    "Factor",
    "Settings",
    "Study",
    "evaluate",
    "flip_table",
    "load_study",
    "main",
    "run_study",
    "settings_for",
    "write_outputs",
]
