"""Sweeps through real cluster engines started on this machine: a Ray head (`ray start
--head`) and a single-node Slurm (`scripts/cluster/slurm.sh`), each checked against the
joblib launcher byte for byte, and through the failures a cluster user meets: a worker
killed mid-job (Ray retries it), a cell that fails, an array cancelled with `scancel`
and resumed.

Marked ``cluster``: not in the default run; `make test-cluster` installs what they need
(the ``ray`` and ``slurm`` extras; Debian's Slurm, munge and MariaDB, as root) and runs
them. Every daemon a test starts is stopped by the same test module.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import EXE

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULT_FILES = ("kpis.csv", "series.csv", "summary.json")
# Four cells of three replications, a few seconds each: long enough to kill one mid-job.
CELLS = [
    "policy=staged,soft_first",
    "collectors.size=2,3",
    "replications=3",
    "portfolio.n_accounts=3000",
    "publish_dir=null",
]
SWEEP_TIMEOUT_S = 600


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "SLURM_CONF")}
    return {**env, "HYDRA_FULL_ERROR": "0", **extra}


def result_files(sweep: Path) -> dict[tuple[str, str], bytes]:
    """``{(cell, file name): bytes}`` of every job of a sweep; every job must be ok."""
    files = {}
    for job in sweep.glob("*/job.json"):
        meta = json.loads(job.read_text())
        assert meta["status"] == "ok", meta
        for name in RESULT_FILES:
            files[(meta["cell"], name)] = (job.parent / name).read_bytes()
    return files


def assert_same_results(sweep: Path, reference: dict[tuple[str, str], bytes], launcher: str) -> None:
    files = result_files(sweep)
    assert files.keys() == reference.keys(), f"{launcher}: cells differ from joblib's"
    different = sorted(k for k in files if files[k] != reference[k])
    assert not different, f"{launcher} results differ from joblib's in {different}"


def sweep_args(sweep: Path, *extra: str, launcher: str) -> list[str]:
    return ["-m", f"hydra/launcher={launcher}", *CELLS, *extra, f"hydra.sweep.dir={sweep}"]


@pytest.fixture(scope="module")
def joblib_sweep(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], bytes]:
    tmp = tmp_path_factory.mktemp("joblib")
    proc = subprocess.run(
        [EXE, *sweep_args(tmp / "sweep", launcher="joblib")],
        capture_output=True,
        text=True,
        cwd=tmp,
        env=_env(),
        timeout=SWEEP_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr
    files = result_files(tmp / "sweep")
    assert len(files) == 4 * len(RESULT_FILES)
    return files


def _processes_in_session(sid: int) -> list[int]:
    """Pids of the live processes whose session id is ``sid``."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state, ppid, pgrp, session
            pids.append(int(d.name))
    return pids


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------- Ray


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RayHead:
    proc: subprocess.Popen[bytes]
    temp_dir: Path
    gcs_port: int
    dashboard_port: int
    client_port: int

    def env(self, **extra: str) -> dict[str, str]:
        # RAY_TMPDIR keeps this head apart from any other Ray on the machine: `auto`
        # finds it through <RAY_TMPDIR>/ray_current_cluster, and a `ray.init()` elsewhere
        # (default /tmp/ray) never joins it.
        return _env(RAY_TMPDIR=str(self.temp_dir), **extra)

    def workers_running_a_job(self) -> list[int]:
        """Pids of this head's worker processes that are executing a sweep job now."""
        return [p for p in _processes_in_session(self.proc.pid) if _cmdline(p).startswith("ray::_run_job")]


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def ray_head() -> Iterator[RayHead]:
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="pip install 'collectsim[ray]'")
    temp_dir = Path(tempfile.mkdtemp(prefix="csray-", dir="/tmp"))  # short: Ray puts sockets under it
    log = open(temp_dir / "ray-start.log", "wb")  # noqa: SIM115 - closed at teardown
    head = RayHead(None, temp_dir, _free_port(), _free_port(), _free_port())  # type: ignore[arg-type]
    head.proc = subprocess.Popen(
        [
            str(BIN / "ray"),
            "start",
            "--head",
            "--block",
            f"--port={head.gcs_port}",
            "--num-cpus=2",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={head.dashboard_port}",
            f"--ray-client-server-port={head.client_port}",
            "--disable-usage-stats",
        ],
        env=head.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own session: the teardown finds every process of it
    )
    try:
        deadline = time.monotonic() + 120
        while not (_http_ok(f"http://127.0.0.1:{head.dashboard_port}/api/version") and _port_open(head.client_port)):
            if head.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the Ray head did not start:\n" + (temp_dir / "ray-start.log").read_text()[-3000:])
            time.sleep(0.5)
        yield head
    finally:
        _stop_ray_head(head)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _stop_ray_head(head: RayHead) -> None:
    """SIGTERM to `ray start --block` (it stops its node), then SIGKILL to any process
    left in its session; never `ray stop`, which would stop every Ray on the machine."""
    with contextlib.suppress(ProcessLookupError):
        head.proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        head.proc.wait(timeout=60)
    for _ in range(20):
        left = _processes_in_session(head.proc.pid)
        if not left:
            break
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    head.proc.wait(timeout=10)
    assert not _processes_in_session(head.proc.pid), "Ray processes outlived the head"


def _kill_a_worker_mid_job(head: RayHead, sweep: Path, sweep_proc: subprocess.Popen[str]) -> dict[Path, float]:
    """SIGKILL one Ray worker while it runs a job; return the jobs running then, each
    with the time its ``.hydra/`` files were written."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and sweep_proc.poll() is None:
        workers = head.workers_running_a_job()
        running = [
            d.parent for d in sweep.glob("*/.hydra/overrides.yaml") if not (d.parent.parent / "job.json").exists()
        ]
        # Kill only when each busy worker has started its job (its .hydra/ is written), so
        # the killed job is one of `running`.
        if workers and len(workers) == len(running):
            written = {d.parent: (d / "overrides.yaml").stat().st_mtime for d in running}
            os.kill(workers[0], signal.SIGKILL)
            return written
        time.sleep(0.05)
    pytest.fail("never saw a Ray worker running a sweep job")


def test_ray_cluster_on_a_node_matches_joblib_and_retries_a_killed_worker(
    ray_head: RayHead, joblib_sweep: dict, tmp_path: Path
) -> None:
    """On a node of the cluster: RAY_ADDRESS=auto joins the head that `ray start` set up."""
    sweep = tmp_path / "sweep"
    proc = subprocess.Popen(
        [EXE, *sweep_args(sweep, launcher="ray_cluster")],
        cwd=tmp_path,
        env=ray_head.env(RAY_ADDRESS="auto"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        running = _kill_a_worker_mid_job(ray_head, sweep, proc)
        out, err = proc.communicate(timeout=SWEEP_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Connecting to existing Ray cluster" in err, err  # joined the head, did not start its own
    assert_same_results(sweep, joblib_sweep, "ray_cluster")
    # The killed job was run again (Hydra rewrote its .hydra/ files) and finished; the
    # jobs that were not killed ran once.
    retried = [d for d, t in running.items() if (d / ".hydra" / "overrides.yaml").stat().st_mtime > t]
    assert len(retried) == 1, f"expected one retried job among {sorted(running)}, got {retried}"
    assert json.loads((retried[0] / "job.json").read_text())["status"] == "ok"
    assert (sweep / "report.md").is_file()


def test_ray_job_submit_matches_joblib(ray_head: RayHead, joblib_sweep: dict, tmp_path: Path) -> None:
    """From outside the cluster: `ray job submit` runs the sweep's driver on the head."""
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        [
            str(BIN / "ray"),
            "job",
            "submit",
            f"--address=http://127.0.0.1:{ray_head.dashboard_port}",
            "--",
            EXE,
            *sweep_args(sweep, launcher="ray_cluster"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(),  # no RAY_TMPDIR, no RAY_ADDRESS: only the dashboard address
        timeout=SWEEP_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "succeeded" in proc.stdout + proc.stderr
    assert_same_results(sweep, joblib_sweep, "ray job submit")


def test_ray_client_matches_joblib(ray_head: RayHead, joblib_sweep: dict, tmp_path: Path) -> None:
    """From outside the cluster, interactively: Ray Client (ray://head:port)."""
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        [EXE, *sweep_args(sweep, launcher="ray_cluster")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(RAY_ADDRESS=f"ray://127.0.0.1:{ray_head.client_port}"),
        timeout=SWEEP_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr
    assert_same_results(sweep, joblib_sweep, "Ray Client")


# --------------------------------------------------------------------------- Slurm


@dataclass
class Slurm:
    state: Path
    conf: Path

    def env(self, **extra: str) -> dict[str, str]:
        return _env(SLURM_CONF=str(self.conf), COLLECTSIM_SLURM_PARTITION="debug", **extra)

    def run(self, *cmd: str) -> str:
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env(), check=True, timeout=60).stdout


SLURM_SH = ROOT / "scripts" / "cluster" / "slurm.sh"


@pytest.fixture(scope="module")
def slurm() -> Iterator[Slurm]:
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install 'collectsim[slurm]'")
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld, slurmd and munged needs root")
    state = Path(tempfile.mkdtemp(prefix="csslurm-", dir="/tmp"))
    env = {**os.environ, "COLLECTSIM_SLURM_STATE": str(state)}
    try:
        start = subprocess.run(["bash", str(SLURM_SH), "start"], capture_output=True, text=True, env=env, timeout=900)
        assert start.returncode == 0, start.stderr
        yield Slurm(state, state / "etc" / "slurm.conf")
    finally:
        stop = subprocess.run(["bash", str(SLURM_SH), "stop"], capture_output=True, text=True, env=env, timeout=120)
        left = [p.name for p in (state / "run").glob("*.pid")]
        assert stop.returncode == 0 and not left, stop.stderr + f" pid files left: {left}"
        shutil.rmtree(state, ignore_errors=True)


def _array_tasks(sweep: Path) -> set[str]:
    """Slurm ids (``<array>_<index>``) of the array tasks submitit ran for a sweep."""
    return {d.name for d in (sweep / ".submitit").iterdir() if re.fullmatch(r"\d+_\d+", d.name)}


def _array_states(slurm: Slurm) -> dict[str, str]:
    """``{array task id: state}`` of every job in Slurm's accounting."""
    out = slurm.run("sacct", "-X", "-n", "-P", "-o", "JobID,State")
    return dict(line.split("|")[:2] for line in out.splitlines() if line)


def test_slurm_matches_joblib_with_accounting(slurm: Slurm, joblib_sweep: dict, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        [EXE, *sweep_args(sweep, launcher="slurm")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=slurm.env(),
        timeout=SWEEP_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr
    assert_same_results(sweep, joblib_sweep, "slurm")
    # submitit polls sacct; with the cluster's accounting on it has nothing to warn about.
    assert "sacct error" not in proc.stdout + proc.stderr
    tasks = _array_tasks(sweep)
    states = _array_states(slurm)
    assert len(tasks) == 4 and all(states[t] == "COMPLETED" for t in tasks), (tasks, states)


def test_slurm_reports_a_failed_cell_with_its_error(slurm: Slurm, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    marker = "setup line ran before the job"
    proc = subprocess.run(
        [
            EXE,
            "-m",
            "hydra/launcher=slurm",
            "policy=soft_first",
            "portfolio.n_accounts=300",
            # Passes the check before launch; the second cell raises inside its job.
            "behaviour._target_=collectsim.behaviour.SelfExcitingIntensity,tests.plugins.ExplodingBehaviour",
            "publish_dir=null",
            f'hydra.launcher.setup=["echo {marker} >&2"]',
            f"hydra.sweep.dir={sweep}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=slurm.env(COLLECTSIM_ALLOWED_PACKAGES="tests", PYTHONPATH=str(ROOT)),
        timeout=SWEEP_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr  # a failed cell is recorded, the sweep goes on
    assert "(1 failed job(s) listed in it)" in proc.stdout, proc.stdout
    error = "deliberate failure on day 3"
    jobs = {d.name: json.loads((d / "job.json").read_text()) for d in sweep.iterdir() if (d / "job.json").is_file()}
    assert jobs["0"]["status"] == "ok"
    assert jobs["1"]["status"] == "failed" and error in jobs["1"]["error"], jobs["1"]
    report = (sweep / "report.md").read_text()
    assert error in report
    # The task's own log keeps the setup line's output and the error (submitit asks
    # sbatch for --open-mode=append; srun's log of the same file must not truncate it).
    (task_dir,) = (sweep / ".submitit").glob("*_1")
    err_log = (task_dir / f"{task_dir.name}_0_log.err").read_text()
    assert marker in err_log and error in err_log, err_log
    # Slurm itself sees the task succeed: collectsim records the failure in job.json and
    # exits 0, so sacct says COMPLETED, not FAILED. The report is where failures show.
    assert _array_states(slurm)[task_dir.name] == "COMPLETED"


def test_slurm_resume_after_scancel_runs_only_the_missing_cells(
    slurm: Slurm, joblib_sweep: dict, tmp_path: Path
) -> None:
    sweep = tmp_path / "sweep"
    proc = subprocess.Popen(
        [EXE, *sweep_args(sweep, "hydra.launcher.array_parallelism=1", launcher="slurm")],
        cwd=tmp_path,
        env=slurm.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + SWEEP_TIMEOUT_S
        while len(list(sweep.glob("*/job.json"))) < 1:
            assert proc.poll() is None and time.monotonic() < deadline, "no job finished"
            time.sleep(0.2)
        (array,) = {t.split("_")[0] for t in _array_tasks(sweep)}
        slurm.run("scancel", array)
        out, err = proc.communicate(timeout=SWEEP_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    # submitit learns from sacct that the array was cancelled and the sweep stops with
    # an error instead of waiting for results that will never come.
    assert proc.returncode != 0
    assert "CANCELLED" in err, err[-3000:]
    done = {d.parent: d.stat().st_mtime_ns for d in sweep.glob("*/job.json")}
    assert 1 <= len(done) < 4, f"scancel came too late or too early: {len(done)} of 4 jobs done"
    kept = {d: (d / "kpis.csv").read_bytes() for d in done}

    proc2 = subprocess.run(
        [EXE, *sweep_args(sweep, "resume=true", launcher="slurm")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=slurm.env(),
        timeout=SWEEP_TIMEOUT_S,
    )
    assert proc2.returncode == 0, proc2.stderr
    assert_same_results(sweep, joblib_sweep, "slurm after scancel and resume")
    # The cells finished before the cancel were not run again: their files are untouched.
    for d, mtime in done.items():
        assert (d / "job.json").stat().st_mtime_ns == mtime and (d / "kpis.csv").read_bytes() == kept[d]
    logs = "".join(p.read_text() for p in (sweep / ".submitit").glob("*/*_log.err"))
    assert logs.count("(kept from the earlier run)") == len(done)
