"""The ``collectsim`` command: one Hydra job = one configuration cell run for R
replications, results written next to the job's ``.hydra/`` folder.

    collectsim                                   # the default scenario, once
    collectsim policy=early_escalation collectors.size=20 replications=5 seed=7
    collectsim -m policy=soft_first,early_escalation replications=10   # a sweep
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from collectsim.cli.results import RESULT_FILES, versions, write_job, write_results
from collectsim.cli.schema import register_schemas
from collectsim.cli.sweep_progress import report_job_done
from collectsim.cli.table import kpi_report
from collectsim.config import config_dir, load_scenario, scenario_from_config
from collectsim.engine import build_plugins, run, stderr_progress
from collectsim.errors import CollectsimError

register_schemas()

#: Overrides that change where or how results are shown, not the results themselves.
NOT_RESULT_KEYS = {"resume", "publish_dir", "show_segments", "baseline", "study", "experiment", "objectives"}


def run_job(cfg: DictConfig) -> dict[str, Any] | tuple[float, ...] | None:
    """Run one cell and write its result files; return its mean KPIs (None on failure),
    or, when ``objectives`` lists KPI names, the tuple of those mean KPIs."""
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    out_dir = Path(hc.runtime.output_dir)
    cell = hc.job.override_dirname or "default"
    job: dict[str, Any] = {
        "cell": cell,
        "job_num": hc.job.num if multirun else 0,
        "overrides": list(hc.overrides.task),
        "seed": cfg.get("seed"),
        "replications": cfg.get("replications"),
        "versions": versions(),
    }
    if cfg.get("resume") and _finished(out_dir, job["overrides"]):
        if multirun:
            report_job_done(
                Path(hc.sweep.dir),
                cell + " (kept from the earlier run)",
                int(cfg.get("replications") or 0),
                0.0,
                ok=True,
            )
        return None
    t0 = time.perf_counter()
    try:
        scenario = scenario_from_config(cfg)
        build_plugins(scenario)
        reps = scenario.simulation.replications
        progress = stderr_progress() if not multirun else None
        results = []
        for k in range(reps):
            results.append(run(scenario, k, progress=progress))
        job["wall_seconds"] = time.perf_counter() - t0
        write_results(out_dir, results, job)
    except Exception as exc:  # noqa: BLE001 - a failed job is recorded, never lost
        job["wall_seconds"] = time.perf_counter() - t0
        user_error = isinstance(exc, CollectsimError)
        job.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        write_job(out_dir, job)
        if not user_error:
            (out_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        print(f"collectsim: error in {cell}: {exc}", file=sys.stderr)
        if not multirun:
            raise SystemExit(2) from None
        report_job_done(Path(hc.sweep.dir), cell, int(cfg.get("replications") or 0), job["wall_seconds"], ok=False)
        return None
    if multirun:
        report_job_done(Path(hc.sweep.dir), cell, reps, job["wall_seconds"], ok=True)
    else:
        print(kpi_report(results, show_segments=bool(cfg.get("show_segments", True))))
        print(f"\nresults written to {out_dir}")
    means = {k: sum(r.kpis[k] for r in results) / len(results) for k in results[0].kpis}
    objectives = cfg.get("objectives")
    if objectives:  # an optimising sweeper (Optuna) reads these mean KPIs, in order
        return tuple(float(means[str(k)]) for k in objectives)
    return means


def _finished(out_dir: Path, overrides: list[str]) -> bool:
    """Whether ``out_dir`` already holds this cell's complete, successful results."""
    try:
        done = json.loads((out_dir / "job.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False

    def key(ovs: list[str]) -> list[str]:
        return sorted(o for o in ovs if o.split("=", 1)[0].lstrip("+~") not in NOT_RESULT_KEYS)

    return (
        done.get("status") == "ok"
        and key(done.get("overrides", [])) == key(overrides)
        and all((out_dir / name).is_file() for name in RESULT_FILES)
    )


@hydra.main(config_path=str(config_dir()), config_name="config", version_base="1.3")
def _app(cfg: DictConfig) -> Any:
    return run_job(cfg)


def _precheck(argv: list[str]) -> None:
    """Compose and validate a single run's config before Hydra starts, so a bad value
    fails with one line naming the key (sweeps are checked job by job)."""
    # Options and hydra.* overrides (search paths, run dirs, launchers) are Hydra's own:
    # leave those runs to Hydra, and validate in the job.
    if any(a.startswith("-") or a.lstrip("+~").startswith("hydra") for a in argv):
        return
    overrides = list(argv)
    try:
        build_plugins(load_scenario(overrides))
    except CollectsimError as exc:
        print(f"collectsim: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def main() -> None:
    """Entry point of the ``collectsim`` console script."""
    _precheck(sys.argv[1:])
    _app()


if __name__ == "__main__":
    main()

__all__ = ["OmegaConf", "main", "run_job"]
