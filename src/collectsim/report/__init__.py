"""Sweep reports: gather a Hydra multirun folder, compare its cells, write report.md.

>>> from collectsim.report import make_report
>>> make_report("multirun/2026-11-29/09-40-00-123456")   # doctest: +SKIP

The command-line form is ``collectsim-report SWEEP_DIR [--baseline POLICY]``; the
Hydra callback :class:`collectsim.report.callback.ReportCallback` runs it after a sweep.
"""

from collectsim.report.cli import build_report, make_report
from collectsim.report.compare import HEADLINE_KPIS, Paired, comparison_table, paired_differences
from collectsim.report.gather import FailedJob, Gathered, gather

__all__ = [
    "HEADLINE_KPIS",
    "FailedJob",
    "Gathered",
    "Paired",
    "build_report",
    "comparison_table",
    "gather",
    "make_report",
    "paired_differences",
]
