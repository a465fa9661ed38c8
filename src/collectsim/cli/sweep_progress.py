"""Progress of a sweep: a line per finished job with its cell, replications, wall time
and an estimate of the time left.

The callback records the sweep's start time and number of jobs in
``<sweep dir>/.sweep.json`` when the multirun starts (in the launching process); each
job, when it finishes (in whatever worker runs it), counts the finished jobs in the
sweep folder and prints its line.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

STATE_FILE = ".sweep.json"


def count_jobs(config: DictConfig) -> int:
    """Number of jobs the basic sweeper will launch (product of the sweep lists)."""
    overrides = list(config.hydra.overrides.task)
    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    overrides += [f"{k}={v}" for k, v in params.items()]
    parser = OverridesParser.create()
    total = 1
    seen: dict[str, int] = {}
    for ov in parser.parse_overrides(overrides):
        n = len(list(ov.sweep_string_iterator())) if ov.is_sweep_override() else 1
        seen[ov.key_or_group] = n  # a command-line value replaces the config's list
    for n in seen.values():
        total *= n
    return total


class SweepProgress(Callback):
    """Hydra callback: record the sweep's size at start; print a line per finished job."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        try:
            total = count_jobs(config)
        except Exception:  # noqa: BLE001 - progress is a convenience, never a failure
            total = 0
        (sweep_dir / STATE_FILE).write_text(json.dumps({"start": time.time(), "jobs": total}), encoding="utf-8")
        print(f"sweep of {total or '?'} job(s) into {sweep_dir}", file=sys.stderr, flush=True)


def report_job_done(sweep_dir: Path, cell: str, replications: int, wall_seconds: float, ok: bool) -> None:
    """Print ``[done/total] cell: R replications, wall time, ETA`` for a finished job."""
    state_file = sweep_dir / STATE_FILE
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {"start": None, "jobs": 0}
    done = len(list(sweep_dir.glob("*/job.json")))
    total = int(state.get("jobs") or 0)
    eta = ""
    if state.get("start") and total and done:
        elapsed = time.time() - float(state["start"])
        left = max(total - done, 0) * elapsed / done
        eta = f", ETA {math.ceil(left)} s"
    status = "" if ok else " FAILED"
    print(
        f"[{done}/{total or '?'}] {cell}: {replications} replication(s) in {wall_seconds:.1f} s{eta}{status}",
        file=sys.stderr,
        flush=True,
    )
