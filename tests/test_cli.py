"""The command line before and around a sweep: the precheck (every swept value, did you
mean, types, NaN, memory), the sweep folder's ownership (lock, refusal, sweep id,
duplicates, progress), Ctrl-C, publishing and the help page."""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from omegaconf import OmegaConf
from tests.conftest import EXE, SHORT_STREAM, collectsim

from collectsim import ConfigError, load_scenario, scenario_from_dict
from collectsim.cli.precheck import precheck
from collectsim.cli.publish import PublishCallback, publish_target, repository_root
from collectsim.config import config_dir, group_options
from collectsim.errors import ResultsError
from collectsim.report.gather import gather
from collectsim.scenario import scenario_to_dict

TINY = ["portfolio.n_accounts=300", "collectors.size=1", "hydra/launcher=basic", *SHORT_STREAM]


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


# --------------------------------------------------------------------------- precheck


def refused(*argv: str) -> str:
    with pytest.raises(ConfigError) as err:
        precheck(list(argv))
    assert "\n" not in str(err.value)
    return str(err.value)


def test_sweep_typo_stops_before_anything_is_created(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = collectsim("-m", "policy=soft_first,stagd", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 2
    line = one_line(proc)
    assert line.startswith("collectsim: error: policy=stagd is not an option of config group 'policy'")
    assert "(did you mean staged?)" in line and "schema" not in line
    assert not sweep.exists() and not (tmp_path / "multirun").exists()


def test_every_value_of_every_swept_key_is_checked() -> None:
    assert refused("-m", "collectors.size=5,-1", "policy=soft_first,staged") == "collectors.size must be > 0, got -1"
    msg = refused("-m", "policy=soft_first,staged", "collectors.size=5,10", "compliance=reg_f,nope")
    assert msg.startswith("compliance=nope is not an option")


def test_swept_unknown_key_suggests_the_right_key() -> None:
    msg = refused("-m", "collectors.sise=5,10")
    assert msg.startswith("collectors.sise is not a known key (did you mean collectors.size?)")
    assert "+collectors" not in msg


def test_unknown_top_level_key_suggests_replications() -> None:
    msg = refused("replication=3")
    assert msg.startswith("replication is not a known key (did you mean replications?)")
    assert "replications" in msg.split("allowed keys:")[1]


def test_comma_list_without_multirun_hints_at_m() -> None:
    msg = refused("policy=soft_first,staged")
    assert "add -m to sweep over them" in msg and "collectsim -m policy=soft_first,staged" in msg


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("replications=abc", "replications must be an integer, got 'abc'"),
        ("seed=1.5", "seed must be an integer, got '1.5'"),
        ("collectors.size=abc", "collectors.size must be an integer, got 'abc'"),
        ("behaviour.kappa=abc", "behaviour.kappa must be a number, got 'abc'"),
        ("resume=maybe", "resume must be true or false, got 'maybe'"),
    ],
)
def test_type_errors_name_the_key_and_type(override: str, message: str) -> None:
    assert refused(override) == message


def test_keys_are_printed_as_the_command_line_accepts_them() -> None:
    assert refused("portfolio.segments.0.share=1.3") == "portfolio.segments.0.share must be in [0, 1], got 1.3"
    assert refused("portfolio.segments[0].share=1.3").endswith("portfolio.segments.0.share=1.3")
    # Plug-in keys too (the policy's own check names list items).
    assert refused("policy.stages.0.actions.0.action=email").startswith(
        "policy.stages.0.actions.0.action must be one of sms, voice"
    )


def test_schema_is_not_an_option() -> None:
    assert refused("portfolio=schema") == (
        "portfolio=schema is not an option of config group 'portfolio'; allowed: default, hardship, strategic"
    )


def test_duplicated_replications_are_refused(tmp_path: Path) -> None:
    proc = collectsim("-m", "replications=2,3", *TINY, f"hydra.sweep.dir={tmp_path / 's'}", cwd=tmp_path)
    assert proc.returncode == 2
    assert "replications=2,3 would run the same replications" in one_line(proc)
    assert not (tmp_path / "s").exists()


def test_study_sweep_params_are_checked() -> None:
    checked = precheck(["experiment=staffing"])
    assert checked is not None and checked.multirun and checked.jobs == 18  # 6 team sizes x 3 policies
    assert checked.swept["collectors.size"] == ["2", "3", "4", "5", "6", "8"]
    assert refused("experiment=staffing", "collectors.size=0,5") == "collectors.size must be > 0, got 0"


def _float_keys(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict):
        return [k for key, v in node.items() for k in _float_keys(v, f"{prefix}{key}.")]
    if isinstance(node, list):
        return [k for i, v in enumerate(node) for k in _float_keys(v, f"{prefix}{i}.")]
    return [prefix[:-1]] if isinstance(node, float) else []


def _set(data: dict[str, Any], key: str, value: float) -> None:
    *path, last = key.split(".")
    node: Any = data
    for p in path:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


BASE = scenario_to_dict(load_scenario(["policy=staged"]))
FLOAT_KEYS = _float_keys(BASE)


def test_there_are_many_float_keys() -> None:
    assert len(FLOAT_KEYS) > 100 and "behaviour.kappa" in FLOAT_KEYS and "policy.levers" not in FLOAT_KEYS


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused_for_every_float(bad: float) -> None:
    accepted = []
    for key in FLOAT_KEYS:
        data = json.loads(json.dumps(BASE))
        _set(data, key, bad)
        try:
            scenario_from_dict(data)
            accepted.append(key)
        except ConfigError as exc:
            assert str(exc) == f"{key} must be a finite number, got {bad!r}"
    assert accepted == []


def test_nan_from_the_command_line_stops_the_run(tmp_path: Path) -> None:
    proc = collectsim("behaviour.kappa=nan", f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path)
    assert proc.returncode == 2
    assert one_line(proc) == "collectsim: error: behaviour.kappa must be a finite number, got nan"
    assert not (tmp_path / "r").exists()


def test_memory_estimate_refuses_a_run_too_big_for_the_machine() -> None:
    msg = refused("portfolio.n_accounts=1000000000")
    assert msg.startswith("portfolio.n_accounts=1000000000 needs about ")
    assert "memory_check=false" in msg
    assert precheck(["portfolio.n_accounts=1000000000", "memory_check=false"]) is not None
    assert precheck(["portfolio.n_accounts=20000"]) is not None


def test_help_lists_every_group_and_option(tmp_path: Path) -> None:
    proc = collectsim("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    groups = sorted(p.name for p in config_dir().iterdir() if p.is_dir() and p.name != "hydra")
    listed = dict(re.findall(r"^(\w+):\s+(.+)$", proc.stdout, flags=re.M))
    for group in groups:
        assert listed.get(group) == ", ".join(group_options(group)), group
    assert "schema" not in proc.stdout


# --------------------------------------------------------------------------- the sweep folder


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("owned")
    out = root / "sweep"
    proc = collectsim("-m", "policy=soft_first,staged", *TINY, f"hydra.sweep.dir={out}", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.csv"))}


def test_every_job_records_its_sweep_id(sweep: Path) -> None:
    own = json.loads((sweep / ".sweep.json").read_text())["id"]
    ids = {json.loads((sweep / k / "job.json").read_text())["sweep_id"] for k in ("0", "1")}
    assert ids == {own}


def test_a_folder_holding_a_sweep_is_refused_without_resume(sweep: Path, tmp_path: Path) -> None:
    before = _snapshot(sweep)
    proc = collectsim("-m", "policy=do_nothing", *TINY, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 2
    assert "already holds results" in one_line(proc) and "resume=true" in one_line(proc)
    # resume=true with another sweep's settings is refused too: it would mix them.
    proc = collectsim("-m", "policy=do_nothing", *TINY, "resume=true", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 2
    assert "resume=true needs the same sweep" in one_line(proc)
    assert _snapshot(sweep) == before


def test_a_folder_in_use_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    with FileLock(str(out / ".sweep.lock")):  # another sweep holds the folder
        proc = collectsim("-m", "policy=soft_first", *TINY, f"hydra.sweep.dir={out}", cwd=tmp_path)
    assert proc.returncode == 2
    assert "is in use by another sweep" in one_line(proc)
    assert sorted(p.name for p in out.iterdir()) == [".sweep.lock"]


def test_two_sweeps_started_at_once_never_share_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "race"
    args = [EXE, "-m", "policy=soft_first", *TINY, f"hydra.sweep.dir={out}"]
    procs = [subprocess.Popen(args, cwd=tmp_path, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errs = [p.communicate(timeout=600)[1] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], errs
    loser = errs[[p.returncode for p in procs].index(2)]
    assert "in use by another sweep" in loser or "already holds results" in loser


def test_report_refuses_to_mix_sweeps(sweep: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    shutil.copytree(sweep, mixed)
    job = json.loads((mixed / "1" / "job.json").read_text())
    (mixed / "1" / "job.json").write_text(json.dumps({**job, "sweep_id": "another-sweep"}))
    with pytest.raises(ResultsError, match=r"mixes results of different sweeps: job folder\(s\) 1 "):
        gather(mixed)
    assert len(gather(sweep).overall()) == 2


def test_report_refuses_duplicated_replications(sweep: Path, tmp_path: Path) -> None:
    dup = tmp_path / "dup"
    shutil.copytree(sweep, dup)
    shutil.copytree(dup / "0", dup / "2")  # the same cell, seed and replication again
    with pytest.raises(ResultsError, match="appears in job folders 0, 2"):
        gather(dup)


def test_progress_counts_only_this_runs_jobs_on_resume(sweep: Path, tmp_path: Path) -> None:
    (sweep / "1" / "job.json").unlink()  # job 1 killed
    proc = collectsim("-m", "policy=soft_first,staged", *TINY, "resume=true", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    counters = re.findall(r"^\[(\d+)/(\d+)\]", proc.stderr, flags=re.M)
    assert counters == [("1", "2"), ("2", "2")], proc.stderr
    assert json.loads((sweep / "1" / "job.json").read_text())["status"] == "ok"


@pytest.mark.parametrize("delay", [0.0, 1.5], ids=["while-starting", "while-jobs-run"])
def test_ctrl_c_prints_the_resume_command_without_traceback(tmp_path: Path, delay: float) -> None:
    out = tmp_path / "stopped"
    args = ["-m", "policy=soft_first,staged", "portfolio.n_accounts=20000", "replications=2", *SHORT_STREAM]
    args.append(f"hydra.sweep.dir={out}")
    proc = subprocess.Popen([EXE, *args], cwd=tmp_path, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while not (out / ".sweep.json").is_file() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
    t0 = time.time()
    err = proc.communicate(timeout=60)[1]
    assert time.time() - t0 < 10
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Warning" not in err, err
    lines = err.strip().splitlines()
    assert lines[-3].startswith("collectsim: interrupted; ") and lines[-3].endswith(f"job(s) finished in {out}.")
    command = lines[-1].strip()
    assert command == shlex.join(["collectsim", *args[:-1], "resume=true", f"hydra.sweep.dir={out}"])
    if delay:
        done = subprocess.run(
            [EXE, *shlex.split(command)[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
        jobs = [json.loads((out / k / "job.json").read_text()) for k in ("0", "1")]
        assert all(j["status"] == "ok" for j in jobs)


#: Loaded by every Python started with it on PYTHONPATH; in a joblib (loky) worker it
#: leaves a marker file and then sleeps, as a worker still importing on a slow machine.
SLOW_WORKER = """
import os, time
with open("/proc/self/cmdline", "rb") as fh:
    command = fh.read()
if b"popen_loky_posix" in command:
    open(os.path.join(os.environ["SLOW_WORKER_DIR"], f"importing.{os.getpid()}"), "w").close()
    time.sleep(20)
"""


def test_ctrl_c_while_workers_import_prints_no_traceback(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_WORKER)
    out = tmp_path / "stopped"
    env = {**os.environ, "PYTHONPATH": str(site), "SLOW_WORKER_DIR": str(tmp_path)}
    args = ["-m", "policy=soft_first,staged", "portfolio.n_accounts=2000", f"hydra.sweep.dir={out}"]
    proc = subprocess.Popen(
        [EXE, *args], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.time() + 120
    while not list(tmp_path.glob("importing.*")) and time.time() < deadline:
        time.sleep(0.02)
    assert list(tmp_path.glob("importing.*")), "no worker started"
    os.killpg(proc.pid, signal.SIGINT)  # every worker is still asleep in its start-up
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-3].startswith("collectsim: interrupted; 0 of 2 job(s) finished")
    workers = [int(p.suffix[1:]) for p in tmp_path.glob("importing.*")]
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a worker outlived the sweep"


def test_after_ctrl_c_only_the_pools_thread_errors_are_silenced(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tearing loky's pool down while it hands out jobs can raise in its manager thread
    (a KeyError for a job the shutdown cancelled): after Ctrl-C that says nothing, while
    an error in any other thread is still reported."""
    import threading

    from collectsim.cli import main as cli_main

    def raise_in_thread(filename: str) -> str:
        code: dict[str, Any] = {}
        exec(compile("def boom():\n    raise KeyError(1)\n", filename, "exec"), code)
        thread = threading.Thread(target=code["boom"], name="ExecutorManagerThread")
        thread.start()
        thread.join()
        return capsys.readouterr().err

    monkeypatch.setattr(threading, "excepthook", cli_main._quiet_pool_threads)
    assert raise_in_thread(os.path.join("site-packages", "joblib", "externals", "x.py")) == ""
    err = raise_in_thread(os.path.join("site-packages", "other", "x.py"))
    assert "Traceback" in err and "KeyError: 1" in err


# --------------------------------------------------------------------------- publishing


def _sweep_config(sweep_dir: Path, overrides: list[str]) -> Any:
    return OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep_dir)}, "overrides": {"task": overrides}}})


@pytest.fixture
def report_folder(tmp_path: Path) -> Path:
    (tmp_path / "report.md").write_text("# a quick run\n")
    return tmp_path


def _committed() -> bytes:
    return (repository_root() / "experiments" / "staffing" / "report.md").read_bytes()


def test_a_study_report_is_published_only_when_asked(report_folder: Path) -> None:
    before = _committed()
    PublishCallback("experiments/staffing", enabled=False).on_multirun_end(
        _sweep_config(report_folder, ["experiment=staffing"])
    )
    # Asked, but a quick run (changed settings) is not the study: not published.
    PublishCallback("experiments/staffing", enabled=True).on_multirun_end(
        _sweep_config(report_folder, ["experiment=staffing", "replications=1", "publish=true"])
    )
    assert _committed() == before


def test_publishing_never_leaves_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a relative publish_dir is the repository's, not the current folder's
    assert publish_target("experiments/staffing") == (repository_root() / "experiments" / "staffing").resolve()
    for bad in ("../outside", "/tmp/elsewhere", "experiments/../../x", "experiments/no_such_study"):
        with pytest.raises(ValueError):
            publish_target(bad)
    assert not (tmp_path / "experiments").exists()


def test_quick_study_run_leaves_the_committed_report(tmp_path: Path) -> None:
    before = _committed()
    out = tmp_path / "quick"
    proc = collectsim(
        "experiment=staffing",
        "replications=1",
        "portfolio.n_accounts=200",
        "collectors.size=1",  # a command-line value replaces the study's list
        "policy=soft_first",
        f"hydra.sweep.dir={out}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "report.md").is_file()
    assert _committed() == before
    assert not (tmp_path / "experiments").exists()


def test_a_run_refused_by_the_config_check_leaves_no_folder(tmp_path: Path) -> None:
    # --config-name is left to Hydra by the precheck, so the job itself refuses the value.
    proc = collectsim("--config-name", "config", "portfolio.n_accounts=-5", cwd=tmp_path)
    assert proc.returncode == 2
    assert one_line(proc) == "collectsim: error: portfolio.n_accounts must be > 0, got -5"
    assert not (tmp_path / "outputs").exists()
