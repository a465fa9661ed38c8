"""Golden KPI check, target evaluation, the printed report, and machine, version and source information."""

# Standard library only at module level: bench.py imports this module before it spawns
# the measured children (see bench_children).
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench_children import HORIZON_DAYS, POLICY, SEED, log, overrides_for

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = HERE / "golden_10k.json"
GOLDEN_N = 10_000

TARGETS_TEXT = {
    "wall_1m": "1M accounts: wall <= 30 s",
    "rss_1m": "1M accounts: peak RSS <= 1 GiB (1024 MiB)",
    "wall_100k": "100k accounts: wall <= 3 s",
    "scaling": "time per account at 1M <= 1.2x that at 10k",
    "vs_floor_1m": "model at 1M <= 12x the NumPy floor (same days)",
    "sweep": "2-worker sweep speed-up >= 1.8x",
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
    put("wall_1m", m1["wall_s"] if m1 else None, 30.0, "s", na1)
    put("rss_1m", mib(m1["peak_rss_kib"]) if m1 else None, 1024.0, "MiB", na1)
    put(
        "wall_100k",
        m100["wall_s"] if m100 else None,
        3.0,
        "s",
        "100k not run" if 100_000 not in sizes else "100k did not finish",
    )
    ratio = (m1["wall_s"] / 1e6) / (m10["wall_s"] / 1e4) if (m1 and m10) else None
    put("scaling", ratio, 1.2, "x", na1 or "10k missing")
    fl = sizes.get(1_000_000, {}).get("floor") or {}
    put(
        "vs_floor_1m",
        m1["wall_s"] / fl["wall_s"] if (m1 and "wall_s" in fl) else None,
        12.0,
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
        f"scenario: policy={POLICY}, {HORIZON_DAYS} days, seed {SEED}, replication 0, default stream, 1 agent/10k accounts, "
        f"3 lawyers and 50k dialler lines per 40k accounts\n"
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
    comp = results.get("kernels") or {}
    if comp:
        print(
            f"\ncompiled kernels ({comp.get('path', '?')}): first compile {fmt(comp.get('compile_s', math.nan), '.1f')} s "
            f"(fresh cache, own process), load from the cache {fmt(comp.get('load_s', math.nan), '.2f')} s; "
            "neither is in the wall times above (each child loads the cache before its run)"
        )
    prof = results.get("profile")
    if prof and prof.get("rows"):
        print(
            f"\nprofile of the {prof['n']:,}-account run (cProfile, own time; {prof['total_s']:.1f} s under the profiler):"
        )
        for row in prof["rows"]:
            print(f"  {row}")
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
