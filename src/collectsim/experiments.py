"""Sweeps from Python: run a list or grid of override sets with replications in
parallel (joblib), write the same sweep folder as ``collectsim -m``, and return its
tidy KPI table; :func:`compare` gives the paired table against a baseline.

>>> from collectsim.experiments import grid, run_experiments, compare
>>> cells = grid({"policy": ["soft_first", "early_escalation"], "collectors.size": [5, 10]})
>>> kpis = run_experiments(cells, replications=5, base=["portfolio.n_accounts=2000"], out_dir="sweeps/first")
>>> compare(kpis, baseline="soft_first")          # one row per cell x KPI   # doctest: +SKIP

Replication ``k`` of every cell uses the same random streams (seed, k), exactly as in
a command-line sweep, so cells are compared under common random numbers and a cell's
numbers do not depend on how many workers ran it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from collectsim.errors import ConfigError
from collectsim.report.compare import Paired, paired_differences
from collectsim.report.gather import Gathered, gather, parse_override

#: progress(done, total): called after each finished replication.
ProgressFn = Callable[[int, int], None]


def grid(factors: Mapping[str, Iterable[Any]]) -> list[list[str]]:
    """Every combination of the factors' values as override lists, first factor slowest.

    ``grid({"policy": ["soft_first", "staged"], "collectors.size": [5, 10]})`` gives
    ``[["policy=soft_first", "collectors.size=5"], ["policy=soft_first", "collectors.size=10"], ...]``.
    """
    keys = list(factors)
    values = [list(factors[k]) for k in keys]
    for k, v in zip(keys, values, strict=True):
        if not v:
            raise ConfigError(f"grid factor {k} has no values")
    return [[f"{k}={_text(v)}" for k, v in zip(keys, combo, strict=True)] for combo in itertools.product(*values)]


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def cell_name(overrides: Sequence[str]) -> str:
    """The cell's name as Hydra's ``override_dirname`` spells it: the overrides that
    define a cell (not seed, replications, ...), sorted and joined by commas."""
    kept = sorted(str(o) for o in overrides if parse_override(str(o)) is not None)
    return ",".join(kept) or "default"


def _check_cells(cells: Sequence[Sequence[str]]) -> list[list[str]]:
    if isinstance(cells, str) or not cells:
        raise ConfigError(
            "cells must be a non-empty list of override lists, e.g. [['policy=soft_first'], ['policy=staged']]"
        )
    out = []
    for i, c in enumerate(cells):
        if isinstance(c, str):
            c = [c]
        ovs = [str(o) for o in c]
        bad = [o for o in ovs if "=" not in o]
        if bad:
            raise ConfigError(f"cells[{i}]: {bad[0]!r} is not an override of the form key=value")
        keys = [o.lstrip("+~").split("=", 1)[0] for o in ovs]
        fixed = [k for k in keys if k in ("seed", "replications")]
        if fixed:
            raise ConfigError(f"cells[{i}]: set {fixed[0]} with the {fixed[0]}= argument, not in a cell")
        out.append(ovs)
    names = [cell_name(c) for c in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise ConfigError(f"cells: the cell {dup} is listed twice")
    return out


def _one(scenario: Any, k: int) -> Any:
    from collectsim.engine import run

    return run(scenario, k)


def run_experiments(
    cells: Sequence[Sequence[str]],
    *,
    replications: int = 5,
    seed: int = 0,
    base: Sequence[str] = (),
    n_jobs: int = -1,
    out_dir: str | Path | None = None,
    resume: bool = False,
    report: bool = False,
    baseline: str = "soft_first",
    levers: Sequence[str] = (),
    progress: ProgressFn | None = None,
) -> pd.DataFrame:
    """Run every cell for ``replications`` replications and return the tidy KPI table.

    Parameters
    ----------
    cells : one override list per cell (see :func:`grid`), e.g. ``[["policy=soft_first"], ["policy=staged"]]``.
    replications : replications per cell (``k = 0 .. replications-1``).
    seed : base seed shared by every cell.
    base : overrides applied to every cell before its own (``["portfolio.n_accounts=2000"]``).
    n_jobs : joblib workers (-1: one per core); the results do not depend on it.
    out_dir : the sweep folder to write (one job folder per cell, as ``collectsim -m``
        writes); None writes to a temporary folder that is removed afterwards. It is
        guarded as the command line guards ``hydra.sweep.dir``: locked while the sweep
        runs, refused when it holds results unless ``resume``, stamped with one sweep id.
    resume : finish the sweep already in ``out_dir`` (the same cells, base, seed and
        replications): cells with complete results are kept, the others are run.
    report : also write ``report.md``, ``report.html``, figures and CSVs into ``out_dir``.
    baseline : baseline of that report (a policy or ``key=value``).
    levers : swept keys that report ranks as levers besides policy, team, rules and
        channel spend (:mod:`collectsim.keys`).
    progress : ``progress(done, total)`` after each finished replication.

    Returns
    -------
    pandas.DataFrame
        The table :func:`collectsim.report.gather` reads from the folder: one row per
        cell x replication x group, columns ``job``, ``cell``, ``label``, the override
        keys, ``policy_name``, ``replication``, ``seed``, ``group``, ``name``, the KPIs.
        ``attrs["sweep_dir"]`` is ``out_dir`` (None for a temporary folder).

    Raises
    ------
    ConfigError
        On a malformed cell, ``replications < 1``, or a key or value the config rejects
        (the message names the cell and the key).
    FolderRefused
        When ``out_dir`` is in use by another sweep, holds results and ``resume`` is
        false, or holds another sweep's results (nothing in it is changed).
    """
    import yaml
    from joblib import Parallel, delayed

    from collectsim.cli.results import versions, write_results
    from collectsim.cli.sweep_folder import API_WORDS, claim, finished, release
    from collectsim.compiled_team import warm
    from collectsim.config import load_scenario
    from collectsim.engine import build_plugins
    from collectsim.scenario import scenario_to_dict

    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ConfigError(f"replications must be an integer >= 1, got {replications!r}")
    checked = _check_cells(cells)
    fixed = [f"seed={seed}", f"replications={replications}"]
    scenarios = []
    for ovs in checked:
        try:
            sc = load_scenario([*base, *ovs, *fixed])
            build_plugins(sc)
        except ConfigError as exc:
            raise ConfigError(f"cell {cell_name(ovs)}: {exc}") from None
        scenarios.append(sc)
    tmp = out_dir is None
    root = Path(tempfile.mkdtemp(prefix="collectsim-sweep-")) if tmp else Path(out_dir)  # type: ignore[arg-type]
    jobs = [[*base, *ovs, *fixed] for ovs in checked]
    sweep = claim(root, _definition(checked, base, fixed), resume=resume, argv=[], jobs=len(checked), words=API_WORDS)
    try:
        todo = [j for j in range(len(checked)) if not finished(root / str(j), jobs[j], sweep)]
        tasks = [(i, k) for i in todo for k in range(replications)]
        t0 = time.perf_counter()
        results: dict[int, list[Any]] = {i: [None] * replications for i in todo}
        # Compile the agents' kernels once here (or load them from the cache), before
        # the workers start; each worker runs one Numba thread.
        os.environ.setdefault("NUMBA_NUM_THREADS", "1")
        warm()
        runner = Parallel(n_jobs=n_jobs, return_as="generator")
        for done, ((i, k), res) in enumerate(
            zip(tasks, runner(delayed(_one)(scenarios[i], k) for i, k in tasks), strict=True), start=1
        ):
            results[i][k] = res
            if progress is not None:
                progress(done, len(tasks))
        wall = time.perf_counter() - t0
        _write_multirun(root, base, checked, seed, replications)
        for j in todo:
            job_dir = root / str(j)
            (job_dir / ".hydra").mkdir(parents=True, exist_ok=True)
            # The cell's full config, where a command-line job keeps Hydra's (the report
            # quotes its stress coefficients).
            (job_dir / ".hydra" / "config.yaml").write_text(
                yaml.safe_dump(scenario_to_dict(scenarios[j]), sort_keys=False), encoding="utf-8"
            )
            write_results(
                job_dir,
                results[j],
                {
                    "cell": cell_name([*base, *checked[j]]),
                    "job_num": j,
                    "overrides": jobs[j],
                    "seed": seed,
                    "replications": replications,
                    "sweep_id": sweep,
                    "wall_seconds": wall / max(1, len(todo)),
                    "versions": versions(),
                },
            )
        if report and not tmp:
            from collectsim.report.cli import build_report

            build_report(root, baseline=baseline, levers=levers)
        kpis = gather(root).kpis
    finally:
        release(root)
        if tmp:
            shutil.rmtree(root, ignore_errors=True)
    kpis.attrs["sweep_dir"] = None if tmp else str(root)
    return kpis


def _definition(cells: list[list[str]], base: Sequence[str], fixed: list[str]) -> list[str]:
    """What defines an API sweep in its ``.sweep.json``: the command line's overrides
    when the cells form a grid, else every cell, plus ``base``, seed and replications."""
    grid_ovs = sweep_overrides(cells, base)
    if grid_ovs is not None:
        return [*grid_ovs, *fixed]
    return [f"cells={'|'.join(cell_name(c) for c in cells)}", *base, *fixed]


def sweep_overrides(cells: Sequence[Sequence[str]], base: Sequence[str] = ()) -> list[str] | None:
    """The ``collectsim -m`` overrides that run the same cells (``policy=a,b
    collectors.size=5,10`` plus ``base``), or None when the cells are not a full grid."""
    parsed = [dict(o.split("=", 1) for o in c) for c in cells]
    keys = list(dict.fromkeys(k for p in parsed for k in p))
    if any(list(p) != keys for p in parsed):
        return None
    values = {k: list(dict.fromkeys(p[k] for p in parsed)) for k in keys}
    combos = {tuple(p[k] for k in keys) for p in parsed}
    if len(combos) != len(parsed) or len(combos) != _product(len(v) for v in values.values()):
        return None
    return [*(f"{k}={','.join(values[k])}" for k in keys), *base]


def _product(xs: Iterable[int]) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


def sweep_command(
    cells: Sequence[Sequence[str]], base: Sequence[str] = (), seed: int = 0, replications: int = 5
) -> str | None:
    """The command line that runs the same sweep (None when the cells are not a grid)."""
    ovs = sweep_overrides(cells, base)
    if ovs is None:
        return None
    from collectsim.report.fmt import shell_quote

    return " ".join(
        ["collectsim", "-m", *(shell_quote(o) for o in ovs), f"seed={seed}", f"replications={replications}"]
    )


def _write_multirun(root: Path, base: Sequence[str], cells: list[list[str]], seed: int, reps: int) -> None:
    """A ``multirun.yaml`` like Hydra's, so the report can state how to rerun the sweep."""
    import yaml

    ovs = sweep_overrides(cells, base)
    doc: dict[str, Any] = {"collectsim": {"cells": [list(c) for c in cells], "base": list(base)}}
    if ovs is not None:
        doc["hydra"] = {"overrides": {"task": [*ovs, f"seed={seed}", f"replications={reps}"]}}
    (root / "multirun.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def as_gathered(kpis: pd.DataFrame | str | Path) -> Gathered:
    """A :class:`Gathered` from a sweep folder or from the table :func:`run_experiments`
    returned (no daily series in the latter)."""
    if isinstance(kpis, (str, Path)):
        return gather(kpis)
    cols = list(kpis.columns)
    need = ("job", "cell", "label", "policy", "policy_name", "name")
    missing = [c for c in need if c not in cols]
    if missing:
        raise ConfigError(f"not a collectsim KPI table: missing column(s) {', '.join(missing)}")
    keys = cols[3 : cols.index("policy_name")]
    kpi_names = cols[cols.index("name") + 1 :]
    cells = kpis.drop_duplicates("cell")
    varying = [k for k in keys[1:] if cells[k].astype(str).nunique() > 1]
    common = {k: str(cells[k].iloc[0]) for k in keys[1:] if k not in varying and str(cells[k].iloc[0]) != ""}
    return Gathered(
        sweep_dir=Path(kpis.attrs.get("sweep_dir") or "."),
        kpis=kpis.reset_index(drop=True),
        series=pd.DataFrame(),
        failed=[],
        jobs=[],
        override_keys=keys,
        kpi_names=kpi_names,
        varying_keys=varying,
        common=common,
    )


def compare(
    kpis: pd.DataFrame | str | Path, baseline: str = "soft_first", kpi_names: Sequence[str] | None = None
) -> pd.DataFrame:
    """The paired table of every cell against its baseline cell (see
    :func:`collectsim.report.compare.paired_differences`): one row per cell x KPI with
    ``diff_mean``, ``diff_low``, ``diff_high``, ``verdict`` ...

    Parameters
    ----------
    kpis : the table from :func:`run_experiments`, or a sweep folder.
    baseline : a policy, or ``key=value`` naming any setting of the sweep.
    kpi_names : KPIs to compare (default: all).

    Raises
    ------
    ConfigError
        When no cell matches the baseline (the message lists the values present).
    """
    paired: Paired = paired_differences(
        as_gathered(kpis), baseline=baseline, kpis=list(kpi_names) if kpi_names else None
    )
    if paired.table.empty and paired.notes:
        raise ConfigError(paired.notes[0])
    paired.table.attrs["notes"] = paired.notes
    return paired.table


__all__ = ["as_gathered", "cell_name", "compare", "grid", "run_experiments", "sweep_command", "sweep_overrides"]
