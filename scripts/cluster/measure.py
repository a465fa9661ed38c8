"""Time one sweep through joblib, Ray and Slurm and print the table of docs/scaling.md.

    python scripts/cluster/measure.py --launchers joblib ray_cluster slurm --out /tmp/measure

Ray and Slurm must already be up: a Ray head this machine can join (RAY_ADDRESS, or
`auto`) and a Slurm cluster (SLURM_CONF; COLLECTSIM_SLURM_PARTITION if its partition is
not the default). Each launcher runs the same cells into its own folder under --out; the
result files are compared byte for byte with the first launcher's.

Columns: wall is the whole `collectsim -m` command, report included; job time is the sum
of the jobs' own simulation time (``wall_seconds`` in job.json); overhead per job is
``(slots x wall - job time) / jobs``, the core-seconds a job costs beyond its simulation
(process start, imports, scheduling, result transfer, its share of the report).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

EXE = str(Path(sys.executable).with_name("collectsim"))
CELLS = [
    "policy=soft_first,staged,early_escalation",
    "collectors.size=10,15,20,25",
]
RESULT_FILES = ("kpis.csv", "series.csv", "summary.json")


def run(launcher: str, sweep: Path, replications: int, accounts: int) -> dict[str, float]:
    args = [EXE, "-m", f"hydra/launcher={launcher}", *CELLS, f"replications={replications}"]
    args += [f"portfolio.n_accounts={accounts}", "publish_dir=null", f"hydra.sweep.dir={sweep}"]
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "HYDRA_FULL_ERROR": "0"})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{launcher} sweep failed:\n{proc.stderr[-3000:]}")
    jobs = [json.loads(p.read_text()) for p in sweep.glob("*/job.json")]
    if not jobs or any(j["status"] != "ok" for j in jobs):
        raise SystemExit(f"{launcher}: a job failed or none ran in {sweep}")
    return {"wall": wall, "job_time": sum(float(j["wall_seconds"]) for j in jobs), "jobs": len(jobs)}


def files(sweep: Path) -> dict[tuple[str, str], bytes]:
    out = {}
    for p in sweep.glob("*/job.json"):
        cell = json.loads(p.read_text())["cell"]
        out.update({(cell, n): (p.parent / n).read_bytes() for n in RESULT_FILES})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--launchers", nargs="+", default=["joblib", "ray_cluster", "slurm"])
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--slots", type=int, default=os.cpu_count() or 1, help="cores the jobs share")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    rows, reference = [], None
    for launcher in a.launchers:
        sweep = a.out / launcher
        r = run(launcher, sweep, a.replications, a.accounts)
        got = files(sweep)
        same = reference is None or got == reference
        reference = reference or got
        overhead = (a.slots * r["wall"] - r["job_time"]) / r["jobs"]
        rows.append(
            f"| {launcher} | {r['jobs']:.0f} | {r['wall']:.1f} | {r['job_time']:.1f} | {overhead:.1f} | "
            f"{'yes' if same else 'NO'} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    print(f"\n{' x '.join(CELLS)}, {a.replications} replications, {a.accounts} accounts, {a.slots} slots\n")
    print("| launcher | jobs | wall (s) | job time (s) | overhead per job (core-s) | same files as first |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    print("\n".join(rows))
    return 0 if all(r.endswith("yes |") for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
