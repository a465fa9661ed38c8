"""Progress of a sweep: a line per finished job with its cell, replications, wall time
and an estimate of the time left.

:class:`collectsim.cli.sweep_folder.SweepFolder` records the sweep's start time and
number of jobs in ``<sweep dir>/.sweep.json`` when the multirun starts (in the
launching process); each job, when it finishes (in whatever worker runs it), leaves a
marker named after its job number in ``<sweep dir>/.done/`` and counts the markers.
Only this run's jobs count: the markers are cleared when a sweep starts or resumes,
and a job's marker is the same file however often it is rerun.
"""

from __future__ import annotations

import math
import sys
import time
import time as _time
from pathlib import Path

from collectsim.cli.sweep_folder import DONE_DIR, read_state
from collectsim.engine import Progress


def report_job_done(sweep_dir: Path, job_num: int, cell: str, replications: int, wall_seconds: float, ok: bool) -> None:
    """Print ``[done/total] cell: R replications, wall time, ETA`` for a finished job."""
    state = read_state(sweep_dir)
    done_dir = sweep_dir / DONE_DIR
    try:
        done_dir.mkdir(exist_ok=True)
        (done_dir / str(job_num)).touch()
    except OSError:
        pass
    done = len(list(done_dir.glob("*")))
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


def stderr_progress(every_seconds: float = 2.0) -> Progress:
    """A progress callback printing the simulated day and open accounts to stderr."""
    last = [_time.perf_counter()]
    printed = [False]

    def report(day: int, last_day: int, open_accounts: int) -> None:
        now = _time.perf_counter()
        if now - last[0] >= every_seconds or (day + 1 == last_day and printed[0]):
            last[0] = now
            printed[0] = True
            print(f"  day {day + 1}/{last_day}  open accounts {open_accounts:,}", file=sys.stderr, flush=True)

    return report
