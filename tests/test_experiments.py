"""Sweeps from Python (collectsim.experiments): the grid, parallel equals sequential, the
files equal what the report reads, the paired table, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import SHORT_STREAM

from collectsim import ConfigError, load_scenario, run
from collectsim.cli.sweep_folder import FolderRefused
from collectsim.experiments import cell_name, compare, grid, run_experiments, sweep_command
from collectsim.report import gather, paired_differences

BASE = ["portfolio.n_accounts=300", *SHORT_STREAM]
CELLS = grid({"policy": ["soft_first", "early_escalation"], "collectors.size": [1, 2]})
REPS = 2


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    out = tmp_path_factory.mktemp("api") / "sweep"
    return run_experiments(CELLS, replications=REPS, base=BASE, n_jobs=1, out_dir=out, report=True), out


def test_grid_is_every_combination_first_factor_slowest() -> None:
    assert CELLS == [
        ["policy=soft_first", "collectors.size=1"],
        ["policy=soft_first", "collectors.size=2"],
        ["policy=early_escalation", "collectors.size=1"],
        ["policy=early_escalation", "collectors.size=2"],
    ]
    assert grid({"compliance.enforce": [True]}) == [["compliance.enforce=true"]]
    assert cell_name(["policy=staged", "collectors.size=3", "seed=4"]) == "collectors.size=3,policy=staged"


def test_table_holds_every_cell_replication_and_equals_direct_runs(swept: tuple[pd.DataFrame, Path]) -> None:
    kpis, out = swept
    overall = kpis[kpis["group"] == "all"]
    assert len(overall) == len(CELLS) * REPS
    assert set(overall["collectors.size"]) == {"1", "2"}
    # The same replication run directly through the core gives the same numbers.
    sc = load_scenario([*BASE, "policy=early_escalation", "collectors.size=2"])
    direct = run(sc, 1).kpis
    row = overall[(overall["policy"] == "early_escalation") & (overall["collectors.size"] == "2")]
    row = row[row["replication"] == 1].iloc[0]
    for k in ("recovery_rate", "net_recovery", "stress_peak_p95", "cost_total"):
        assert row[k] == pytest.approx(direct[k], rel=1e-12), k
    assert kpis.attrs["sweep_dir"] == str(out)


def test_parallel_equals_sequential(swept: tuple[pd.DataFrame, Path]) -> None:
    kpis, _ = swept
    par = run_experiments(CELLS[:2], replications=REPS, base=BASE, n_jobs=2)
    seq = kpis[kpis["cell"].isin(set(par["cell"]))].reset_index(drop=True)
    cols = [c for c in par.columns if c != "job"]
    pd.testing.assert_frame_equal(par[cols].reset_index(drop=True), seq[cols], check_dtype=False)
    assert par.attrs["sweep_dir"] is None


def test_writes_the_command_line_files_and_report(swept: tuple[pd.DataFrame, Path]) -> None:
    kpis, out = swept
    for j in range(len(CELLS)):
        for name in ("kpis.csv", "series.csv", "summary.json", "job.json"):
            assert (out / str(j) / name).is_file(), f"{j}/{name}"
    pd.testing.assert_frame_equal(gather(out).kpis, kpis)
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "## Summary" in text and (out / "report.html").is_file()
    want = sweep_command(CELLS, BASE, 0, REPS)
    assert want == (
        "collectsim -m policy=soft_first,early_escalation collectors.size=1,2 portfolio.n_accounts=300"
        " portfolio.warmup_days=30 portfolio.cooldown_days=30 seed=0 replications=2"
    )
    assert f"Command: `{want}`" in text


def test_compare_equals_the_report_pairing(swept: tuple[pd.DataFrame, Path]) -> None:
    kpis, out = swept
    table = compare(kpis, baseline="soft_first")
    ref = paired_differences(gather(out), baseline="soft_first").table
    pd.testing.assert_frame_equal(table.reset_index(drop=True), ref.reset_index(drop=True))
    by_size = compare(out, baseline="collectors.size=2", kpi_names=["recovery_rate"])
    assert set(by_size["baseline_cell"].str.contains("collectors.size=2")) == {True}
    assert len(by_size) == 2  # each policy's size-1 cell against its size-2 cell
    ov = kpis[kpis["group"] == "all"].set_index(["policy", "collectors.size", "replication"])["recovery_rate"]
    diffs = [ov[("soft_first", "1", k)] - ov[("soft_first", "2", k)] for k in range(REPS)]
    got = by_size[by_size["label"].str.startswith("soft_first")]["diff_mean"].iloc[0]
    assert got == pytest.approx(np.mean(diffs), rel=1e-12)


def test_bad_input_names_the_offender(swept: tuple[pd.DataFrame, Path]) -> None:
    kpis, _ = swept
    with pytest.raises(ConfigError, match=r"cell collectors.sise=3,policy=staged: collectors.sise is not a known key"):
        run_experiments([["policy=staged", "collectors.sise=3"]], replications=1, base=BASE)
    with pytest.raises(ConfigError, match="replications must be an integer >= 1, got 0"):
        run_experiments(CELLS, replications=0)
    with pytest.raises(ConfigError, match=r"cells\.1: 'staged' is not an override"):
        run_experiments([["policy=soft_first"], ["staged"]], replications=1)
    with pytest.raises(ConfigError, match="listed twice"):
        run_experiments([["policy=staged"], ["policy=staged"]], replications=1)
    with pytest.raises(ConfigError, match=r"no cell with collectors.size=7 .*values present: 1, 2"):
        compare(kpis, baseline="collectors.size=7")
    with pytest.raises(ConfigError, match="compliance is not a setting of this sweep"):
        compare(kpis, baseline="compliance=reg_f")


# ------------------------------------------------------------- the sweep folder's guard


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_holding_an_api_sweep_is_refused_without_resume(swept: tuple[pd.DataFrame, Path]) -> None:
    _, out = swept
    before = _snapshot(out)
    with pytest.raises(FolderRefused, match=r"already holds results .*resume=True"):
        run_experiments(CELLS[:1], replications=3, base=["portfolio.n_accounts=500"], n_jobs=1, out_dir=out)
    with pytest.raises(FolderRefused, match="resume=True needs the same sweep"):
        run_experiments(
            CELLS[:1], replications=3, base=["portfolio.n_accounts=500"], n_jobs=1, out_dir=out, resume=True
        )
    assert _snapshot(out) == before


def test_a_folder_holding_a_command_line_sweep_is_refused(tmp_path: Path) -> None:
    from tests.conftest import collectsim

    out = tmp_path / "cli"
    proc = collectsim(
        "-m",
        "policy=soft_first,staged",
        *BASE,
        "collectors.size=1",
        "hydra/launcher=basic",
        f"hydra.sweep.dir={out}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    before = _snapshot(out)
    with pytest.raises(FolderRefused, match=r"already holds results .*resume=True"):
        run_experiments(CELLS[:1], replications=1, base=BASE, n_jobs=1, out_dir=out)
    with pytest.raises(FolderRefused, match="resume=True needs the same sweep"):
        run_experiments(CELLS[:1], replications=1, base=BASE, n_jobs=1, out_dir=out, resume=True)
    assert _snapshot(out) == before
    # ... and the command line refuses a folder the API wrote.
    api = tmp_path / "api"
    run_experiments(CELLS[:1], replications=1, base=BASE, n_jobs=1, out_dir=api)
    proc = collectsim("-m", "policy=soft_first", *BASE, "hydra/launcher=basic", f"hydra.sweep.dir={api}", cwd=tmp_path)
    assert proc.returncode == 2 and "already holds results" in proc.stderr


def test_a_folder_in_use_is_refused_by_the_api(tmp_path: Path) -> None:
    from filelock import FileLock

    out = tmp_path / "busy"
    out.mkdir()
    with FileLock(str(out / ".sweep.lock")), pytest.raises(FolderRefused, match="is in use by another sweep"):
        run_experiments(CELLS[:1], replications=1, base=BASE, n_jobs=1, out_dir=out)


def test_resume_reruns_only_the_missing_cells_under_one_sweep_id(tmp_path: Path) -> None:
    import json

    out = tmp_path / "resumed"
    first = run_experiments(CELLS[:2], replications=1, base=BASE, n_jobs=1, out_dir=out)
    kept = (out / "0" / "kpis.csv").stat().st_mtime_ns
    (out / "1" / "job.json").unlink()  # job 1 was interrupted
    again = run_experiments(CELLS[:2], replications=1, base=BASE, n_jobs=1, out_dir=out, resume=True)
    assert (out / "0" / "kpis.csv").stat().st_mtime_ns == kept
    pd.testing.assert_frame_equal(first, again)
    own = json.loads((out / ".sweep.json").read_text())["id"]
    assert {json.loads((out / k / "job.json").read_text())["sweep_id"] for k in ("0", "1")} == {own}


def test_the_report_of_a_small_sweep_prints_no_warning(swept: tuple[pd.DataFrame, Path]) -> None:
    import warnings

    from collectsim.report.cli import build_report
    from collectsim.report.plots import mean_band

    _, out = swept
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_report(out)
        # A day only one replication reaches, and a day none does.
        _, m, hw = mean_band(pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": [3.0, np.nan, np.nan]}))
    assert m[:2].tolist() == [2.0, 2.0] and np.isnan(m[2]) and np.isfinite(hw[0]) and np.isnan(hw[1:]).all()


def test_report_refuses_a_baseline_not_in_the_sweep_before_writing(swept: tuple[pd.DataFrame, Path]) -> None:
    from collectsim.report.cli import main

    _, out = swept
    before = (out / "report.md").read_bytes()
    with pytest.raises(SystemExit) as exit_:
        main([str(out), "--baseline", "staged"])
    assert exit_.value.code == 2
    assert (out / "report.md").read_bytes() == before


def test_the_report_says_when_capacity_does_not_bind(swept: tuple[pd.DataFrame, Path]) -> None:
    kpis, out = swept
    util = kpis[kpis["group"] == "all"].groupby("cell")["collector_utilisation"].mean()
    assert util.max() < 0.5  # 300 accounts for one or two collectors
    assert "capacity does not bind" in (out / "report.md").read_text(encoding="utf-8")
