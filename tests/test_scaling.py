"""Beyond one machine and beyond grid search: the tunable policy, the Optuna tuning
sweep and its Pareto report, the launcher configs, and (slow) Ray and submitit sweeps
that must write the same result files as joblib. The sensitivity study has its own
tests (tests/test_sensitivity.py).

The tuning tests need the `tune` extra (hydra-optuna-sweeper), the slow launcher tests
the `ray` and `slurm` extras; each skips with the reason when its extra is missing.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.conftest import SHORT_STREAM
from tests.conftest import collectsim as run_cli

from collectsim import load_scenario, run_replications
from collectsim.config import config_dir

TINY = ["portfolio.n_accounts=300", "collectors.size=1", "publish_dir=null", *SHORT_STREAM]
RESULT_FILES = ("kpis.csv", "series.csv", "summary.json")


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


needs_optuna = pytest.mark.skipif(
    not _has("hydra_plugins.hydra_optuna_sweeper"),
    reason="hydra-optuna-sweeper not installed (pip install 'collectsim[tune]')",
)


def collectsim(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, env={"HYDRA_FULL_ERROR": "0"}, timeout=timeout)


# --------------------------------------------------------------------------- tunable policy


def test_tunable_staged_at_its_defaults_is_staged() -> None:
    base = ["portfolio.n_accounts=400", "collectors.size=1"]
    a = run_replications(load_scenario([*base, "policy=staged"]), 1)[0].kpis
    b = run_replications(load_scenario([*base, "policy=tunable_staged"]), 1)[0].kpis
    assert a.keys() == b.keys()
    assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_tunable_staged_levers_move_the_stage_boundary() -> None:
    sc = load_scenario(
        [
            "policy=tunable_staged",
            "levers.firm_from_dpd=46",
            "levers.call_every_days=5",
            "levers.late_call=soft_call",
            "levers.lawsuit_min_balance_yuan=12000",
        ]
    )
    soft, firm, legal = sc.policy["stages"][:3]
    assert (soft["dpd_to"], firm["dpd_from"]) == (45, 46)
    assert {a["action"]: a.get("every_days") for a in firm["actions"]}["firm_call"] == 5
    assert {a["action"]: a["start_day"] for a in firm["actions"]}["legal_warning"] == 60
    assert legal["actions"][0]["action"] == "soft_call"
    assert legal["actions"][2]["min_balance_yuan"] == 12000


def test_tunable_staged_rejects_a_day_outside_its_table() -> None:
    from collectsim import ConfigError

    with pytest.raises(ConfigError, match="lever_days.soft_until.d33"):
        load_scenario(["policy=tunable_staged", "levers.firm_from_dpd=33"])


# --------------------------------------------------------------------------- Pareto helpers


def test_pareto_mask_keeps_the_non_dominated_rows() -> None:
    from collectsim.tuning import pareto_mask

    # maximise column 0, minimise column 1
    v = np.array([[10, 5], [12, 6], [9, 4], [11, 7], [12, 6], [np.nan, 1]], dtype=float)
    assert pareto_mask(v, [1, -1]).tolist() == [True, True, True, False, True, False]


def test_objectives_must_match_the_sweeper_directions() -> None:
    from collectsim import ConfigError
    from collectsim.tuning import check_directions, objective_signs

    assert objective_signs(["net_recovery", "stress_peak_p95", "cost_total"]) == [1, -1, -1]
    check_directions(["net_recovery", "stress_peak_p95"], ["maximize", "minimize"])
    with pytest.raises(ConfigError, match="does not match"):
        check_directions(["net_recovery", "stress_peak_p95"], ["maximize", "maximize"])
    with pytest.raises(ConfigError, match="not a KPI with a direction"):
        objective_signs(["net_recovery", "accounts"])


# --------------------------------------------------------------------------- tuning sweep


@needs_optuna
def test_tune_experiment_runs_in_tiny_mode(tmp_path: Path) -> None:
    sweep = tmp_path / "tune"
    proc = collectsim(
        "experiment=tune_staged",
        "replications=2",
        *TINY,
        "hydra.sweeper.n_trials=4",
        "hydra.callbacks.report.builtins=[soft_first,staged]",
        "+hydra.callbacks.report.uncertainties={portfolio:[default,strategic]}",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "tuning report written" in proc.stdout, proc.stdout + proc.stderr
    jobs = {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/job.json")}
    assert len(jobs) == 4 and all(j["status"] == "ok" for j in jobs.values())
    # Each trial is a cell of 2 replications on the common seeds.
    assert all(j["seed"] == 0 and j["replications"] == 2 for j in jobs.values())
    assert all(any(o.startswith("levers.firm_from_dpd=") for o in j["overrides"]) for j in jobs.values())
    table = pd.read_csv(sweep / "comparison.csv")
    trials, builtins = table[table["kind"] == "trial"], table[table["kind"] == "builtin"]
    assert len(trials) == 4 and sorted(builtins["name"]) == ["soft_first", "staged"]
    assert trials["pareto"].any() and not builtins["pareto"].any()
    for b in ("soft_first", "staged"):
        assert (sweep / "builtins" / b / "kpis.csv").is_file()
    # What the sweeper optimised is what the result files say: Optuna's Pareto set
    # has the trials' mean objectives, as read back from kpis.csv.
    import yaml

    solutions = yaml.safe_load((sweep / "optimization_results.yaml").read_text())["solutions"]
    means = {
        tuple(np.round(r[["net_recovery", "stress_peak_p95", "cost_total"]].to_numpy(float), 6))
        for _, r in trials.iterrows()
    }
    for s in solutions:
        assert tuple(np.round(np.array(s["values"], dtype=float), 6)) in means
    pareto_trials = trials[trials["pareto"]]
    assert len(pareto_trials) == len(solutions)
    report = (sweep / "report.md").read_text()
    assert "## Non-dominated settings" in report and "![pareto](pareto.png)" in report
    assert (sweep / "pareto.png").stat().st_size > 1000
    assert (sweep / "paired.csv").is_file()
    # The best trial, tuned on the default book, rerun against the best built-in on the others.
    robust = report.split("## The best trial under other assumptions", 1)[1].split("\n## ", 1)[0]
    assert "| portfolio=strategic |" in robust
    assert "| portfolio=default |" not in robust  # the book it was tuned on


def test_tuning_searches_levers_only(capsys: pytest.CaptureFixture[str]) -> None:
    from omegaconf import OmegaConf

    from collectsim.tuning import TuningReportCallback

    def config(params: dict[str, str]) -> Any:
        return OmegaConf.create({"hydra": {"sweeper": {"params": params}}})

    levers = {"levers.firm_from_dpd": "choice(11, 16)", "collectors.size": "int(interval(1, 4))"}
    TuningReportCallback().on_multirun_start(config(levers))  # levers only: accepted
    with pytest.raises(SystemExit) as exit_:
        TuningReportCallback().on_multirun_start(config({**levers, "stress.intensity_effect": "interval(0, 1)"}))
    assert exit_.value.code == 2
    assert "tuning searches levers only; stress.intensity_effect is an assumption" in capsys.readouterr().err
    # ... unless the user marks it as a lever.
    TuningReportCallback(levers=["stress.intensity_effect"]).on_multirun_start(
        config({**levers, "stress.intensity_effect": "interval(0, 1)"})
    )


@needs_optuna
def test_tune_experiment_refuses_directions_that_contradict_the_objectives(tmp_path: Path) -> None:
    sweep = tmp_path / "tune"
    proc = collectsim(
        "experiment=tune_staged",
        "replications=1",
        *TINY,
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.direction=[maximize,maximize,minimize]",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "does not match objectives" in proc.stderr
    assert not list(sweep.glob("*/job.json"))


# --------------------------------------------------------------------------- launcher configs


@pytest.mark.slow  # needs the slurm and ray extras, which `make test-slow` installs
@pytest.mark.parametrize(
    ("launcher", "plugin", "target"),
    [
        ("slurm", "hydra_plugins.hydra_submitit_launcher", "SlurmLauncher"),
        ("ray_local", "hydra_plugins.hydra_ray_launcher", "RayLauncher"),
        ("ray_cluster", "hydra_plugins.hydra_ray_launcher", "RayLauncher"),
    ],
)
def test_launcher_configs_compose(launcher: str, plugin: str, target: str) -> None:
    if not _has(plugin):
        pytest.skip(f"{plugin} not installed")
    from hydra import compose, initialize_config_dir

    from collectsim.schemas import register_schemas

    register_schemas()
    assert (config_dir() / "hydra" / "launcher" / f"{launcher}.yaml").is_file()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith(target)
    if launcher == "slurm":
        assert cfg.hydra.launcher.cpus_per_task == 1
    else:
        assert cfg.hydra.launcher.ray.remote.num_cpus == 1


# --------------------------------------------------------------------------- slow: other launchers


CELLS = [
    "policy=staged,soft_first",
    "collectors.size=1,2",
    "replications=2",
    "portfolio.n_accounts=300",
    "publish_dir=null",
]


def _result_files(sweep: Path) -> dict[tuple[str, str], bytes]:
    files = {}
    for job in sweep.glob("*/job.json"):
        meta = json.loads(job.read_text())
        assert meta["status"] == "ok", meta
        for name in RESULT_FILES:
            files[(meta["cell"], name)] = (job.parent / name).read_bytes()
    return files


@pytest.fixture(scope="module")
def joblib_sweep(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], bytes]:
    tmp = tmp_path_factory.mktemp("joblib")
    proc = collectsim("-m", "hydra/launcher=joblib", *CELLS, f"hydra.sweep.dir={tmp / 'sweep'}", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    files = _result_files(tmp / "sweep")
    assert len(files) == 4 * len(RESULT_FILES)
    return files


@pytest.mark.slow
@pytest.mark.parametrize(
    ("launcher", "modules", "extra"),
    [
        ("ray_local", ("ray", "hydra_plugins.hydra_ray_launcher"), "ray"),
        ("submitit_local", ("submitit", "hydra_plugins.hydra_submitit_launcher"), "slurm"),
    ],
)
def test_other_launchers_write_the_same_results_as_joblib(
    tmp_path: Path, launcher: str, modules: tuple[str, ...], extra: str, joblib_sweep: dict
) -> None:
    missing = [m for m in modules if not _has(m)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not importable (pip install 'collectsim[{extra}]')")
    sweep = tmp_path / "sweep"
    proc = collectsim("-m", f"hydra/launcher={launcher}", *CELLS, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    files = _result_files(sweep)
    assert files.keys() == joblib_sweep.keys()
    different = sorted(k for k in files if files[k] != joblib_sweep[k])
    assert not different, f"{launcher} results differ from joblib's in {different}"
    assert (sweep / "report.md").is_file()
