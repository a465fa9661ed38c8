"""Tests of the sweep report (collectsim.report): gathering, comparisons, files, CLI, callback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from collectsim import load_scenario, run
from collectsim.cli.results import write_job, write_results
from collectsim.errors import ResultsError
from collectsim.metrics import DIRECTIONS
from collectsim.report import comparison_table, gather, make_report, paired_differences
from collectsim.report.callback import ReportCallback
from collectsim.report.cli import main
from collectsim.report.compare import verdict
from collectsim.report.gather import parse_override
from collectsim.report.plots import pareto_front
from collectsim.stats import t_half_width

POLICIES = ("soft_first", "early_escalation")
REPS = 2
PNGS = (
    "recovery_vs_stress.png",
    "recovery_curves.png",
    "stress_distribution.png",
    "cost_breakdown.png",
    "capacity.png",
)
FAILED_ERROR = "ConfigError: policy.steps[0].channel must be one of sms, voice, got 'fax'"


def _write_sweep(root: Path) -> Path:
    """A tiny sweep: 2 policies x 2 replications x 500 accounts, plus one failed job."""
    for j, pol in enumerate(POLICIES):
        overrides = [f"policy={pol}", f"replications={REPS}"]
        sc = load_scenario([*overrides, "portfolio.n_accounts=500"])
        results = [run(sc, k) for k in range(REPS)]
        job_dir = root / str(j)
        (job_dir / ".hydra").mkdir(parents=True)
        write_results(
            job_dir,
            results,
            {
                "cell": f"policy={pol}",
                "job_num": j,
                "overrides": overrides,
                "seed": 0,
                "replications": REPS,
                "wall_seconds": 1.0,
                "versions": {"collectsim": "0.1.0"},
            },
        )
    bad = root / "2"
    (bad / ".hydra").mkdir(parents=True)
    write_job(
        bad,
        {
            "cell": "policy=broken",
            "job_num": 2,
            "overrides": ["policy=broken"],
            "seed": 0,
            "replications": REPS,
            "status": "failed",
            "error": FAILED_ERROR,
        },
    )
    (root / "multirun.yaml").write_text(
        "hydra:\n  overrides:\n    task: [policy=soft_first,early_escalation]\n", encoding="utf-8"
    )
    return root


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_sweep(tmp_path_factory.mktemp("sweep") / "09-40-00-123456")


@pytest.fixture()
def sweep(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the sweep that a test may damage."""
    return Path(shutil.copytree(pristine, tmp_path / pristine.name))


@pytest.fixture(scope="module")
def reported(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sweep with its report written once."""
    d = Path(shutil.copytree(pristine, tmp_path_factory.mktemp("reported") / pristine.name))
    make_report(d)
    return d


def test_make_report_writes_report_figures_and_tables(reported: Path) -> None:
    report = reported / "report.md"
    assert report.is_file()
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Sweep report")
    for png in PNGS:
        data = (reported / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", png
        assert 5_000 < len(data) < 400_000, png
        assert f"]({png})" in text, f"{png} not embedded with a relative path"
    tidy = pd.read_csv(reported / "tidy_kpis.csv")
    assert set(tidy["policy"]) == set(POLICIES)
    assert len(tidy[tidy["group"] == "all"]) == len(POLICIES) * REPS
    comp = pd.read_csv(reported / "comparison.csv")
    assert {"cell", "kpi", "mean", "half_width", "n"} <= set(comp.columns)
    assert (comp.loc[comp["kpi"] == "recovery_rate", "n"] == REPS).all()
    paired = pd.read_csv(reported / "paired.csv")
    assert set(paired["cell"]) == {"policy=early_escalation"}
    assert set(paired["baseline_cell"]) == {"policy=soft_first"}
    for heading in (
        "## What was run",
        "## Results per cell",
        "## Differences against the baseline (soft_first)",
        "## How to read this",
    ):
        assert heading in text


def test_failed_job_is_named_in_report(reported: Path) -> None:
    text = (reported / "report.md").read_text(encoding="utf-8")
    section = text.split("## Failed jobs", 1)[1].split("\n## ", 1)[0]
    row = next(line for line in section.splitlines() if line.startswith("| 2 |"))
    assert "policy=broken" in row
    assert FAILED_ERROR.split(",")[0] in row


def test_paired_mean_equals_mean_of_per_seed_differences(reported: Path) -> None:
    tidy = pd.read_csv(reported / "tidy_kpis.csv")
    paired = pd.read_csv(reported / "paired.csv")
    overall = tidy[tidy["group"] == "all"]
    base = overall[overall["policy"] == "soft_first"].set_index(["seed", "replication"])
    chal = overall[overall["policy"] == "early_escalation"].set_index(["seed", "replication"])
    assert sorted(base.index) == sorted(chal.index) and len(base) == REPS
    checked = 0
    for kpi in ("recovery_rate", "net_recovery", "cost_total", "stress_peak_p95", "cure_rate", "cost_sms"):
        by_hand = [chal.loc[key, kpi] - base.loc[key, kpi] for key in base.index]
        row = paired[paired["kpi"] == kpi].iloc[0]
        assert np.isclose(row["diff_mean"], np.mean(by_hand), rtol=1e-12, atol=0.0), kpi
        sd = np.std(by_hand, ddof=1)
        hw = t_half_width(sd, REPS)
        assert np.isclose(row["diff_half_width"], hw, rtol=1e-9, atol=1e-12), kpi
        assert row["n"] == REPS
        checked += 1
    assert checked == 6


def test_verdicts_follow_interval_and_direction(reported: Path) -> None:
    paired = pd.read_csv(reported / "paired.csv")
    assert set(paired["verdict"]) <= {"better", "worse", "higher", "lower", "not distinguishable"}
    for _, r in paired.iterrows():
        excludes_zero = np.isfinite(r["diff_low"]) and (r["diff_low"] > 0 or r["diff_high"] < 0)
        if not excludes_zero:
            assert r["verdict"] == "not distinguishable", r["kpi"]
        elif r["kpi"] in DIRECTIONS:
            good = (r["diff_mean"] > 0) == (DIRECTIONS[r["kpi"]] > 0)
            assert r["verdict"] == ("better" if good else "worse"), r["kpi"]
        else:
            assert r["verdict"] == ("higher" if r["diff_mean"] > 0 else "lower"), r["kpi"]
    text = (reported / "report.md").read_text(encoding="utf-8")
    stress_row = next(line for line in text.splitlines() if line.startswith("| stress_peak_p95"))
    verdict_cell = stress_row.split("|")[5].strip().strip("*")
    expected = paired.loc[paired["kpi"] == "stress_peak_p95", "verdict"].iloc[0]
    assert verdict_cell == expected


def test_verdict_rule() -> None:
    assert verdict(0.1, 0.5, +1) == "better"
    assert verdict(0.1, 0.5, -1) == "worse"
    assert verdict(-0.5, -0.1, -1) == "better"
    assert verdict(-0.5, 0.1, +1) == "not distinguishable"
    assert verdict(0.1, 0.5, 0) == "higher"
    assert verdict(-0.5, -0.1, 0) == "lower"
    assert verdict(float("nan"), float("nan"), +1) == "not distinguishable"


def test_comparison_table_matches_t_interval(pristine: Path) -> None:
    g = gather(pristine)
    comp = comparison_table(g, ["recovery_rate"])
    values = g.overall().query("policy == 'soft_first'")["recovery_rate"].to_numpy()
    row = comp[comp["cell"] == "policy=soft_first"].iloc[0]
    assert row["n"] == REPS
    assert np.isclose(row["mean"], values.mean(), rtol=1e-12)
    hw = t_half_width(values.std(ddof=1), REPS)
    assert np.isclose(row["half_width"], hw, rtol=1e-9)


def test_gather_parses_overrides_and_lists_failed_jobs(pristine: Path) -> None:
    g = gather(pristine)
    assert g.override_keys == ["policy"]
    assert list(g.cells()["label"]) == list(POLICIES)
    assert [(f.folder, f.cell) for f in g.failed] == [("2", "policy=broken")]
    assert FAILED_ERROR in g.failed[0].error
    assert set(g.series["cell"]) == {f"policy={p}" for p in POLICIES}
    assert "replications" not in g.kpis.columns and "seed" not in g.override_keys
    # One whole daily series per cell and replication (runs of a stream differ in length).
    runs = g.series.groupby(["cell", "replication"])["day"]
    assert runs.ngroups == len(POLICIES) * REPS
    assert all(list(days) == list(range(1, len(days) + 1)) for _, days in runs)


def test_parse_override() -> None:
    assert parse_override("collectors.size=20") == ("collectors.size", "20")
    assert parse_override("+policy.arms=[a,b]") == ("policy.arms", "[a,b]")
    assert parse_override("~compliance.window") == ("compliance.window", "(deleted)")
    assert parse_override("seed=3") is None
    assert parse_override("replications=10") is None
    assert parse_override("hydra.launcher.n_jobs=4") is None


def test_pareto_front_keeps_only_unbeaten_points() -> None:
    stress = np.array([1.0, 2.0, 3.0, 2.5, 1.0])
    recovery = np.array([0.5, 0.8, 0.9, 0.7, 0.5])
    # point 3 is beaten by point 1; point 4 ties with point 0, so both stay.
    assert pareto_front(stress, recovery).tolist() == [0, 4, 1, 2]


def test_missing_folder_raises(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ResultsError, match="no such folder") as info:
        make_report(missing)
    assert str(missing) in str(info.value)


def test_empty_folder_raises(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ResultsError, match="not a sweep folder") as info:
        make_report(empty)
    assert str(empty) in str(info.value)
    assert not (empty / "report.md").exists()


def test_only_failed_jobs_raises(sweep: Path) -> None:
    for j in range(len(POLICIES)):
        shutil.rmtree(sweep / str(j))
    (sweep / "3" / ".hydra").mkdir(parents=True)  # a killed job: no job.json
    with pytest.raises(ResultsError, match="no successful results") as info:
        make_report(sweep)
    assert str(sweep) in str(info.value)


@pytest.mark.parametrize("cut", ["mid_row", "line_boundary"])
def test_truncated_kpis_marks_job_failed(sweep: Path, cut: str) -> None:
    kpis = sweep / "1" / "kpis.csv"
    data = kpis.read_bytes()
    if cut == "mid_row":
        kpis.write_bytes(data[: len(data) // 2])
    else:  # drop the last replication's rows entirely: a well-formed but short file
        lines = data.decode("utf-8").splitlines(keepends=True)
        kpis.write_text("".join(line for line in lines if f",{REPS - 1},0," not in line), encoding="utf-8")
    g = gather(sweep)
    failed = {f.folder: f for f in g.failed}
    assert set(failed) == {"1", "2"}
    assert "truncated kpis.csv" in failed["1"].error
    assert failed["1"].cell == "policy=early_escalation"
    assert list(g.cells()["cell"]) == ["policy=soft_first"]
    report = make_report(sweep)  # still produces a report, with no pairs to compare
    assert "truncated kpis.csv" in report.read_text(encoding="utf-8")


def test_unreadable_job_json_marks_job_failed(sweep: Path) -> None:
    (sweep / "0" / "job.json").write_text('{"cell": "policy=soft_first", "status": "o', encoding="utf-8")
    g = gather(sweep)
    reasons = {f.folder: f for f in g.failed}
    assert reasons["0"].error.startswith("unreadable job.json")
    assert list(g.cells()["cell"]) == ["policy=early_escalation"]


def test_failed_job_reasons(sweep: Path) -> None:
    (sweep / "1" / "series.csv").unlink()
    (sweep / "4" / ".hydra").mkdir(parents=True)
    g = gather(sweep)
    reasons = {f.folder: f.error for f in g.failed}
    assert reasons["1"] == "missing series.csv"
    assert reasons["4"].startswith("no result files")
    assert FAILED_ERROR in reasons["2"]


def test_no_baseline_in_sweep_skips_paired_with_note(pristine: Path, sweep: Path) -> None:
    paired = paired_differences(gather(pristine), baseline="staged")
    assert paired.table.empty
    assert any("no cell with policy staged" in n for n in paired.notes)
    text = make_report(sweep, baseline="staged").read_text(encoding="utf-8")
    assert "no cell with policy staged" in text


def test_cli_missing_folder_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "multirun" / "nothing-here"
    with pytest.raises(SystemExit) as info:
        main([str(missing)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("collectsim-report: error: ")
    assert str(missing) in err
    assert "Traceback" not in err


def test_cli_unknown_kpi_exits_2(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([str(sweep), "--kpis", "recovery_rate,happiness"])
    assert info.value.code == 2
    assert "unknown KPI(s) happiness" in capsys.readouterr().err


def test_cli_prints_report_path_and_failed_jobs(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(sweep), "--kpis", "recovery_rate,cure_rate"]) == 0
    out = capsys.readouterr().out
    assert f"report written to {sweep / 'report.md'}" in out
    assert "2 (policy=broken)" in out
    text = (sweep / "report.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| cell | n |"))
    assert header == "| cell | n | recovery_rate ↑ | cure_rate ↑ |"


def test_callback_writes_report_and_never_raises(
    sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ReportCallback(baseline="soft_first").on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}}))
    assert (sweep / "report.md").is_file()
    assert str(sweep / "report.md") in capsys.readouterr().out
    missing = tmp_path / "gone"
    ReportCallback().on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(missing)}}}))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err
    ReportCallback().on_multirun_end(OmegaConf.create({}))  # no hydra.sweep.dir at all: still no exception
    assert "collectsim-report: error" in capsys.readouterr().err
    ReportCallback(enabled=False).on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(missing)}}}))
    assert capsys.readouterr().err == ""


def _set_overrides(job_dir: Path, overrides: list[str]) -> None:
    path = job_dir / "job.json"
    job = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**job, "overrides": overrides}), encoding="utf-8")


def test_shared_and_excluded_overrides_stay_out_of_labels(sweep: Path) -> None:
    (sweep / "multirun.yaml").write_text(
        "hydra:\n  job:\n    config:\n      override_dirname:\n        exclude_keys: [seed, tag]\n", encoding="utf-8"
    )
    for j, pol in enumerate(POLICIES):
        _set_overrides(sweep / str(j), [f"policy={pol}", "collectors.size=20", "baseline=staged", f"tag=t{j}"])
    g = gather(sweep)
    assert g.override_keys == ["policy", "collectors.size"]
    assert g.common == {"collectors.size": "20"}
    assert list(g.cells()["label"]) == list(POLICIES)


def test_baseline_must_share_the_other_overrides(sweep: Path) -> None:
    _set_overrides(sweep / "0", ["policy=soft_first", "collectors.size=20"])
    _set_overrides(sweep / "1", ["policy=early_escalation", "collectors.size=30"])
    g = gather(sweep)
    assert list(g.cells()["label"]) == ["soft_first, collectors.size=20", "early_escalation, collectors.size=30"]
    paired = paired_differences(g)
    assert paired.table.empty
    assert paired.notes == [
        "early_escalation, collectors.size=30: no soft_first cell with the same other overrides, not compared"
    ]
