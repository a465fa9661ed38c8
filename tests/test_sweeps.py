"""End-to-end sweeps through the command line: result files, report, failures,
parallel equals sequential, and the ready-made studies in a tiny mode."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import SHORT_STREAM, collectsim

from collectsim.config import config_dir

TINY = ["portfolio.n_accounts=300", "collectors.size=1", "publish_dir=null", *SHORT_STREAM]


def test_single_run_writes_result_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = collectsim(
        "policy=early_escalation",
        "collectors.size=2",
        "replications=2",
        "seed=7",
        "portfolio.n_accounts=500",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "early_escalation: 2 replications, seed 7" in proc.stdout
    assert "recovery_rate" in proc.stdout and "middle_low_income" in proc.stdout
    kpis = pd.read_csv(out / "kpis.csv")
    assert set(kpis["replication"]) == {0, 1}
    assert set(kpis["name"]) == {"all", "young", "white_collar", "middle_low_income"}
    series = pd.read_csv(out / "series.csv")
    assert {"day", "collected_cum", "outstanding", "open_accounts", "stress_mean", "backlog"} <= set(series.columns)
    job = json.loads((out / "job.json").read_text())
    assert job["status"] == "ok" and job["seed"] == 7 and job["replications"] == 2
    assert (out / ".hydra" / "config.yaml").is_file()


def test_tiny_sweep_produces_table_figures_and_report(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = collectsim(
        "-m", "policy=soft_first,early_escalation", "replications=2", *TINY, f"hydra.sweep.dir={sweep}", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "[2/2]" in proc.stderr
    for name in (
        "report.md",
        "tidy_kpis.csv",
        "comparison.csv",
        "paired.csv",
        "recovery_vs_stress.png",
        "recovery_curves.png",
        "stress_distribution.png",
        "cost_breakdown.png",
        "capacity.png",
    ):
        assert (sweep / name).is_file(), name
    tidy = pd.read_csv(sweep / "tidy_kpis.csv")
    overall = tidy[tidy["group"] == "all"]
    assert len(overall) == 4  # 2 cells x 2 replications
    report = (sweep / "report.md").read_text()
    assert "soft_first" in report and "early_escalation" in report and "![" in report


def test_failing_cells_do_not_lose_the_others(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = collectsim(
        "-m",
        "behaviour._target_=collectsim.behaviour.SelfExcitingIntensity,tests.plugins.ExplodingBehaviour",
        "policy=soft_first,staged",
        "replications=1",
        "portfolio.n_accounts=300",
        "publish_dir=null",
        *SHORT_STREAM,
        f"hydra.sweep.dir={sweep}",
        cwd=Path(__file__).resolve().parents[1],
        env={"COLLECTSIM_ALLOWED_PACKAGES": "tests", "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert proc.returncode == 0, proc.stderr
    jobs = {p.name: json.loads((p / "job.json").read_text()) for p in sweep.iterdir() if (p / "job.json").is_file()}
    assert len(jobs) == 4
    ok = [j for j in jobs.values() if j["status"] == "ok"]
    failed = {j["cell"]: j["error"] for j in jobs.values() if j["status"] == "failed"}
    assert len(ok) == 2 and len(failed) == 2
    assert all("deliberate failure on day 3" in e for e in failed.values())
    exploded = [p for p, j in jobs.items() if "deliberate" in j.get("error", "")]
    assert (sweep / exploded[0] / "error.txt").is_file()
    report = (sweep / "report.md").read_text()
    for cell in failed:
        assert cell in report or cell.replace(",", ", ") in report


def test_joblib_sweep_equals_sequential_sweep(tmp_path: Path) -> None:
    files = {}
    for launcher in ("basic", "joblib"):
        sweep = tmp_path / launcher
        proc = collectsim(
            "-m",
            f"hydra/launcher={launcher}",
            "policy=staged,soft_first",
            "replications=2",
            *TINY,
            f"hydra.sweep.dir={sweep}",
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        files[launcher] = {(p.parent.name, p.name): p.read_bytes() for p in sorted(sweep.glob("*/*.csv"))}
    assert files["basic"] and files["basic"] == files["joblib"]


def _experiments() -> list[str]:
    return sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", ["soft_vs_escalation"])
def test_headline_experiment_runs_in_tiny_mode(tmp_path: Path, experiment: str) -> None:
    _run_experiment(tmp_path, experiment)


@pytest.mark.slow
@pytest.mark.parametrize("experiment", _experiments())
def test_every_experiment_runs_in_tiny_mode(tmp_path: Path, experiment: str) -> None:
    _run_experiment(tmp_path, experiment)


def _run_experiment(tmp_path: Path, experiment: str) -> None:
    sweep = tmp_path / experiment
    committed = config_dir().parent / "experiments" / experiment / "report.md"
    before = committed.read_bytes() if committed.is_file() else None
    # The study's own publish_dir is kept: a quick run must not publish without publish=true.
    tiny = [a for a in TINY if not a.startswith("publish_dir")]
    proc = collectsim(f"experiment={experiment}", "replications=1", *tiny, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (committed.read_bytes() if committed.is_file() else None) == before
    assert not (tmp_path / "experiments").exists()
    jobs = [json.loads(p.read_text()) for p in sweep.glob("*/job.json")]
    assert jobs and all(j["status"] == "ok" for j in jobs)
    assert (sweep / "report.md").is_file()
    assert (config_dir().parent / "experiments" / experiment / "README.md").is_file()


def test_job_count_lets_the_command_line_replace_a_studys_list() -> None:
    # stress_sensitivity sweeps 3 x 2 stress settings x 3 policies; one policy given on the
    # command line replaces the study's list, as the basic sweeper does.
    from collectsim.cli.sweep_folder import count_jobs
    from collectsim.config import compose

    assert count_jobs(compose(["experiment=stress_sensitivity"], return_hydra_config=True)) == 18
    assert count_jobs(compose(["experiment=stress_sensitivity", "policy=soft_first"], return_hydra_config=True)) == 6
