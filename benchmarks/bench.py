"""collectsim performance benchmark: one script, one run, one JSON file.

    python benchmarks/bench.py                         # 10k, 100k, 1M accounts + references + sweep
    python benchmarks/bench.py --quick                 # 10k, 50k and a smaller sweep (under a minute)
    python benchmarks/bench.py --sizes 10000,100000    # chosen sizes
    python benchmarks/bench.py --json out.json         # where the results go (default benchmarks/results.json)
    python benchmarks/bench.py --update-golden         # rewrite benchmarks/golden_10k.json from this run

What it measures (see benchmarks/README.md for the meaning of every figure):

1. the model (policy ``staged``, 180-day horizon, seed 0, replication 0) at each size,
   each run in its own spawned subprocess: wall time of ``collectsim.engine.run``
   (portfolio building included), accounts per second, SimPy events per account,
   collector calls and the child's peak RSS;
2. two references at each size, each in its own subprocess: a day-step NumPy "floor"
   (same portfolio, no actions, 180 vectorised daily steps) and a bare SimPy loop with
   as many events as the model scheduled;
3. a 2-worker ``joblib`` sweep (loky) against the same jobs run one after another;
4. the golden check: the 10k run's overall KPIs against ``benchmarks/golden_10k.json``.

Progress goes to stderr; the table and the targets go to stdout. The exit status is 1
if the golden check fails or a run crashes, else 0 (a missed target does not fail).

This file holds the command line and the orchestration; the children's work lives in
``bench_children.py`` and the golden check and report in ``bench_report.py``. All three
import only the standard library at module level, so the spawned children start from
a small parent (their ``ru_maxrss`` would otherwise start at the parent's peak, which
Linux carries over an ``exec``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench_children import HORIZON_DAYS, POLICY, SEED, in_child, loadavg, log, overrides_for, sweep_job
from bench_report import (
    GOLDEN_N,
    HERE,
    evaluate_targets,
    golden_check,
    kpi_diff,
    machine_info,
    mib,
    print_report,
    source_state,
)

DEFAULT_JSON = HERE / "results.json"

FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 50_000)
# The sweep: (policies, seeds, accounts per job).
FULL_SWEEP = (("staged", "soft_first", "early_escalation", "score_prioritized"), (0, 1), 20_000)
QUICK_SWEEP = (("staged", "soft_first"), (0, 1), 5_000)


# ----------------------------------------------------------------------------- sweep


def _machine_busy_s() -> float | None:
    """CPU-seconds the whole machine has been busy since boot (from /proc/stat)."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(f) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")


def _phase(label: str, fn: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run ``fn()`` (a list of job results); its wall time, the jobs' CPU time and the
    CPU time the rest of the machine used meanwhile (other processes, plus worker
    start-up in a cold parallel phase)."""
    b0, t0 = _machine_busy_s(), time.perf_counter()
    out = fn()
    wall, b1 = time.perf_counter() - t0, _machine_busy_s()
    jobs_cpu = sum(r["cpu_s"] for r in out)
    other = None if b0 is None or b1 is None else max(b1 - b0 - jobs_cpu, 0.0) / wall
    return out, {"wall_s": wall, "jobs_cpu_s": jobs_cpu, "other_cpus": None if other is None else round(other, 2)}


def run_sweep(policies: tuple[str, ...], seeds: tuple[int, ...], n: int) -> dict[str, Any]:
    from joblib import Parallel, delayed

    cells = [(p, s, n) for p in policies for s in seeds]
    load0 = loadavg()
    tree0 = source_state()["tree_sha256"]
    log(f"sweep: {len(cells)} jobs of {n:,} accounts, sequential in this process")
    sweep_job(*cells[0][:2], 1000)  # warm the imports and the Hydra config cache
    seq, p_seq = _phase("sequential", lambda: [sweep_job(*c) for c in cells])
    log(f"sweep: sequential {p_seq['wall_s']:.2f} s; now joblib.Parallel(n_jobs=2, backend='loky'), cold workers")
    par, p_par = _phase("parallel", lambda: Parallel(n_jobs=2, backend="loky")(delayed(sweep_job)(*c) for c in cells))
    log(f"sweep: parallel (cold) {p_par['wall_s']:.2f} s; again with the workers warm")
    warm, p_warm = _phase("warm", lambda: Parallel(n_jobs=2, backend="loky")(delayed(sweep_job)(*c) for c in cells))
    tree1 = source_state()["tree_sha256"]
    diffs = []
    for tag, other in (("", par), (" (warm)", warm)):
        for c, a, b in zip(cells, seq, other, strict=True):
            d = kpi_diff(a["kpis"], b["kpis"])
            if d:
                diffs.append(f"{c[0]}/seed{c[1]}{tag}: {d[:3]}")
    t_seq, t_par, t_warm = p_seq["wall_s"], p_par["wall_s"], p_warm["wall_s"]
    return {
        "jobs": len(cells),
        "accounts_per_job": n,
        "cells": [f"{p}/seed{s}" for p, s, _ in cells],
        "sequential_s": t_seq,
        "parallel_s": t_par,
        "parallel_warm_s": t_warm,
        "speedup": t_seq / t_par,
        "speedup_warm": t_seq / t_warm,
        "phases": {"sequential": p_seq, "parallel": p_par, "parallel_warm": p_warm},
        "loadavg_1min_before_after": [load0, loadavg()],
        "results_equal": not diffs,
        "code_changed_during_sweep": tree0 != tree1,
        "differences": diffs,
    }


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", help="comma-separated portfolio sizes (default 10000,100000,1000000)")
    ap.add_argument("--quick", action="store_true", help="sizes 10k,50k and a 4-job sweep of 5k accounts")
    ap.add_argument(
        "--json", default=str(DEFAULT_JSON), help="where to write the results (default benchmarks/results.json)"
    )
    ap.add_argument("--update-golden", action="store_true", help="rewrite benchmarks/golden_10k.json from this run")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed for one model run (default 1800)")
    ap.add_argument("--no-sweep", action="store_true", help="skip the 2-worker sweep")
    ap.add_argument("--no-profile", action="store_true", help="skip the profiled run of the largest size")
    args = ap.parse_args(argv)

    if args.sizes:
        sizes_list = sorted({int(float(s)) for s in args.sizes.split(",") if s.strip()})
    else:
        sizes_list = list(QUICK_SIZES if args.quick else FULL_SIZES)
    sweep_cfg = QUICK_SWEEP if args.quick else FULL_SWEEP
    # The golden check needs the 10k run: add it (it is cheap) if it was not asked for.
    run_sizes = sorted(set(sizes_list) | {GOLDEN_N})

    t_start = time.perf_counter()
    src0 = source_state()
    results: dict[str, Any] = {
        "machine": machine_info(),
        "source": src0,
        "settings": {
            "policy": POLICY,
            "horizon_days": HORIZON_DAYS,
            "seed": SEED,
            "replication": 0,
            "sizes": sizes_list,
            "quick": args.quick,
            "overrides": {str(n): overrides_for(n) for n in run_sizes},
        },
        "sizes": {},
    }
    failed = False
    log("kernels: compiling from an empty cache, own process ...")
    results["kernels"] = kc = in_child("child_compile", label="compile")
    log(f"kernels: {kc.get('compile_s', float('nan')):.1f} s ({kc.get('path', 'error')})")
    for n in run_sizes:
        entry: dict[str, Any] = {"requested": n in sizes_list}
        log(f"model: {n:,} accounts x {HORIZON_DAYS} days (policy {POLICY}), own process ...")
        m = in_child("child_model", n, timeout=args.timeout, label=f"model {n:,}")
        entry["model"] = m
        if "wall_s" in m:
            log(
                f"model: {n:,} accounts done in {m['wall_s']:.2f} s, {m['simpy_events']:,} SimPy events, "
                f"{m['calls']:,} calls, peak RSS {mib(m['peak_rss_kib']):.0f} MiB"
            )
        else:
            failed = failed or "error" in m
            log(f"model: {n:,} accounts FAILED: {'timeout' if m.get('timeout') else m.get('error', '')[-500:]}")
        if n in sizes_list:
            log(f"floor: NumPy day-step reference at {n:,} accounts ...")
            # The floor runs as many days as the model ran (the stream's days, not the horizon).
            days = int(m.get("days_simulated", HORIZON_DAYS))
            entry["floor"] = fl = in_child("child_floor", n, days, label=f"floor {n:,}")
            if "wall_s" in fl:
                log(f"floor: {fl['wall_s']:.3f} s (build {fl['build_s']:.3f} s, steps {fl['step_s']:.3f} s)")
            else:
                failed = True
                log(f"floor FAILED: {fl.get('error', '')[-500:]}")
            if "simpy_events" in m:
                log(f"simpy: bare loop with {m['simpy_events']:,} events ...")
                entry["simpy"] = sp = in_child(
                    "child_simpy", m["simpy_events"], m["collectors"] + 1, label=f"simpy {n:,}"
                )
                if "wall_s" in sp:
                    log(f"simpy: {sp['wall_s']:.3f} s")
                else:
                    failed = True
        results["sizes"][str(n)] = entry

    loads = [v["model"]["kernel_load_s"] for v in results["sizes"].values() if "kernel_load_s" in v["model"]]
    results["kernels"]["load_s"] = min(loads) if loads else None
    if not args.no_profile:
        big = max(sizes_list)
        log(f"profile: {big:,} accounts under cProfile ...")
        results["profile"] = in_child("child_profile", big, timeout=args.timeout, label=f"profile {big:,}")

    m10 = results["sizes"][str(GOLDEN_N)]["model"]
    if "kpis" in m10:
        results["golden"] = golden_check(m10["kpis"], args.update_golden, src0)
    else:
        results["golden"] = {"status": "ERROR", "diff": ["the 10k run did not finish"]}
    failed = failed or results["golden"]["status"] != "PASS"

    if not args.no_sweep:
        try:
            results["sweep"] = run_sweep(*sweep_cfg)
        except Exception:  # noqa: BLE001
            results["sweep"] = {"error": traceback.format_exc()}
            failed = True
            log("sweep FAILED:\n" + results["sweep"]["error"])
    sweep = results.get("sweep")
    sizes_req = {int(k): v for k, v in results["sizes"].items() if v["requested"]}
    results["targets"] = evaluate_targets(sizes_req, sweep if sweep and "speedup" in sweep else None)
    src1 = source_state()
    results["source"]["changed_during_run"] = src1["tree_sha256"] != src0["tree_sha256"]
    results["source"]["tree_sha256_end"] = src1["tree_sha256"]
    results["total_s"] = time.perf_counter() - t_start

    # Keep the JSON lean: the per-size KPI dicts are only needed for the golden check.
    for v in results["sizes"].values():
        kp = (v.get("model") or {}).pop("kpis", None)
        if kp is not None:
            v["model"]["kpis_selected"] = {
                k: kp.get(k)
                for k in (
                    "recovery_rate",
                    "cure_rate",
                    "collector_utilisation",
                    "calls_per_agent_day",
                    "lawsuits_filed",
                    "backlog_mean",
                )
            }
    results["sizes_printed"] = sorted(sizes_req)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_report({**results, "sizes": {k: v for k, v in results["sizes"].items() if v["requested"]}})
    print(f"\nresults written to {out} (total {results['total_s']:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
