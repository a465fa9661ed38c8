"""A sweep folder belongs to one sweep: it is locked while the sweep runs, refused
when it already holds results (unless the same sweep resumes), and stamped with the
sweep's id, which every job copies into its ``job.json``.

``<sweep dir>/.sweep.json`` holds the id, the command line, the start time and the
number of jobs; ``<sweep dir>/.sweep.lock`` is the lock (``filelock``, released when
the sweep ends or its process dies).
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from collectsim.cli.results import RESULT_FILES
from collectsim.errors import CollectsimError

STATE_FILE = ".sweep.json"
LOCK_FILE = ".sweep.lock"
DONE_DIR = ".done"
#: Entries of a sweep folder that are the sweep's own bookkeeping, not results.
BOOKKEEPING = {STATE_FILE, LOCK_FILE, DONE_DIR}
#: Overrides that may differ when a sweep resumes (they change how results are shown,
#: not the results).
SHOWN_ONLY = {"resume", "show_segments", "baseline", "lever_keys", "publish", "publish_dir", "memory_check"}
#: Overrides that change where or how results are shown, not the results themselves.
NOT_RESULT_KEYS = SHOWN_ONLY | {"study", "experiment", "objectives"}

#: The sweep this process is running (for the message on Ctrl-C).
ACTIVE: dict[str, Any] = {}
#: Locks held by this process, by sweep folder. Kept outside the callback object, which
#: a launcher pickles to send to its workers (a lock cannot be pickled).
_LOCKS: dict[str, FileLock] = {}


def swept_values(params: Any, overrides: list[str]) -> dict[str, list[str]]:
    """The values of every swept key, as the basic sweeper reads them: the study's lists
    (``hydra.sweeper.params``) first, then the command line, whose value for a key
    (swept or not) replaces the study's list. A study's single value is kept (one
    value); a command line's single value is not a sweep and is left out."""
    from_study = [f"{k}={v}" for k, v in (params or {}).items()]
    values: dict[str, list[str]] = {}
    parsed = OverridesParser.create().parse_overrides([*from_study, *overrides])
    for i, ov in enumerate(parsed):
        if ov.is_sweep_override():
            values[ov.key_or_group] = list(ov.sweep_string_iterator())
        else:
            values[ov.key_or_group] = [str(ov.value())] if i < len(from_study) else []
    return {k: v for k, v in values.items() if v}


def count_jobs(config: DictConfig) -> int:
    """Number of jobs the basic sweeper will launch (product of the sweep lists)."""
    params = OmegaConf.select(config, "hydra.sweeper.params")
    return math.prod(len(v) for v in swept_values(params, list(config.hydra.overrides.task)).values())


def read_state(sweep_dir: Path) -> dict[str, Any]:
    """The sweep's ``.sweep.json`` ({} when absent or unreadable)."""
    try:
        data = json.loads((sweep_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def sweep_id(sweep_dir: Path) -> str | None:
    """The id of the sweep that owns ``sweep_dir``, or None."""
    value = read_state(sweep_dir).get("id")
    return str(value) if value else None


def without(overrides: list[str], keys: set[str]) -> list[str]:
    """``overrides`` (``key=value`` texts) except those setting one of ``keys``, in order."""
    return [o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in keys]


def definition(overrides: list[str]) -> list[str]:
    """The overrides that define a sweep's results, in a canonical order."""
    return sorted(without(overrides, SHOWN_ONLY))


def resume_command(argv: list[str], sweep_dir: str) -> str:
    """The command line that resumes the sweep started with ``argv`` in ``sweep_dir``."""
    keep = [a for a in argv if not a.startswith(("resume=", "hydra.sweep.dir="))]
    if not any(a in ("-m", "--multirun") for a in keep):
        keep.insert(0, "-m")
    return shlex.join(["collectsim", *keep, "resume=true", f"hydra.sweep.dir={sweep_dir}"])


class SweepRefused(SystemExit):
    """The sweep folder cannot be used (the message has been printed)."""


class FolderRefused(CollectsimError):
    """The sweep folder is in use, holds another sweep's results, or holds results and
    the sweep was not asked to resume."""


#: How the command line and the Python API spell the resume switch and the folder.
CLI_WORDS = {"resume": "resume=true", "folder": "hydra.sweep.dir"}
API_WORDS = {"resume": "resume=True", "folder": "out_dir"}


def claim(
    sweep_dir: Path,
    overrides: list[str],
    *,
    resume: bool,
    argv: list[str],
    jobs: int,
    words: dict[str, str] = CLI_WORDS,
) -> str:
    """Claim ``sweep_dir`` for the sweep defined by ``overrides``: lock it, refuse it
    when it holds results (unless ``resume`` and the same sweep), stamp ``.sweep.json``
    and return the sweep's id (the folder's own when resuming). The one guard of the
    command line and of :func:`collectsim.experiments.run_experiments`.

    Raises
    ------
    FolderRefused
        With one line naming the folder and what to do; the folder is left as it was.
    """
    sweep_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(sweep_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise FolderRefused(
            f"{sweep_dir} is in use by another sweep; wait for it to end or choose another {words['folder']}"
        ) from None
    _LOCKS[str(sweep_dir)] = lock
    try:
        state = read_state(sweep_dir)
        held = sorted(p.name for p in sweep_dir.iterdir() if p.name not in BOOKKEEPING)
        if held and not resume:
            raise FolderRefused(
                f"{sweep_dir} already holds results ({len(held)} entries); choose an empty {words['folder']}, "
                f"or add {words['resume']} to finish the sweep that is there"
            )
        if held and not state.get("id"):
            raise FolderRefused(
                f"{sweep_dir} holds results without a sweep id (an older collectsim); start a new sweep"
            )
        if held and definition(state.get("overrides", [])) != definition(overrides):
            was = " ".join(definition(state.get("overrides", []))) or "(no overrides)"
            raise FolderRefused(
                f"{words['resume']} needs the same sweep as the one in {sweep_dir}: it was run with {was}"
            )
    except FolderRefused:
        release(sweep_dir)
        raise
    new = {
        "id": state.get("id") if held else uuid.uuid4().hex,
        "overrides": overrides,
        "argv": state.get("argv", argv) if held else argv,
        "start": time.time(),
        "jobs": jobs,
    }
    (sweep_dir / STATE_FILE).write_text(json.dumps(new, indent=2), encoding="utf-8")
    shutil.rmtree(sweep_dir / DONE_DIR, ignore_errors=True)
    (sweep_dir / DONE_DIR).mkdir()
    return str(new["id"])


def release(sweep_dir: Path) -> None:
    """Release this process's lock on ``sweep_dir`` (if it holds one)."""
    lock = _LOCKS.pop(str(sweep_dir), None)
    if lock is not None and lock.is_locked:
        lock.release()


def finished(out_dir: Path, overrides: list[str], sweep: str | None) -> bool:
    """Whether the job folder ``out_dir`` already holds this cell's complete, successful
    results from the sweep ``sweep`` (the check behind resuming)."""
    try:
        done = json.loads((out_dir / "job.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False

    def key(ovs: list[str]) -> list[str]:
        return sorted(without(ovs, NOT_RESULT_KEYS))

    return (
        done.get("status") == "ok"
        and done.get("sweep_id") == sweep
        and key(done.get("overrides", [])) == key(overrides)
        and all((out_dir / name).is_file() for name in RESULT_FILES)
    )


class SweepFolder(Callback):
    """Hydra callback: claim the sweep folder at the start, release it at the end.

    List it first among the callbacks: Hydra calls the ``on_multirun_end`` hooks in
    reverse order, so the folder stays locked until the report is written.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            total = count_jobs(config)
        except Exception:  # noqa: BLE001 - progress is a convenience, never a failure
            total = 0
        argv = sys.argv[1:]
        overrides = [str(o) for o in config.hydra.overrides.task]
        try:
            claim(sweep_dir, overrides, resume=bool(config.get("resume")), argv=argv, jobs=total)
        except FolderRefused as exc:
            print(f"collectsim: error: {exc}", file=sys.stderr, flush=True)
            raise SweepRefused(2) from None
        ACTIVE.update(sweep_dir=str(sweep_dir), argv=argv, jobs=total)
        print(f"sweep of {total or '?'} job(s) into {sweep_dir}", file=sys.stderr, flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        release(Path(str(config.hydra.sweep.dir)))
        ACTIVE.clear()


def interrupted_message() -> str:
    """What to print when the user stops the command with Ctrl-C."""
    if not ACTIVE:
        return "collectsim: interrupted"
    sweep_dir = Path(ACTIVE["sweep_dir"])
    done = len(list((sweep_dir / DONE_DIR).glob("*"))) if (sweep_dir / DONE_DIR).is_dir() else 0
    total = ACTIVE.get("jobs") or "?"
    return (
        f"collectsim: interrupted; {done} of {total} job(s) finished in {sweep_dir}.\n"
        f"Resume (runs only the missing or failed jobs):\n  {resume_command(ACTIVE['argv'], str(sweep_dir))}"
    )
