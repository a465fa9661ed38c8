"""The ``collectsim`` command: one Hydra job = one configuration cell run for R
replications, results written next to the job's ``.hydra/`` folder.

    collectsim                                   # the default scenario, once
    collectsim policy=early_escalation collectors.size=20 replications=5 seed=7
    collectsim -m policy=soft_first,early_escalation replications=10   # a sweep
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from collectsim.cli.precheck import fail, precheck
from collectsim.cli.results import versions, write_job, write_results
from collectsim.cli.sweep_folder import finished, interrupted_message, sweep_id
from collectsim.cli.sweep_progress import report_job_done, stderr_progress
from collectsim.cli.table import kpi_report
from collectsim.config import config_dir, scenario_from_config
from collectsim.engine import build_plugins, run
from collectsim.errors import CollectsimError
from collectsim.schemas import register_schemas

register_schemas()


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
    if multirun:
        job["sweep_id"] = sweep_id(Path(hc.sweep.dir))
    if cfg.get("resume") and finished(out_dir, job["overrides"], job.get("sweep_id")):
        if multirun:
            report_job_done(
                Path(hc.sweep.dir),
                job["job_num"],
                cell + " (kept from the earlier run)",
                int(cfg.get("replications") or 0),
                0.0,
                ok=True,
            )
        return None
    t0 = time.perf_counter()
    checked = False
    try:
        scenario = scenario_from_config(cfg)
        build_plugins(scenario)
        checked = True
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
        if user_error and not checked and not multirun:
            # Refused by the config check before anything ran: leave no folder behind.
            _remove_run_folder(out_dir)
            print(f"collectsim: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        job.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        write_job(out_dir, job)
        if not user_error:
            (out_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        print(f"collectsim: error in {cell}: {exc}", file=sys.stderr)
        if not multirun:
            raise SystemExit(2) from None
        report_job_done(
            Path(hc.sweep.dir), job["job_num"], cell, int(cfg.get("replications") or 0), job["wall_seconds"], ok=False
        )
        return None
    if multirun:
        report_job_done(Path(hc.sweep.dir), job["job_num"], cell, reps, job["wall_seconds"], ok=True)
    else:
        print(kpi_report(results, show_segments=bool(cfg.get("show_segments", True))))
        print(f"\nresults written to {out_dir}")
    means = {k: sum(r.kpis[k] for r in results) / len(results) for k in results[0].kpis}
    objectives = cfg.get("objectives")
    if objectives:  # an optimising sweeper (Optuna) reads these mean KPIs, in order
        return tuple(float(means[str(k)]) for k in objectives)
    return means


def _remove_run_folder(out_dir: Path) -> None:
    """Remove a single run's folder holding nothing but what Hydra wrote when it started
    (``.hydra/`` and its log), and the date folder above it when that is left empty."""
    own = {".hydra", f"{HydraConfig.get().job.name}.log"}
    if not out_dir.is_dir() or any(p.name not in own for p in out_dir.iterdir()):
        return
    logging.shutdown()
    shutil.rmtree(out_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        out_dir.parent.rmdir()  # only when empty
        out_dir.parent.parent.rmdir()


@hydra.main(config_path=str(config_dir()), config_name="config", version_base="1.3")
def _app(cfg: DictConfig) -> Any:
    return run_job(cfg)


def main() -> None:
    """Entry point of the ``collectsim`` console script."""
    argv = sys.argv[1:]
    signal.signal(signal.SIGINT, _on_interrupt)
    _workers_start_deaf_to_ctrl_c()
    try:
        try:
            precheck(argv)
        except CollectsimError as exc:
            fail(exc)
        warm_kernels()
        _app()
    except KeyboardInterrupt:
        # Raised by _on_interrupt inside joblib, which has stopped its workers: exit
        # normally so that joblib's clean-up runs.
        print(interrupted_message(), file=sys.stderr, flush=True)
        raise SystemExit(130) from None


def warm_kernels() -> None:
    """Compile the agents' kernels (or load them from Numba's cache) in this process,
    before a sweep's workers start, so that they do not all compile at once; the
    workers run one Numba thread each."""
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    from collectsim.compiled_team import warm

    warm()


def _on_interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C. While joblib waits for its workers, raise KeyboardInterrupt: joblib stops
    them cleanly and :func:`main` prints the message. Anywhere else a KeyboardInterrupt
    could land inside Hydra's or OmegaConf's code and turn into a traceback, so stop
    here. Finished jobs keep their results (written atomically); the lock on the sweep
    folder is released by the operating system when the process ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    f = frame
    while f is not None:
        if _joblib_code(f.f_code):
            threading.excepthook = _quiet_pool_threads
            raise KeyboardInterrupt
        f = f.f_back
    _stop_workers()
    try:
        sys.stdout.flush()
        print(interrupted_message(), file=sys.stderr, flush=True)
    finally:
        os._exit(130)


def _joblib_code(code: Any) -> bool:
    """Whether ``code`` (a frame's code object) belongs to joblib (or its loky)."""
    return f"{os.sep}joblib{os.sep}" in code.co_filename


def _quiet_pool_threads(args: threading.ExceptHookArgs) -> None:
    """Once Ctrl-C has stopped a sweep, an exception in one of joblib's (loky's)
    management threads is a side effect of tearing the pool down while it was handing
    out jobs (loky can look up a job that the shutdown has just cancelled): say nothing.
    Any other thread's exception is reported as usual."""
    tb = args.exc_traceback
    while tb is not None:
        if _joblib_code(tb.tb_frame.f_code):
            return
        tb = tb.tb_next
    threading.__excepthook__(args)


def _workers_start_deaf_to_ctrl_c() -> None:
    """Start joblib's workers with SIGINT blocked, so that Ctrl-C (sent by the terminal
    to every process of its group) never reaches a worker, even while it is still
    importing, before any handler of its own could be installed; the parent, which
    still receives it, stops them (:func:`_on_interrupt`).

    A signal mask is inherited through fork and exec. It is set only around loky's
    fork-and-exec of a worker, in the spawning thread: a Ctrl-C pressed meanwhile stays
    pending and reaches the parent when the mask is restored. (Around the whole pool
    start-up would not do: loky's resource tracker unblocks SIGINT on its way.)
    """
    try:
        from joblib.externals.loky.backend import fork_exec as module
    except ImportError:  # pragma: no cover - joblib comes with the launcher
        return
    launch = module.fork_exec
    if getattr(launch, "deaf_to_ctrl_c", False):
        return

    def masked(*args: Any, **kwargs: Any) -> Any:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return launch(*args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    masked.deaf_to_ctrl_c = True  # type: ignore[attr-defined]
    module.fork_exec = masked


def _stop_workers() -> None:
    """Shut down joblib's idle worker pool, if this process started one."""
    module = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(module, "_executor", None)
    if executor is not None:
        with contextlib.suppress(Exception):  # best effort before exiting
            executor.shutdown(wait=True, kill_workers=True)


if __name__ == "__main__":
    main()

__all__ = ["OmegaConf", "main", "run_job"]
