"""Tuning sweeps on disk: read the trials' shared setup and run reference configurations on their seeds.

Used by :mod:`collectsim.tuning`: the built-in policies (and the confirmation
runs on fresh seeds) are run here, their result files written next to the sweep and
reused when the report is rebuilt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from collectsim.errors import ResultsError

# --------------------------------------------------------------------------- reading the sweep


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def override_key(override: str) -> str:
    return override.strip().lstrip("+~").partition("=")[0].strip()


@dataclass
class SweepSetup:
    """What the trials share: the overrides that rebuild their scenario without the
    swept levers, the swept keys, the objectives, seed and replications."""

    base_overrides: list[str]
    swept: list[str]
    objectives: list[str]
    seed: int | None
    replications: int | None
    notes: list[str] = field(default_factory=list)


def sweep_setup(sweep_dir: Path, jobs: list[dict[str, Any]], objectives: Sequence[str] | None = None) -> SweepSetup:
    """Read the shared setup from the first job's ``.hydra/`` folder (or the job files)."""
    notes: list[str] = []
    first = jobs[0]
    hydra_yaml = _read_yaml(sweep_dir / str(first["folder"]) / ".hydra" / "hydra.yaml").get("hydra", {})
    config_yaml = _read_yaml(sweep_dir / str(first["folder"]) / ".hydra" / "config.yaml")
    params = ((hydra_yaml.get("sweeper") or {}).get("params") or {}) if hydra_yaml else {}
    swept = [str(k) for k in params]
    if not swept:  # no .hydra folder: the keys whose value differs between trials
        values: dict[str, set[str]] = {}
        for j in jobs:
            for o in j.get("overrides") or []:
                values.setdefault(override_key(o), set()).add(o)
        swept = sorted(k for k, v in values.items() if len(v) > 1 or len(v) < len(jobs))
        notes.append(
            "no .hydra/ folder in the first job: the swept keys were taken as those that differ between trials"
        )
    base = [
        o
        for o in first.get("overrides") or []
        if override_key(o) not in swept and not override_key(o).startswith("hydra") and override_key(o) != "policy"
    ]
    objs = [str(k) for k in (objectives or config_yaml.get("objectives") or [])]
    if not objs:
        raise ResultsError(f"{sweep_dir}: no objectives (set `objectives` in the experiment or pass --objectives)")
    seeds = {j.get("seed") for j in jobs}
    reps = {j.get("replications") for j in jobs}
    if len(seeds) > 1 or len(reps) > 1:
        notes.append(
            f"the trials do not share one seed and replication count (seeds {sorted(map(str, seeds))}, "
            f"replications {sorted(map(str, reps))}); paired differences use the common replications"
        )
    return SweepSetup(base, swept, objs, first.get("seed"), first.get("replications"), notes)


# --------------------------------------------------------------------------- running reference policies


def _compose_scenario(overrides: list[str]) -> Any:
    """Compose a scenario even inside a running Hydra app (whose global state is kept)."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.singleton import Singleton

    from collectsim.config import load_scenario
    from collectsim.schemas import register_schemas

    register_schemas()  # before the state is saved: it is registered once per process
    state = Singleton.get_state()
    GlobalHydra.instance().clear()
    try:
        return load_scenario(overrides)
    finally:
        Singleton.set_state(state)


def run_reference(overrides: list[str], out_dir: Path, name: str) -> pd.DataFrame:
    """Run one configuration (``overrides``) for its replications into ``out_dir``, or
    reuse the results already there for the same overrides; return its overall KPIs,
    one row per replication."""
    job_file = out_dir / "job.json"
    if job_file.is_file() and (out_dir / "kpis.csv").is_file():
        try:
            done = json.loads(job_file.read_text(encoding="utf-8"))
        except ValueError:
            done = {}
        if done.get("status") == "ok" and done.get("overrides") == list(overrides):
            return _overall(out_dir)
    from collectsim.api import check_scenario, run_replications
    from collectsim.cli.results import versions, write_results

    t0 = time.perf_counter()
    scenario = _compose_scenario(list(overrides))
    check_scenario(scenario)
    results = run_replications(scenario)
    job = {
        "cell": name,
        "job_num": 0,
        "overrides": list(overrides),
        "seed": scenario.simulation.seed,
        "replications": scenario.simulation.replications,
        "versions": versions(),
        "wall_seconds": time.perf_counter() - t0,
    }
    write_results(out_dir, results, job)
    return _overall(out_dir)


def _overall(job_dir: Path) -> pd.DataFrame:
    kpis = pd.read_csv(
        job_dir / "kpis.csv",
        dtype={"cell": str, "policy": str, "group": str, "name": str},
        keep_default_na=False,
        na_values=[""],
    )
    return kpis[kpis["group"] == "all"].reset_index(drop=True)


def run_many(tasks: list[tuple[list[str], Path, str]], n_jobs: int) -> list[pd.DataFrame]:
    if n_jobs == 1 or len(tasks) <= 1:
        return [run_reference(*t) for t in tasks]
    from joblib import Parallel, delayed

    return list(Parallel(n_jobs=n_jobs)(delayed(run_reference)(*t) for t in tasks))
