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

Only the standard library is imported at module level, so the spawned children start
from a small parent (their ``ru_maxrss`` would otherwise start at the parent's peak,
which Linux carries over an ``exec``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import math
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = HERE / "golden_10k.json"
DEFAULT_JSON = HERE / "results.json"

HORIZON_DAYS = 180
POLICY = "staged"
SEED = 0
GOLDEN_N = 10_000

FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 50_000)
# The sweep: (policies, seeds, accounts per job).
FULL_SWEEP = (("staged", "soft_first", "early_escalation", "score_prioritized"), (0, 1), 20_000)
QUICK_SWEEP = (("staged", "soft_first"), (0, 1), 5_000)

TARGETS_TEXT = {
    "wall_1m": "1M accounts: wall <= 60 s",
    "rss_1m": "1M accounts: peak RSS <= 1 GiB (1024 MiB)",
    "wall_100k": "100k accounts: wall <= 5 s",
    "scaling": "time per account at 1M <= 1.5x that at 10k",
    "vs_floor_1m": "model at 1M <= 30x the NumPy day-step floor",
    "sweep": "2-worker sweep speed-up >= 1.8x",
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- scenario


def overrides_for(n: int, policy: str = POLICY, seed: int = SEED) -> list[str]:
    """Scale the capacities with the portfolio: 1 agent per 1,000 accounts, 3 lawyers and
    50,000 dialler lines per 20,000 accounts (the defaults are for 20,000)."""
    return [
        f"policy={policy}",
        f"seed={seed}",
        "replications=1",
        f"simulation.horizon_days={HORIZON_DAYS}",
        f"portfolio.n_accounts={n}",
        f"collectors.size={max(1, n // 1000)}",
        f"channels.lawsuit.team_size={max(1, 3 * n // 20_000)}",
        f"channels.voice_lines_per_day={max(1, 50_000 * n // 20_000)}",
    ]


# ----------------------------------------------------------------------------- child helpers


def _rss_now_kib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in KiB, from /proc/self/status (0 if unavailable)."""
    rss = hwm = 0
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def _peak(extra: dict[str, Any]) -> dict[str, Any]:
    import resource

    _, hwm = _rss_now_kib()
    extra["peak_rss_kib"] = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
    extra["vm_hwm_kib"] = hwm
    return extra


def child_model(n: int) -> dict[str, Any]:
    """One model run at ``n`` accounts (inside a fresh subprocess)."""
    import collectsim
    import collectsim.engine

    sc = collectsim.load_scenario(overrides_for(n))
    rss_before, _ = _rss_now_kib()
    c0, t0 = time.process_time(), time.perf_counter()
    res = collectsim.engine.run(sc, 0)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    info = res.info
    return _peak(
        {
            "n": n,
            "wall_s": wall,
            "cpu_s": cpu,
            "engine_wall_s": float(info["wall_seconds"]),
            "simpy_events": int(info["simpy_events"]),
            "calls": int(info["calls"]),
            "days_simulated": int(info["days_simulated"]),
            "end_time": float(info["end_time"]),
            "accounts_total": int(info["accounts_total"]),
            "collectors": sc.collectors.size,
            "lawyers": sc.channels.lawsuit.team_size,
            "voice_lines_per_day": sc.channels.voice_lines_per_day,
            "rss_before_run_kib": rss_before,
            "kpis": res.kpis,
        }
    )


def child_floor(n: int, days: int = HORIZON_DAYS) -> dict[str, Any]:
    """The NumPy day-step floor: the model's portfolio, no actions, ``days`` vectorised
    daily steps drawing repayments from a per-account daily hazard
    ``floor + excess * exp(-kappa * d)`` with ``floor = floor_rate * (ab*w)**2`` and
    ``excess = initial_excess * ab * w`` (the intensity model's defaults), paying a
    Beta fraction or the full balance, accruing contract + penalty interest and keeping
    open flags and the daily totals."""
    import numpy as np

    import collectsim
    from collectsim.portfolio import build_portfolio
    from collectsim.random_streams import RandomStreams

    sc = collectsim.load_scenario(overrides_for(n))
    bp = dict(sc.behaviour)
    floor_rate = float(bp.get("floor_rate", 0.02))
    initial_excess = float(bp.get("initial_excess", 0.5))
    kappa = float(bp.get("kappa", 0.1))
    fa, fb = float(bp.get("fraction_a", 2.0)), float(bp.get("fraction_b", 2.0))
    full_base = float(bp.get("full_payoff_base", 0.7))
    full_exp = float(bp.get("full_payoff_ability_exp", 0.5))
    rss_before, _ = _rss_now_kib()
    c0, t0 = time.process_time(), time.perf_counter()
    pf = build_portfolio(sc.portfolio, RandomStreams(0, 0))
    t_build = time.perf_counter() - t0
    rng = np.random.default_rng(12345)
    aw = pf.ability * pf.willingness
    floor = floor_rate * aw**2
    excess = initial_excess * aw
    p_full = full_base * pf.ability**full_exp
    growth = pf.daily_rate * (1.0 + sc.portfolio.penalty_multiplier)
    balance = pf.principal.copy()
    collected = np.zeros(pf.n)
    interest = np.zeros(pf.n)
    is_open = np.ones(pf.n, dtype=bool)
    series_collected, series_outstanding, series_open = [], [], []
    for d in range(days):
        o = np.flatnonzero(is_open)
        hazard = floor[o] + excess[o] * math.exp(-kappa * d)
        pays = o[rng.random(o.size) < -np.expm1(-hazard)]
        full = rng.random(pays.size) < p_full[pays]
        frac = np.where(full, 1.0, rng.beta(fa, fb, size=pays.size))
        amount = frac * balance[pays]
        balance[pays] -= amount
        collected[pays] += amount
        is_open[pays[full]] = False
        balance[pays[full]] = 0.0
        o = o[is_open[o]]
        inc = balance[o] * growth[o]
        balance[o] += inc
        interest[o] += inc
        series_collected.append(float(collected.sum()))
        series_outstanding.append(float(balance.sum()))
        series_open.append(int(o.size))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return _peak(
        {
            "n": n,
            "days": days,
            "wall_s": wall,
            "cpu_s": cpu,
            "build_s": t_build,
            "step_s": wall - t_build,
            "rss_before_run_kib": rss_before,
            "open_at_end": int(is_open.sum()),
            "recovery_rate": float(collected.sum() / pf.principal.sum()) if pf.n else math.nan,
        }
    )


def child_simpy(n_events: int, n_procs: int) -> dict[str, Any]:
    """A bare SimPy loop scheduling ``n_events`` events (``n_procs`` processes yielding
    ``env.timeout``; every process also costs its Initialize event and its own
    termination event, which are counted)."""
    import simpy

    n_procs = max(1, min(n_procs, max(n_events // 3, 1)))
    timeouts = max(n_events - 2 * n_procs, 0)
    per, extra = divmod(timeouts, n_procs)

    def proc(env: simpy.Environment, k: int, count: int):  # noqa: ANN202
        # Different small delays so the heap really holds n_procs interleaved events.
        dt = 1.0 / 1440.0 * (1.0 + (k % 7) * 0.1)
        for _ in range(count):
            yield env.timeout(dt)

    env = simpy.Environment()
    c0, t0 = time.process_time(), time.perf_counter()
    for k in range(n_procs):
        env.process(proc(env, k, per + (1 if k < extra else 0)))
    env.run()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    scheduled = int(next(env._eid))  # noqa: SLF001 - same counter the model's info uses
    return _peak({"target_events": n_events, "events": scheduled, "procs": n_procs, "wall_s": wall, "cpu_s": cpu})


def _child_entry(conn: Any, func_name: str, args: tuple[Any, ...]) -> None:
    try:
        out = globals()[func_name](*args)
        conn.send(("ok", out))
    except BaseException:  # noqa: BLE001 - report anything to the parent
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def in_child(func_name: str, *args: Any, timeout: float | None = None, label: str = "") -> dict[str, Any]:
    """Run ``func_name(*args)`` in a fresh spawned process; return its dict, or a dict
    with ``error`` (crash) or ``timeout`` set."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child_entry, args=(child, func_name, args), name=f"bench-{func_name}")
    load0 = _loadavg()
    t0 = time.perf_counter()
    p.start()
    child.close()
    result: dict[str, Any] | None = None
    next_note = 30.0
    while True:
        elapsed = time.perf_counter() - t0
        if timeout is not None and elapsed > timeout:
            log(f"{label}: over the {timeout:.0f} s limit, stopping it")
            p.terminate()
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join()
            return {"timeout": True, "elapsed_s": elapsed}
        if parent.poll(1.0):
            try:
                status, payload = parent.recv()
            except EOFError:
                status, payload = "error", f"child exited with code {p.exitcode} without a result"
            result = payload if status == "ok" else {"error": payload}
            break
        if not p.is_alive() and not parent.poll(0):
            result = {"error": f"child exited with code {p.exitcode} without a result"}
            break
        if elapsed >= next_note:
            log(f"{label}: still running, {elapsed:.0f} s")
            next_note += 30.0
    p.join()
    result["process_s"] = time.perf_counter() - t0
    result["loadavg_1min_before_after"] = [load0, _loadavg()]
    return result


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


# ----------------------------------------------------------------------------- sweep


def sweep_job(policy: str, seed: int, n: int) -> dict[str, Any]:
    """One sweep cell: load the scenario and run it; the KPIs and the job's CPU time."""
    import collectsim

    c0 = time.process_time()
    sc = collectsim.load_scenario(overrides_for(n, policy=policy, seed=seed))
    kpis = collectsim.run(sc, 0).kpis
    return {"kpis": kpis, "cpu_s": time.process_time() - c0}


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
    load0 = _loadavg()
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
        "loadavg_1min_before_after": [load0, _loadavg()],
        "results_equal": not diffs,
        "code_changed_during_sweep": tree0 != tree1,
        "differences": diffs,
    }


# ----------------------------------------------------------------------------- golden


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def kpi_diff(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Human-readable differences (exact equality, NaN == NaN), in key order."""
    out = []
    for k in expected:
        if k not in got:
            out.append(f"{k}: missing (expected {expected[k]!r})")
        elif not _same(expected[k], got[k]):
            out.append(f"{k}: expected {expected[k]!r}, got {got[k]!r}")
    out += [f"{k}: unexpected key (got {got[k]!r})" for k in got if k not in expected]
    return out


def json_roundtrip(d: dict[str, Any]) -> dict[str, Any]:
    """The values exactly as they come back from the golden file (json writes floats
    with repr, which round-trips; NaN is written as the non-standard token NaN)."""
    return json.loads(json.dumps(d))


def golden_check(kpis: dict[str, Any], update: bool, source: dict[str, Any] | None = None) -> dict[str, Any]:
    got = json_roundtrip(kpis)
    if update:
        GOLDEN.write_text(
            json.dumps(
                {
                    "about": "Overall KPIs of the benchmark's 10k run (bench.py overrides below, replication 0). "
                    "Regenerate with: python benchmarks/bench.py --update-golden",
                    "overrides": overrides_for(GOLDEN_N),
                    "kpis": got,
                    "written": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                    "source": source or source_state(),
                    "versions": versions(),
                },
                indent=2,
            )
            + "\n"
        )
        log(f"golden: wrote {GOLDEN.relative_to(ROOT)}")
    if not GOLDEN.is_file():
        return {"status": "MISSING", "diff": [f"{GOLDEN} does not exist; run with --update-golden"]}
    stored = json.loads(GOLDEN.read_text())
    diff = kpi_diff(stored["kpis"], got)
    return {"status": "PASS" if not diff else "FAIL", "diff": diff, "updated": update, "n_keys": len(stored["kpis"])}


# ----------------------------------------------------------------------------- machine info


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("numpy", "scipy", "simpy", "joblib", "collectsim"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "?"
    return out


def machine_info() -> dict[str, Any]:
    mem_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "mem_total_mib": round(mem_kib / 1024, 1) if mem_kib else None,
        "versions": versions(),
        "env": {
            k: os.environ[k]
            for k in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
            if k in os.environ
        },
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def source_state() -> dict[str, Any]:
    """Which code was measured: the commit, whether src/ and conf/ differ from it, and a
    hash of their current contents (they may change under a running benchmark)."""
    h = hashlib.sha256()
    for base in ("src", "conf"):
        for p in sorted((ROOT / base).rglob("*")):
            if p.is_file() and p.suffix in (".py", ".yaml") and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(ROOT)).encode())
                h.update(p.read_bytes())
    out: dict[str, Any] = {"tree_sha256": h.hexdigest()[:16]}
    try:
        out["commit"] = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "conf"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        out["uncommitted"] = dirty
    except (OSError, subprocess.CalledProcessError):
        pass
    return out


# ----------------------------------------------------------------------------- report


def mib(kib: int | None) -> float:
    return kib / 1024.0 if kib else math.nan


def fmt(x: Any, spec: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(x, spec)


def evaluate_targets(sizes: dict[int, dict[str, Any]], sweep: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    def ok(n: int) -> dict[str, Any] | None:
        r = sizes.get(n, {}).get("model")
        return r if r and "wall_s" in r else None

    t: dict[str, dict[str, Any]] = {}

    def put(key: str, value: float | None, limit: float, unit: str, why_na: str = "not run") -> None:
        if value is None or math.isnan(value):
            t[key] = {"target": TARGETS_TEXT[key], "value": None, "limit": limit, "status": "n/a", "note": why_na}
        else:
            t[key] = {
                "target": TARGETS_TEXT[key],
                "value": value,
                "limit": limit,
                "unit": unit,
                "status": "PASS" if value <= limit else "MISS",
            }

    m1, m100, m10 = ok(1_000_000), ok(100_000), ok(10_000)
    na1 = "1M not run" if 1_000_000 not in sizes else ("1M did not finish" if m1 is None else "")
    put("wall_1m", m1["wall_s"] if m1 else None, 60.0, "s", na1)
    put("rss_1m", mib(m1["peak_rss_kib"]) if m1 else None, 1024.0, "MiB", na1)
    put(
        "wall_100k",
        m100["wall_s"] if m100 else None,
        5.0,
        "s",
        "100k not run" if 100_000 not in sizes else "100k did not finish",
    )
    ratio = (m1["wall_s"] / 1e6) / (m10["wall_s"] / 1e4) if (m1 and m10) else None
    put("scaling", ratio, 1.5, "x", na1 or "10k missing")
    fl = sizes.get(1_000_000, {}).get("floor") or {}
    put(
        "vs_floor_1m",
        m1["wall_s"] / fl["wall_s"] if (m1 and "wall_s" in fl) else None,
        30.0,
        "x",
        na1 or "floor missing",
    )
    if sweep and "speedup" in sweep:
        v = sweep["speedup"]
        t["sweep"] = {
            "target": TARGETS_TEXT["sweep"],
            "value": v,
            "limit": 1.8,
            "unit": "x",
            "status": "PASS" if v >= 1.8 else "MISS",
        }
    else:
        t["sweep"] = {
            "target": TARGETS_TEXT["sweep"],
            "value": None,
            "limit": 1.8,
            "status": "n/a",
            "note": "sweep not run",
        }
    return t


def print_report(results: dict[str, Any]) -> None:
    sizes: dict[int, dict[str, Any]] = {int(k): v for k, v in results["sizes"].items()}
    mi = results["machine"]
    print(
        f"\ncollectsim benchmark  {mi['date']}  {mi['platform']}  cpus={mi['cpu_count']}  mem={mi['mem_total_mib']} MiB  "
        f"python {mi['versions']['python']}  numpy {mi['versions']['numpy']}  simpy {mi['versions']['simpy']}"
    )
    src = results["source"]
    print(
        f"code: commit {src.get('commit', '?')}  tree {src['tree_sha256']}"
        + (
            f"  (uncommitted changes in src/conf: {len(src.get('uncommitted', []))} files)"
            if src.get("uncommitted")
            else ""
        )
    )
    print(
        f"scenario: policy={POLICY}, {HORIZON_DAYS} days, seed {SEED}, replication 0, 1 agent/1k accounts, "
        f"3 lawyers and 50k dialler lines per 20k accounts\n"
    )
    hdr = (
        f"{'accounts':>10} {'wall s':>8} {'accounts/s':>11} {'events/acct':>11} {'calls':>10} {'peak RSS MB':>11} "
        f"{'x NumPy floor':>13} {'x bare SimPy':>12} {'floor s':>8} {'SimPy s':>8} {'cpu/wall':>8}"
    )
    print(hdr)
    print("-" * len(hdr))
    for n in sorted(sizes):
        r = sizes[n]
        m = r.get("model") or {}
        if "wall_s" not in m:
            why = f"TIMEOUT after {m.get('elapsed_s', math.nan):.0f} s" if m.get("timeout") else "ERROR (see JSON)"
            print(f"{n:>10,} {why}")
            continue
        fl, sp = r.get("floor") or {}, r.get("simpy") or {}
        x_floor = m["wall_s"] / fl["wall_s"] if "wall_s" in fl else math.nan
        x_simpy = m["wall_s"] / sp["wall_s"] if "wall_s" in sp else math.nan
        print(
            f"{n:>10,} {m['wall_s']:>8.2f} {n / m['wall_s']:>11,.0f} {m['simpy_events'] / n:>11.2f} {m['calls']:>10,} "
            f"{mib(m['peak_rss_kib']):>11.0f} {fmt(x_floor, '>13.1f')} {fmt(x_simpy, '>12.1f')} "
            f"{fmt(fl.get('wall_s', math.nan), '>8.3f')} {fmt(sp.get('wall_s', math.nan), '>8.3f')} "
            f"{fmt(m.get('cpu_s', math.nan) / m['wall_s'], '>8.2f')}"
        )
    print("\n  wall s: collectsim.engine.run (portfolio building included), in its own spawned process")
    print(
        "  peak RSS MB: ru_maxrss of that process (MiB; includes the interpreter and imports, about "
        f"{_baseline_mib(sizes):.0f} MiB before the run)"
    )
    print("  x NumPy floor / x bare SimPy: model wall / reference wall at the same size")
    print("  cpu/wall: the model child's CPU time / wall time (well under 1: the machine was busy)")
    sw = results.get("sweep")
    if sw:
        print(f"\nsweep: {sw['jobs']} jobs x {sw['accounts_per_job']:,} accounts ({', '.join(sw['cells'])})")
        print(
            f"  sequential {sw['sequential_s']:.2f} s, joblib loky n_jobs=2 {sw['parallel_s']:.2f} s "
            f"-> speed-up {sw['speedup']:.2f}x (warm workers: {sw['parallel_warm_s']:.2f} s, {sw['speedup_warm']:.2f}x)"
        )
        eq = "yes" if sw["results_equal"] else "NO"
        if not sw["results_equal"] and sw.get("code_changed_during_sweep"):
            eq += " (but src/ or conf/ changed during the sweep, so the jobs ran different code: inconclusive)"
        print(f"  parallel KPIs equal sequential: {eq}")
        ph = sw.get("phases", {})
        print(
            "  other CPU use during the phases (CPUs; cold parallel includes worker start-up): "
            + ", ".join(f"{k} {v.get('other_cpus')}" for k, v in ph.items())
        )
        for d in sw["differences"][:5]:
            print(f"    {d}")
    g = results["golden"]
    print(
        f"\ngolden check (10k KPIs vs {GOLDEN.relative_to(ROOT)}): {g['status']}"
        + (" (just rewritten)" if g.get("updated") else "")
    )
    for d in g.get("diff", [])[:8]:
        print(f"    {d}")
    if len(g.get("diff", [])) > 8:
        print(f"    ... {len(g['diff']) - 8} more")
    print("\ntargets:")
    for t in results["targets"].values():
        val = "-" if t["value"] is None else f"{t['value']:.3g} {t.get('unit', '')}".strip()
        note = f"  ({t['note']})" if t.get("note") else ""
        print(f"  {t['status']:<5} {t['target']:<48} measured {val}{note}")
    busy = _busy_notes(results)
    if busy:
        print("\nWARNING: the machine looked busy; times may be inflated:")
        for b in busy:
            print(f"  {b}")
    if results["source"].get("changed_during_run"):
        print("\nWARNING: src/ or conf/ changed while the benchmark ran; the sizes may have measured different code.")


def _busy_notes(results: dict[str, Any]) -> list[str]:
    notes = []
    ncpu = results["machine"].get("cpus_usable") or results["machine"].get("cpu_count") or 1
    for n, r in sorted(((int(k), v) for k, v in results["sizes"].items())):
        m = r.get("model") or {}
        if "cpu_s" in m and m["wall_s"] > 1.0 and m["cpu_s"] / m["wall_s"] < 0.9:
            notes.append(
                f"model {n:,}: cpu/wall {m['cpu_s'] / m['wall_s']:.2f}, "
                f"1-min load average before/after {m.get('loadavg_1min_before_after')}"
            )
    sw = results.get("sweep") or {}
    for k in ("sequential", "parallel_warm"):
        o = (sw.get("phases") or {}).get(k, {}).get("other_cpus")
        if o is not None and o > 0.25:
            notes.append(f"sweep ({k}): other processes used {o:.2f} CPUs (of {ncpu}) while it ran")
    return notes


def _baseline_mib(sizes: dict[int, dict[str, Any]]) -> float:
    vals = [
        mib(v["model"]["rss_before_run_kib"])
        for v in sizes.values()
        if v.get("model") and "rss_before_run_kib" in v["model"]
    ]
    return min(vals) if vals else math.nan


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
            entry["floor"] = fl = in_child("child_floor", n, label=f"floor {n:,}")
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
