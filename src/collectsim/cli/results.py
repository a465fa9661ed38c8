"""Writing a job's results next to its ``.hydra/`` folder, atomically.

Files (all readable without collectsim):

- ``kpis.csv``: tidy table, one row per replication x group (``all``, each segment,
  each policy arm), one column per KPI;
- ``series.csv``: the daily series, one row per replication x day;
- ``summary.json``: overall KPIs per replication and their means;
- ``job.json``: the cell's overrides, seed, replications, versions and wall time, and
  ``status`` (``ok`` or ``failed`` with the error).

Every file is written to a temporary name and renamed, so a job killed mid-write never
leaves a half-written result file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collectsim.metrics import RunResult

RESULT_FILES = ("kpis.csv", "series.csv", "summary.json", "job.json")


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def kpi_rows(results: Sequence[RunResult], cell: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for res in results:
        for r in res.records():
            rows.append({**cell, "policy": res.info.get("policy"), **r})
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if _clean(r.get(k)) is None else _fmt(r.get(k))) for k in cols})
    return buf.getvalue()


def _fmt(v: Any) -> Any:
    # repr() of a float round-trips exactly, so files compare byte for byte.
    return repr(v) if isinstance(v, float) else v


def write_results(out_dir: Path, results: Sequence[RunResult], job: dict[str, Any]) -> None:
    """Write the four result files of a job into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cell = {"cell": job.get("cell", "")}
    atomic_write(out_dir / "kpis.csv", to_csv(kpi_rows(results, cell)))
    series_rows = []
    for res in results:
        n = len(res.series["day"])
        for i in range(n):
            series_rows.append(
                {**cell, "replication": res.info["replication"], **{k: float(v[i]) for k, v in res.series.items()}}
            )
    atomic_write(out_dir / "series.csv", to_csv(series_rows))
    summary = {
        "policy": results[0].info.get("policy") if results else None,
        "replications": [{k: _clean(v) for k, v in r.kpis.items()} for r in results],
        "mean": {k: _clean(sum(r.kpis[k] for r in results) / len(results)) for k in results[0].kpis} if results else {},
    }
    atomic_write(out_dir / "summary.json", json.dumps(summary, indent=2, sort_keys=True))
    warnings = sorted({w for r in results for w in getattr(r, "warnings", [])})
    write_job(out_dir, {**job, "status": "ok", **({"warnings": warnings} if warnings else {})})


def write_job(out_dir: Path, job: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "job.json", json.dumps(job, indent=2, sort_keys=True, default=str))


def versions() -> dict[str, str]:
    import hydra
    import numpy
    import scipy
    import simpy

    import collectsim

    return {
        "collectsim": collectsim.__version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "simpy": simpy.__version__,
        "hydra": hydra.__version__,
    }
