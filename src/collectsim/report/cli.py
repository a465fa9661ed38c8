"""The ``collectsim-report`` command: turn a sweep folder into ``report.md``, figures and CSVs.

collectsim-report multirun/2026-11-29/09-40-00-123456
collectsim-report multirun/2026-11-29/09-40-00-123456 --baseline staged --kpis recovery_rate,cure_rate
collectsim-report multirun/staffing/2026-11-29_10-00-00-000000 --baseline collectors.size=20
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from collectsim.errors import ResultsError
from collectsim.report.compare import HEADLINE_KPIS, comparison_table, paired_differences
from collectsim.report.factors import make_factor_plots
from collectsim.report.gather import Gathered, gather
from collectsim.report.html import write_html
from collectsim.report.markdown import write_report, write_tables
from collectsim.report.plots import make_plots

PROG = "collectsim-report"


def _check_kpis(g: Gathered, kpis: Sequence[str] | None) -> list[str]:
    """The KPIs to show: those asked for (all must exist) or the headline ones present."""
    if kpis is None:
        return [k for k in HEADLINE_KPIS if k in g.kpi_names]
    unknown = [k for k in kpis if k not in g.kpi_names]
    if unknown:
        raise ResultsError(f"unknown KPI(s) {', '.join(unknown)} in {g.sweep_dir}; available: {', '.join(g.kpi_names)}")
    return list(kpis)


def build_report(
    sweep_dir: str | Path,
    baseline: str = "soft_first",
    kpis: Sequence[str] | None = None,
    levers: Sequence[str] = (),
    strict_baseline: bool = False,
) -> tuple[Path, Gathered, list[str]]:
    """Gather a sweep and write ``report.md``, ``report.html``, the PNGs and the CSVs into it.

    ``baseline`` is a policy (``soft_first``) or any setting of the sweep as
    ``key=value`` (``collectors.size=20``). ``levers`` are keys ranked as levers besides
    those :mod:`collectsim.keys` calls levers. With ``strict_baseline``, a baseline that
    matches no cell is refused before anything is written.

    Returns
    -------
    report : path of ``report.md``.
    gathered : the gathered sweep (failed jobs in ``gathered.failed``).
    notes : remarks on the comparison (e.g. cells without a baseline).

    Raises
    ------
    ResultsError
        When the folder is missing, not a sweep, has no successful job, or a KPI is unknown.
    """
    g = gather(sweep_dir)
    shown = _check_kpis(g, kpis)
    paired = paired_differences(g, baseline=baseline)
    if (
        strict_baseline
        and paired.table.empty
        and paired.notes[:1]
        and paired.notes[0].startswith(("no cell", "baseline="))
    ):
        cells = "; ".join(g.cells()["label"])
        raise ResultsError(f"--baseline {baseline}: {paired.notes[0]}; the cells of this sweep are: {cells}")
    comparison = comparison_table(g)
    figures = {**make_factor_plots(g, g.sweep_dir), **make_plots(g, g.sweep_dir)}
    write_tables(g, comparison, paired, g.sweep_dir)
    report = write_report(g, comparison, paired, figures, g.sweep_dir, shown, levers)
    write_html(report)
    return report, g, paired.notes


def make_report(
    sweep_dir: str | Path, baseline: str = "soft_first", kpis: Sequence[str] | None = None, levers: Sequence[str] = ()
) -> Path:
    """Write the report of a sweep folder into it and return the path of ``report.md``.

    Parameters
    ----------
    sweep_dir : a Hydra multirun folder.
    baseline : policy the other cells are compared with, or ``key=value`` naming a
        setting of the sweep (``collectors.size=20``).
    kpis : KPIs shown in the report's tables (default: the headline KPIs).
    levers : keys to rank as levers besides policy, team, rules and channel spend (a
        swept assumption the lender controls).

    Raises
    ------
    ResultsError
        When the folder is missing, not a sweep, or has no successful job.
    """
    return build_report(sweep_dir, baseline, kpis, levers)[0]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Write report.md, figures and CSV tables for a collectsim "
        "sweep (a Hydra multirun folder) into that folder.",
    )
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", help="the sweep folder, e.g. multirun/2026-11-29/09-40-00-123456")
    p.add_argument(
        "--baseline",
        default=None,
        metavar="POLICY|KEY=VALUE",
        help="the cells every other cell is compared with: a policy, or any swept setting as "
        "KEY=VALUE, e.g. collectors.size=20 (default: soft_first)",
    )
    p.add_argument(
        "--kpis",
        default=None,
        metavar="K1,K2",
        help="comma-separated KPIs for the report's tables (default: the headline KPIs)",
    )
    p.add_argument(
        "--levers",
        default=None,
        metavar="K1,K2",
        help="swept keys to rank as levers (choices) besides policy, team, rules and channel spend; "
        "the report ranks levers only, for each value of the swept assumptions",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``collectsim-report`` console script; returns 0 or exits with status 2."""
    args = _parser().parse_args(argv)
    kpis = [k.strip() for k in args.kpis.split(",") if k.strip()] if args.kpis is not None else None
    try:
        levers = [k.strip() for k in args.levers.split(",") if k.strip()] if args.levers else []
        report, g, notes = build_report(
            args.sweep_dir,
            baseline=args.baseline or "soft_first",
            kpis=kpis,
            levers=levers,
            strict_baseline=args.baseline is not None,
        )
    except ResultsError as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"report written to {report}")
    for note in notes:
        print(f"note: {note}")
    if g.failed:
        print(f"{len(g.failed)} failed job(s), left out of the report:")
        for f in g.failed:
            print(f"  {f.folder} ({f.cell}): {f.error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["build_report", "main", "make_report"]
