"""Tuning: an optimising sweep of policy levers and its Pareto set against the built-in policies.

``collectsim experiment=tune_staged`` runs the staged policy's levers under the Optuna
sweeper in multi-objective mode (``conf/experiment/tune_staged.yaml``). Every trial is
an ordinary job folder (``kpis.csv``, ``series.csv``, ``summary.json``, ``job.json``),
run for R replications on the same seeds as every other trial. After the sweep,
:class:`TuningReportCallback` (or ``python -m collectsim.tuning SWEEP_DIR``):

1. runs the built-in policies on the same portfolio and seeds (their result files go
   to ``<sweep>/builtins/<policy>/`` and are reused when the report is rebuilt);
2. finds the trials that no other trial beats on every objective (the non-dominated
   settings), using the directions of :data:`collectsim.metrics.DIRECTIONS`;
3. for each built-in, picks the trial with the best first objective among those at
   least as good on the second (e.g. the most net recovery at equal or lower
   stress_peak_p95) and gives the paired difference, replication by replication;
4. reruns the headline pairs on fresh seeds, since the trials were picked on the seeds
   they are compared on (``<sweep>/confirm/``): the best built-in on the first objective
   against its best tuned setting, or, when no trial matches it on the second
   objective, against the best trial on the first, and the best built-in that a trial
   does match against that trial;
5. writes ``report.md``, ``pareto.png``, ``comparison.csv`` (every trial and built-in,
   with its levers, objective means and 95% confidence half-widths, and whether it is
   non-dominated) and ``paired.csv`` (the comparisons of step 3 and 4).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from collectsim.errors import CollectsimError, ConfigError
from collectsim.keys import LEVER, role
from collectsim.tuning.analysis import (
    DEFAULT_BUILTINS,
    DEFAULT_UNCERTAINTIES,
    TuningResult,
    analyse,
    check_directions,
    objective_signs,
    pareto_mask,
)
from collectsim.tuning.analysis import EXTRA_KPIS as EXTRA_KPIS
from collectsim.tuning.output import plot_pareto as plot_pareto
from collectsim.tuning.output import write_tuning_report
from collectsim.tuning.sweep import SweepSetup as SweepSetup
from collectsim.tuning.sweep import run_reference as run_reference
from collectsim.tuning.sweep import sweep_setup as sweep_setup


def build_tuning_report(
    sweep_dir: str | Path,
    objectives: Sequence[str] | None = None,
    builtins: Sequence[str] = DEFAULT_BUILTINS,
    confirm_seed_offset: int | None = 1000,
    n_jobs: int = 2,
    uncertainties: Mapping[str, Sequence[str]] | None = None,
) -> tuple[Path, TuningResult]:
    """Analyse a tuning sweep and write its report into it; return the report's path and the result."""
    res = analyse(sweep_dir, objectives, builtins, confirm_seed_offset, n_jobs, uncertainties)
    return write_tuning_report(res, Path(sweep_dir)), res


# --------------------------------------------------------------------------- Hydra callback


try:
    from hydra.experimental.callback import Callback as _Callback
except ImportError:  # pragma: no cover - hydra is a dependency
    _Callback = object  # type: ignore[assignment,misc]


class TuningReportCallback(_Callback):  # type: ignore[misc,valid-type]
    """Hydra callback for tuning sweeps: checks the objectives when the sweep starts
    and writes the tuning report (see the module docstring) when it ends.

    Registered by ``conf/experiment/tune_staged.yaml`` in place of the sweep report
    (``hydra.callbacks.report``), so the report is written before it is published.
    Never raises at the end: a failing report prints one line and leaves the results.
    """

    def __init__(
        self,
        baseline: str = "soft_first",
        enabled: bool = True,
        objectives: Sequence[str] | None = None,
        builtins: Sequence[str] = DEFAULT_BUILTINS,
        confirm_seed_offset: int | None = 1000,
        n_jobs: int = 2,
        levers: Sequence[str] | None = None,
        uncertainties: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.baseline = baseline
        self.levers = [str(k) for k in levers or []]
        self.uncertainties = (
            {str(k): [str(v) for v in vs] for k, vs in uncertainties.items()}
            if uncertainties is not None
            else DEFAULT_UNCERTAINTIES
        )
        self.enabled = enabled
        self.objectives = [str(k) for k in objectives] if objectives else None
        self.builtins = [str(b) for b in builtins]
        self.confirm_seed_offset = confirm_seed_offset
        self.n_jobs = int(n_jobs)

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        """Exit (status 2) before the first trial when the objectives are not KPIs with a
        direction or disagree with the sweeper's ``direction`` list."""
        from omegaconf import OmegaConf

        params = OmegaConf.select(config, "hydra.sweeper.params") or {}
        assumptions = [k for k in _flat_keys(params) if role(k, self.levers) != LEVER]
        if assumptions:
            # An optimiser would pick the assumption that flatters the objectives.
            print(
                f"collectsim: error: tuning searches levers only; {', '.join(assumptions)} "
                f"{'is an assumption' if len(assumptions) == 1 else 'are assumptions'} (collectsim.keys), "
                "not a choice: fix it, or add it to lever_keys=[...] if the lender does choose it",
                file=sys.stderr,
                flush=True,
            )
            raise SystemExit(2)
        if not self.objectives:
            return

        direction = OmegaConf.select(config, "hydra.sweeper.direction")
        if direction is not None and not isinstance(direction, str):
            direction = list(OmegaConf.to_container(direction) if OmegaConf.is_config(direction) else direction)  # type: ignore[arg-type]
        try:
            if direction is None:
                objective_signs(self.objectives)
            else:
                check_directions(self.objectives, direction)
        except ConfigError as exc:
            # Hydra turns exceptions in callbacks into warnings; exiting stops the sweep.
            print(f"collectsim: error: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        """Write the tuning report into ``hydra.sweep.dir`` and print where it is."""
        if not self.enabled:
            return
        sweep_dir = "?"
        try:
            sweep_dir = str(config.hydra.sweep.dir)
            report, res = build_tuning_report(
                sweep_dir, self.objectives, self.builtins, self.confirm_seed_offset, self.n_jobs, self.uncertainties
            )
            failed = f" ({len(res.failed)} failed trial(s) listed in it)" if res.failed else ""
            print(f"collectsim-report: tuning report written to {report}{failed}", flush=True)
        except Exception as exc:  # noqa: BLE001 - the sweep's results must never be lost to the report
            msg = str(exc) if isinstance(exc, CollectsimError) else f"{type(exc).__name__}: {exc}"
            print(
                f"collectsim-report: error: no tuning report for {sweep_dir}: {' '.join(msg.split())}",
                file=sys.stderr,
                flush=True,
            )


def _flat_keys(node: Any, prefix: str = "") -> list[str]:
    """The dotted keys of a sweeper's ``params`` (``stress.x`` given on the command line
    arrives nested)."""
    from omegaconf import OmegaConf

    out = []
    for k, v in node.items():
        key = f"{prefix}{k}"
        out += _flat_keys(v, key + ".") if OmegaConf.is_dict(v) or isinstance(v, dict) else [key]
    return out


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m collectsim.tuning SWEEP_DIR``: (re)write a tuning sweep's report."""
    p = argparse.ArgumentParser(
        prog="python -m collectsim.tuning",
        description="Write the tuning report (Pareto set against the built-in policies) "
        "of an optimising collectsim sweep into its folder.",
    )
    p.add_argument("sweep_dir", metavar="SWEEP_DIR")
    p.add_argument("--objectives", default=None, help="comma-separated KPIs (default: the sweep's `objectives`)")
    p.add_argument("--builtins", default=",".join(DEFAULT_BUILTINS), help="comma-separated built-in policies")
    p.add_argument(
        "--confirm-seed-offset",
        default="1000",
        help="rerun the headline pair with seed + this offset; 'none' to skip (default 1000)",
    )
    p.add_argument("--n-jobs", type=int, default=2, help="processes for the built-in runs (default 2)")
    a = p.parse_args(argv)
    objs = [k.strip() for k in a.objectives.split(",") if k.strip()] if a.objectives else None
    offset = None if a.confirm_seed_offset.lower() in ("none", "null", "") else int(a.confirm_seed_offset)
    try:
        report, res = build_tuning_report(
            a.sweep_dir, objs, [b.strip() for b in a.builtins.split(",") if b.strip()], offset, a.n_jobs
        )
    except CollectsimError as exc:
        print(f"{p.prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(f"report written to {report}")
    return 0


__all__ = [
    "DEFAULT_BUILTINS",
    "TuningReportCallback",
    "TuningResult",
    "analyse",
    "build_tuning_report",
    "check_directions",
    "objective_signs",
    "pareto_mask",
    "write_tuning_report",
]
