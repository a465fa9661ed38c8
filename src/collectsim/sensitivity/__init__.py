"""Which assumptions decide whether soft-first or an escalating policy collects more?

A global sensitivity study of the paired differences ``soft_first − challenger`` for every
built-in challenger (staged, score_prioritized, early_escalation, pressure; same seeds, so
each difference is measured replication by replication) over the uncertain behaviour,
escalation, lawsuit and agency parameters, each over its documented range, with SALib:

1. Morris screening (elementary effects, ``r`` trajectories) of every factor, per challenger;
2. Sobol indices (first order and total, Saltelli sampling) of the factors the screening
   keeps, the others fixed at their defaults, where affordable (``--sobol-n``);
3. per challenger: the points where it beats the baseline (and by more than two standard
   errors), the signs of the difference each factor's range allows, and where the sign
   flips against its two strongest drivers.

    python -m collectsim.sensitivity --mode tiny                  # about a minute, for tests
    python -m collectsim.sensitivity --mode study --publish-dir experiments/sensitivity
    python -m collectsim.sensitivity --mode full --n-jobs 16      # tens of CPU-hours; see experiments/sensitivity/

Outputs, in ``--out`` (default ``multirun/sensitivity/<date_time>``): ``samples.csv``
(every evaluated point: factors, per-policy means, differences and standard errors),
``indices.csv``, ``wins.csv``, ``signs.csv``, ``flips.csv``, ``indices.png`` (Morris
indices per challenger with 95% confidence intervals), ``flips.png`` (which policy wins,
on each challenger's top two drivers) and ``report.md``.

The simulation runs through the Python API; SALib is needed (``pip install
'collectsim[sensitivity]'``).
"""

from collectsim.sensitivity.analysis import flip_table, sign_table, wins_table
from collectsim.sensitivity.cli import main
from collectsim.sensitivity.design import CHALLENGERS, DEFAULT_FACTORS, MODES, OUTPUTS, Factor, Settings, settings_for
from collectsim.sensitivity.design import CONFIDENCE as CONFIDENCE
from collectsim.sensitivity.output import PUBLISHED as PUBLISHED
from collectsim.sensitivity.output import load_study, write_outputs
from collectsim.sensitivity.output import plot_flips as plot_flips
from collectsim.sensitivity.output import plot_indices as plot_indices
from collectsim.sensitivity.output import publish as publish
from collectsim.sensitivity.study import Study, evaluate, run_study
from collectsim.sensitivity.study import base_scenarios as base_scenarios
from collectsim.sensitivity.study import evaluate_all as evaluate_all

__all__ = [
    "CHALLENGERS",
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
    "sign_table",
    "wins_table",
    "write_outputs",
]
