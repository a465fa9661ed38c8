"""Work done in the benchmark's spawned processes (model, NumPy floor, bare SimPy, sweep job) and their launcher."""

# Standard library only at module level: the parent imports this module before it
# spawns the children, and a child's ru_maxrss starts at its parent's peak. collectsim,
# NumPy and SimPy are imported inside the functions that run in the children.
from __future__ import annotations

import math
import multiprocessing as mp
import os
import sys
import time
import traceback
from typing import Any

# The scenario every run uses (see benchmarks/README.md).
HORIZON_DAYS = 180
POLICY = "staged"
SEED = 0


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- scenario


def overrides_for(n: int, policy: str = POLICY, seed: int = SEED) -> list[str]:
    """Scale the capacities with the portfolio as the defaults have them for 40,000
    accounts: 4 agents (1 per 10,000), 3 lawyers and 50,000 dialler lines."""
    return [
        f"policy={policy}",
        f"seed={seed}",
        "replications=1",
        f"simulation.horizon_days={HORIZON_DAYS}",
        f"portfolio.n_accounts={n}",
        f"collectors.size={max(1, round(n / 10_000))}",
        f"channels.lawsuit.team_size={max(1, 3 * n // 40_000)}",
        f"channels.voice_lines_per_day={max(1, 50_000 * n // 40_000)}",
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
    """One model run at ``n`` accounts (inside a fresh subprocess). The compiled
    kernels are loaded from Numba's cache first (timed apart: ``kernel_load_s``)."""
    import collectsim
    import collectsim.engine
    from collectsim.compiled_team import warm

    sc = collectsim.load_scenario(overrides_for(n))
    kernel_load = warm()
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
            "kernel_load_s": kernel_load,
            "kpis": res.kpis,
        }
    )


def child_compile() -> dict[str, Any]:
    """Compile the kernels from nothing (a fresh, empty ``NUMBA_CACHE_DIR``), as the
    first run on a fresh clone does, then load them from that cache in the same way
    a second process would."""
    import shutil
    import tempfile

    tmp = tempfile.mkdtemp(prefix="collectsim-numba-")
    os.environ["NUMBA_CACHE_DIR"] = tmp  # before Numba is imported
    try:
        from collectsim import collectors
        from collectsim.compiled_team import warm

        return {"compile_s": warm(), "path": collectors.agent_path(), "cache_dir": tmp}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def child_profile(n: int, top: int = 15) -> dict[str, Any]:
    """The model run at ``n`` accounts under cProfile: the ``top`` functions by own time."""
    import cProfile
    import pstats

    import collectsim
    import collectsim.engine
    from collectsim.compiled_team import warm

    sc = collectsim.load_scenario(overrides_for(n))
    warm()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    collectsim.engine.run(sc, 0)
    prof.disable()
    total = time.perf_counter() - t0
    st = pstats.Stats(prof)
    rows = []
    for (file, line, fn), (_, ncalls, tottime, cumtime, _) in sorted(
        st.stats.items(),
        key=lambda kv: kv[1][2],
        reverse=True,  # type: ignore[attr-defined]
    )[:top]:
        where = f"{file.rsplit('site-packages/', 1)[-1].rsplit('src/', 1)[-1]}:{line}"
        rows.append(
            f"{100 * tottime / total:5.1f}%  {tottime:7.2f} s own  {cumtime:7.2f} s cum  {ncalls:>9,}  {fn}  ({where})"
        )
    return {"n": n, "total_s": total, "rows": rows}


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


# ----------------------------------------------------------------------------- spawning


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
    load0 = loadavg()
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
    result["loadavg_1min_before_after"] = [load0, loadavg()]
    return result


def loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def sweep_job(policy: str, seed: int, n: int) -> dict[str, Any]:
    """One sweep cell: load the scenario and run it; the KPIs and the job's CPU time."""
    import collectsim

    c0 = time.process_time()
    sc = collectsim.load_scenario(overrides_for(n, policy=policy, seed=seed))
    kpis = collectsim.run(sc, 0).kpis
    return {"kpis": kpis, "cpu_s": time.process_time() - c0}
