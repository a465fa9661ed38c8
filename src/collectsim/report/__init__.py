"""Sweep reports: gather a Hydra multirun folder, compare its cells, write report.md
(opening with a plain-language summary) and the same report as one self-contained
report.html.

>>> from collectsim.report import make_report
>>> make_report("multirun/2026-11-29/09-40-00-123456")   # doctest: +SKIP
>>> make_report("multirun/staffing/2026-11-29_10-00-00-000000", baseline="collectors.size=20")  # doctest: +SKIP

The command-line form is ``collectsim-report SWEEP_DIR [--baseline POLICY|KEY=VALUE]``;
the Hydra callback :class:`collectsim.report.callback.ReportCallback` runs it after a sweep.
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
