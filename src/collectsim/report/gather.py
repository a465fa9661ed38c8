"""Reading a Hydra sweep folder into tidy pandas tables, recording failed jobs.

A sweep folder (``multirun/<date>/<time>/``) holds one subfolder per job (``0/``,
``1/``, ...), each with a ``.hydra/`` folder and the result files written by
:mod:`collectsim.cli.results`: ``job.json``, ``kpis.csv`` and ``series.csv``.
A job counts as failed when its ``job.json`` says so, when it has no result files
(killed) or when one of its result files is missing, truncated or unparseable;
the sweep is still read, and the failure is listed in :attr:`Gathered.failed`.

Only JSON, CSV and YAML are read (never pickle); nothing here imports simpy.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collectsim.errors import ResultsError
from collectsim.metrics import SERIES_KEYS

#: Columns of ``kpis.csv`` that identify a row rather than measure something.
META_COLUMNS = ("cell", "policy", "replication", "seed", "group", "name")
#: Columns every ``series.csv`` must have.
SERIES_COLUMNS = ("cell", "replication", *SERIES_KEYS)
#: Override keys that do not define a cell (excluded from Hydra's override_dirname by
#: ``conf/config.yaml``); a sweep's ``multirun.yaml`` may add more.
NON_CELL_KEYS = frozenset(
    {
        "seed",
        "replications",
        "show_segments",
        "baseline",
        "lever_keys",
        "experiment",
        "study",
        "publish",
        "publish_dir",
        "resume",
        "memory_check",
    }
)
#: Columns the gatherer adds to the tidy table besides the override keys.
ADDED_COLUMNS = ("job", "label", "policy_name")


@dataclass(frozen=True)
class FailedJob:
    """A job of the sweep without usable results.

    Attributes
    ----------
    folder : name of the job folder inside the sweep (e.g. ``"3"``).
    cell : the job's cell (Hydra override_dirname), ``"?"`` when unknown.
    error : one-line reason.
    """

    folder: str
    cell: str
    error: str


@dataclass
class Gathered:
    """All results of a sweep.

    Attributes
    ----------
    sweep_dir : the sweep folder.
    kpis : tidy KPI table of the successful jobs: one row per job x replication x
        group (``group`` is ``"all"``, ``"segment"`` or ``"arm"``). Columns: ``job``
        (folder name), ``cell``, ``label`` (readable cell name), ``policy`` (the
        policy's config name), ``policy_name`` (the name the run reported), one
        column per override key (values as strings, ``""`` when a job did not set
        the key), ``replication``, ``seed``, ``group``, ``name``, then the KPIs.
    series : daily series of the successful jobs: ``job``, ``cell``, ``label``,
        ``seed``, ``replication``, ``day`` and the series columns.
    failed : jobs without usable results, in folder order.
    jobs : ``job.json`` of each successful job, with its ``folder`` added.
    override_keys : keys that define the cells, ``"policy"`` first.
    varying_keys : the override keys other than policy whose value differs between
        jobs; the labels show the policy and these.
    common : overrides every successful job shares (not repeated in the labels).
    kpi_names : KPI columns of :attr:`kpis`, in file order.
    multirun : the sweep's ``multirun.yaml`` (empty when absent or unreadable).
    """

    sweep_dir: Path
    kpis: pd.DataFrame
    series: pd.DataFrame
    failed: list[FailedJob]
    jobs: list[dict[str, Any]]
    override_keys: list[str]
    kpi_names: list[str]
    multirun: dict[str, Any] = field(default_factory=dict)
    varying_keys: list[str] = field(default_factory=list)
    common: dict[str, str] = field(default_factory=dict)

    def cells(self) -> pd.DataFrame:
        """One row per cell, in sweep order: ``cell``, ``label`` and the override keys."""
        cols = ["cell", "label", *self.override_keys]
        return self.kpis[cols].drop_duplicates("cell").reset_index(drop=True)

    def overall(self) -> pd.DataFrame:
        """The rows of group ``"all"`` (overall KPIs, one per job x replication)."""
        return self.kpis[self.kpis["group"] == "all"].reset_index(drop=True)


class _BadJob(Exception):
    """A job folder whose results cannot be used (the message says why)."""


def parse_override(text: str, exclude: frozenset[str] | set[str] = NON_CELL_KEYS) -> tuple[str, str] | None:
    """Split a Hydra override ``key=value`` into ``(key, value)``.

    Leading ``+``/``++`` are dropped and a deletion ``~key`` gets the value
    ``"(deleted)"``. Keys that do not define a cell (those in ``exclude``, e.g.
    seed and replications, and ``hydra.*``) give ``None``.
    """
    text = text.strip()
    deleted = text.startswith("~")
    key, _, value = text.lstrip("+~").partition("=")
    key = key.strip()
    if not key or key in exclude or key.startswith("hydra.") or key == "hydra":
        return None
    return key, ("(deleted)" if deleted else value.strip())


def cell_label(overrides: dict[str, str], policy: str) -> str:
    """Readable cell name: the policy, then the other overrides as ``key=value``."""
    rest = [f"{k}={v}" for k, v in overrides.items() if k != "policy" and v != ""]
    return ", ".join([policy, *rest])


def job_folders(sweep_dir: Path) -> list[Path]:
    """The job subfolders of a sweep (those holding ``.hydra/`` or ``job.json``), by number."""
    subs = [p for p in sweep_dir.iterdir() if p.is_dir() and ((p / ".hydra").is_dir() or (p / "job.json").is_file())]

    def key(p: Path) -> tuple[int, int, str]:
        return (0, int(p.name), "") if p.name.isdigit() else (1, 0, p.name)

    return sorted(subs, key=key)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _BadJob(f"unreadable {path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise _BadJob(f"unreadable {path.name}: not a JSON object")
    return data


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """Read a result CSV, refusing a missing, empty, truncated or ragged file."""
    if not path.is_file():
        raise _BadJob(f"missing {path.name}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _BadJob(f"unreadable {path.name}: {exc}") from None
    if not text.strip():
        raise _BadJob(f"empty {path.name}")
    if not text.endswith("\n"):
        raise _BadJob(f"truncated {path.name} (no final newline)")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise _BadJob(f"unparseable {path.name}: {exc}") from None
    header, body = rows[0], [r for r in rows[1:] if r]
    missing = [c for c in required if c not in header]
    if missing:
        raise _BadJob(f"unparseable {path.name}: missing column(s) {', '.join(missing)}")
    if not body:
        raise _BadJob(f"empty {path.name} (header only)")
    for i, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise _BadJob(f"truncated {path.name}: line {i} has {len(r)} fields, header has {len(header)}")
    text_cols = {c: str for c in ("cell", "policy", "group", "name") if c in header}
    try:
        df = pd.read_csv(io.StringIO(text), dtype=text_cols, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError) as exc:
        raise _BadJob(f"unparseable {path.name}: {exc}") from None
    numeric = [c for c in df.columns if c not in text_cols]
    bad = [c for c in numeric if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise _BadJob(f"unparseable {path.name}: non-numeric values in {', '.join(bad[:3])}")
    return df


def _cell_from_hydra(job_dir: Path, exclude: frozenset[str] | set[str]) -> str:
    """Best-effort cell name of a killed job, from ``.hydra/overrides.yaml``."""
    try:
        import yaml

        items = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text(encoding="utf-8"))
        pairs = sorted(p for p in (parse_override(str(o), exclude) for o in items or []) if p)
        return ",".join(f"{k}={v}" for k, v in pairs) or "default"
    except Exception:  # noqa: BLE001 - only used to name a failed job
        return "?"


def _read_job(job_dir: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Read one successful job; raise :class:`_BadJob` when it has no usable results."""
    if not (job_dir / "job.json").is_file():
        raise _BadJob("no result files (job killed or still running?)")
    job = _read_json(job_dir / "job.json")
    if job.get("status") != "ok":
        err = str(job.get("error") or f"status {job.get('status')!r}").splitlines()
        msg = err[0] if err else "failed"
        if (job_dir / "error.txt").is_file():
            msg += f" (traceback in {job_dir.name}/error.txt)"
        raise _BadJob(msg)
    kpis = _read_csv(job_dir / "kpis.csv", META_COLUMNS)
    series = _read_csv(job_dir / "series.csv", SERIES_COLUMNS)
    all_rows = kpis[kpis["group"] == "all"]
    if all_rows.empty:
        raise _BadJob("unparseable kpis.csv: no overall (group 'all') rows")
    reps = job.get("replications")
    if isinstance(reps, int) and reps > 0:
        want = set(range(reps))
        if set(all_rows["replication"].astype(int)) != want:
            raise _BadJob(
                f"truncated kpis.csv: expected replications 0..{reps - 1}, "
                f"found {sorted(set(all_rows['replication'].astype(int)))}"
            )
        if set(series["replication"].astype(int)) != want:
            raise _BadJob(f"truncated series.csv: expected replications 0..{reps - 1}")
    per_rep = kpis.groupby("replication").size()
    if per_rep.nunique() > 1:
        raise _BadJob("truncated kpis.csv: replications have different numbers of rows")
    return job, kpis, series


def _refuse_mixed_sweeps(root: Path, jobs: list[dict[str, Any]]) -> None:
    """Raise :class:`ResultsError` when the jobs come from more than one sweep.

    Each job records the id of the sweep that ran it (``sweep_id`` in ``job.json``);
    the folder's own id is in ``.sweep.json``. Jobs written before ids existed have
    none, and are accepted only in a folder where no job has one.
    """
    try:
        own = json.loads((root / ".sweep.json").read_text(encoding="utf-8")).get("id")
    except (OSError, ValueError, AttributeError):
        own = None
    ids = {j.get("sweep_id") for j in jobs}
    if own is None and len(ids) <= 1:
        return
    ref = own if own is not None else jobs[0].get("sweep_id")
    foreign = [str(j["folder"]) for j in jobs if j.get("sweep_id") != ref]
    if foreign:
        whose = "the folder's own sweep (.sweep.json)" if own is not None else f"job folder {jobs[0]['folder']}"
        raise ResultsError(
            f"{root} mixes results of different sweeps: job folder(s) {', '.join(foreign[:10])} "
            f"were written by another sweep than {whose}; rerun the sweep into an empty folder"
        )


def _refuse_duplicates(kpis: pd.DataFrame) -> None:
    """Raise :class:`ResultsError` when a replication of a cell (same seed) appears in
    more than one job: counting it twice would narrow every interval."""
    overall = kpis[kpis["group"] == "all"]
    per = overall.groupby(["cell", "seed", "replication"])["job"].nunique()
    dup = per[per > 1]
    if not dup.empty:
        cell, seed, rep = dup.index[0]
        jobs = sorted(overall[(overall["cell"] == cell) & (overall["seed"] == seed)]["job"].unique())
        raise ResultsError(
            f"replication {rep} of cell {cell} (seed {seed}) appears in job folders {', '.join(map(str, jobs))}: "
            f"the same run would be counted twice ({len(dup)} duplicated replication(s)); "
            "sweep one value of replications, or seed=... for independent runs"
        )


def gather(sweep_dir: str | Path) -> Gathered:
    """Read every job of a sweep folder.

    Parameters
    ----------
    sweep_dir : a Hydra multirun folder, e.g. ``multirun/2026-11-29/09-40-00-123456``.

    Returns
    -------
    Gathered
        The tidy KPI and series tables of the successful jobs and the failed jobs.

    Raises
    ------
    ResultsError
        When the folder does not exist, is not a sweep folder, or has no successful job.
    """
    root = Path(sweep_dir)
    if not root.exists():
        raise ResultsError(f"no such folder: {root}")
    if not root.is_dir():
        raise ResultsError(f"not a folder: {root}")
    folders = job_folders(root)
    if not folders:
        hint = ""
        if (root / ".hydra").is_dir() or (root / "job.json").is_file():
            hint = "; it looks like a single job folder, pass the sweep folder above it"
        elif any(p.is_dir() and job_folders(p) for p in root.iterdir()):
            hint = "; it holds sweep folders, pass one of them"
        raise ResultsError(f"{root} is not a sweep folder (no job subfolders with .hydra/ or job.json){hint}")

    multirun: dict[str, Any] = {}
    try:
        import yaml

        loaded = yaml.safe_load((root / "multirun.yaml").read_text(encoding="utf-8"))
        multirun = loaded if isinstance(loaded, dict) else {}
    except Exception:  # noqa: BLE001 - multirun.yaml is optional
        multirun = {}
    exclude = set(NON_CELL_KEYS)
    with contextlib.suppress(KeyError, AttributeError, TypeError):
        exclude |= {str(k) for k in multirun["hydra"]["job"]["config"]["override_dirname"]["exclude_keys"] or []}

    failed: list[FailedJob] = []
    stamped_failed: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    kpi_parts: list[pd.DataFrame] = []
    series_parts: list[pd.DataFrame] = []
    overrides_by_job: list[dict[str, str]] = []
    kpi_names: list[str] = []
    for d in folders:
        try:
            job, kpis, series = _read_job(d)
        except _BadJob as exc:
            try:
                stamped = json.loads((d / "job.json").read_text(encoding="utf-8"))
                cell = str(stamped.get("cell") or "?")
            except Exception:  # noqa: BLE001 - only used to name the failed job
                cell = _cell_from_hydra(d, exclude)
            else:
                stamped_failed.append({**stamped, "folder": d.name})
            failed.append(FailedJob(folder=d.name, cell=cell, error=str(exc)))
            continue
        ov = dict(p for p in (parse_override(str(o), exclude) for o in job.get("overrides") or []) if p)
        overrides_by_job.append(ov)
        jobs.append({**job, "folder": d.name})
        kpi_names += [c for c in kpis.columns if c not in META_COLUMNS and c not in kpi_names]
        kpis = kpis.rename(columns={"policy": "policy_name"})
        kpis.insert(0, "job", d.name)
        series.insert(0, "job", d.name)
        series.insert(2, "seed", kpis["seed"].iloc[0])
        kpi_parts.append(kpis)
        series_parts.append(series)

    _refuse_mixed_sweeps(root, [*jobs, *stamped_failed])
    if not kpi_parts:
        detail = "; ".join(f"{f.folder}: {f.error}" for f in failed[:3])
        raise ResultsError(f"no successful results in {root}: all {len(failed)} job(s) failed ({detail})")

    keys = ["policy"]
    for ov in overrides_by_job:
        keys += [k for k in ov if k not in keys]
    for part, ov in zip(kpi_parts, overrides_by_job, strict=True):
        ov.setdefault("policy", str(part["policy_name"].iloc[0]).split("(")[0])
    values = {k: {ov.get(k, "") for ov in overrides_by_job} for k in keys}
    varying = [k for k in keys[1:] if len(values[k]) > 1]
    common = {k: next(iter(v)) for k, v in values.items() if k != "policy" and len(v) == 1 and "" not in v}
    for part, ov in zip(kpi_parts, overrides_by_job, strict=True):
        for k in keys:
            part[k] = ov.get(k, "")
        part["label"] = cell_label({k: ov.get(k, "") for k in varying}, ov["policy"])
    kpis_df = pd.concat(kpi_parts, ignore_index=True)
    # Label clashes (e.g. two cells whose overrides differ only in spelling) fall back to the cell.
    clash = kpis_df.groupby("label")["cell"].nunique()
    dup = kpis_df["label"].isin(clash[clash > 1].index)
    kpis_df.loc[dup, "label"] = kpis_df.loc[dup, "cell"]
    front = ["job", "cell", "label", *keys, "policy_name", "replication", "seed", "group", "name"]
    kpis_df = kpis_df[front + [c for c in kpi_names if c not in front]]

    _refuse_duplicates(kpis_df)
    labels = kpis_df.drop_duplicates("job").set_index("job")["label"]
    series_df = pd.concat(series_parts, ignore_index=True)
    series_df.insert(2, "label", series_df["job"].map(labels))

    return Gathered(
        sweep_dir=root,
        kpis=kpis_df,
        series=series_df,
        failed=failed,
        jobs=jobs,
        override_keys=keys,
        kpi_names=[c for c in kpi_names if c not in front],
        multirun=multirun,
        varying_keys=varying,
        common=common,
    )


def subset(g: Gathered, where: dict[str, str]) -> Gathered:
    """The cells of ``g`` whose overrides equal ``where`` (``{"stress.intensity_effect":
    "0"}``), labelled by the keys that still vary among them."""
    mask = np.ones(len(g.kpis), dtype=bool)
    for k, v in where.items():
        mask &= (g.kpis[k].astype(str) == v).to_numpy()
    kpis = g.kpis[mask].copy()
    varying = [k for k in g.varying_keys if k not in where and kpis[k].astype(str).nunique() > 1]
    kpis["label"] = [cell_label({k: str(r[k]) for k in varying}, str(r["policy"])) for _, r in kpis.iterrows()]
    clash = kpis.groupby("label")["cell"].nunique()
    dup = kpis["label"].isin(clash[clash > 1].index)
    kpis.loc[dup, "label"] = kpis.loc[dup, "cell"]
    folders = set(kpis["job"])
    series = g.series[g.series["job"].isin(folders)].copy()
    if "label" in series:
        series["label"] = series["job"].map(kpis.drop_duplicates("job").set_index("job")["label"])
    return replace(
        g,
        kpis=kpis.reset_index(drop=True),
        series=series.reset_index(drop=True),
        failed=[],
        jobs=[j for j in g.jobs if j.get("folder") in folders],
        varying_keys=varying,
        common={**g.common, **where},
    )


__all__ = ["FailedJob", "Gathered", "cell_label", "gather", "job_folders", "parse_override", "subset"]
