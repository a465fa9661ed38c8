"""Dump, then compare, the results of the comparison scenarios: the evidence that a
change to the compiled code (the agents' working day, the models' and the ledger's
steps) or to the Python and NumPy path gives the same answers to the digit.

    python benchmarks/compare_paths.py dump out.json            # the path in force
    COLLECTSIM_KERNELS=0 python benchmarks/compare_paths.py dump py.json   # Python/NumPy path
    python benchmarks/compare_paths.py check a.json b.json      # exit 1 on any difference

Per scenario the dump holds the overall KPIs, the number of collector calls and SimPy
events, the daily series and a SHA-256 of the full event log (every contact: account,
time, action, outcome, agent, minutes, stress, sequence number), so "identical" means
the same calls in the same order with the same outcomes, not only the same totals.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from typing import Any

#: name -> Hydra overrides. The set used for the agenda change (docs/performance.md),
#: plus the third-party locate exception.
SCENARIOS: dict[str, list[str]] = {
    "staged_10k": [
        "policy=staged",
        "portfolio.n_accounts=10000",
        "collectors.size=1",
        "simulation.horizon_days=180",
        "channels.lawsuit.team_size=1",
        "channels.voice_lines_per_day=12500",
    ],
    "pressure_none": ["policy=pressure", "compliance=none", "portfolio.n_accounts=6000", "collectors.size=1"],
    "pressure_china_2025": [
        "policy=pressure",
        "compliance=china_2025",
        "portfolio.n_accounts=6000",
        "collectors.size=1",
    ],
    "soft_first_reg_f": ["policy=soft_first", "compliance=reg_f", "portfolio.n_accounts=6000", "collectors.size=1"],
    "mmc_round_the_clock": [
        "policy=staged",
        "portfolio.n_accounts=6000",
        "collectors.size=1",
        "compliance=none",
        "collectors.shift_start_hour=0.0",
        "collectors.shift_end_hour=24.0",
        "collectors.break_minutes=0",
    ],
    "shift_from_midnight": [
        "policy=staged",
        "portfolio.n_accounts=6000",
        "collectors.size=2",
        "compliance=none",
        "collectors.shift_start_hour=0.0",
        "collectors.shift_end_hour=12.0",
    ],
    "backlog_drop": ["policy=pressure", "portfolio.n_accounts=12000", "collectors.size=1", "collectors.backlog=drop"],
    "cohort": ["policy=staged", "portfolio.n_accounts=6000", "portfolio.arrival=cohort", "collectors.size=1"],
    "third_party_locate": [
        "policy=pressure",
        "compliance=china_2025_third_party",
        "portfolio.n_accounts=6000",
        "collectors.size=1",
    ],
    "window_unenforced_reg_f": [
        "policy=pressure",
        "compliance=reg_f",
        "compliance.enforce=false",
        "portfolio.n_accounts=4000",
        "collectors.size=2",
        "collectors.shift_start_hour=6.0",
        "collectors.shift_end_hour=23.0",
        "collectors.shift_follows_window=false",
    ],
}


def _plain(x: Any) -> Any:
    """JSON-safe with NaN kept as a string (json would write NaN, fine, but keep it explicit)."""
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    return x


def dump_one(overrides: list[str]) -> dict[str, Any]:
    import numpy as np

    from collectsim.api import load_scenario
    from collectsim.engine import Simulation

    sc = load_scenario(overrides)
    sim = Simulation(sc, 0, record_events=True)
    t0 = time.perf_counter()
    res = sim.run()
    wall = time.perf_counter() - t0
    h = hashlib.sha256()
    for ev in sim.event_log:
        for k in sorted(ev):
            h.update(k.encode())
            h.update(np.ascontiguousarray(ev[k]).tobytes())
    return {
        "kpis": {k: _plain(v) for k, v in res.kpis.items()},
        "calls": res.info["calls"],
        "simpy_events": res.info["simpy_events"],
        "series": {k: [_plain(v) for v in vals] for k, vals in res.series.items()},
        "event_log_sha256": h.hexdigest(),
        "shift_log_sha256": hashlib.sha256(repr(list(sim.pool.shift_log)).encode()).hexdigest(),
        "wall_seconds": wall,
    }


def dump(path: str, names: list[str]) -> None:
    from collectsim import collectors

    out = {"path": getattr(collectors, "agent_path", lambda: "python")(), "scenarios": {}}
    for name in names:
        print(f"{name} ...", file=sys.stderr, flush=True)
        out["scenarios"][name] = dump_one(SCENARIOS[name])
        print(f"  {out['scenarios'][name]['wall_seconds']:.2f} s", file=sys.stderr, flush=True)
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1, sort_keys=True)


def check(a_path: str, b_path: str) -> int:
    with open(a_path) as fa, open(b_path) as fb:
        a, b = json.load(fa)["scenarios"], json.load(fb)["scenarios"]
    bad = 0
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            print(f"{name}: only in one file")
            bad += 1
            continue
        diffs = [k for k in a[name] if k != "wall_seconds" and a[name][k] != b[name].get(k)]
        if diffs:
            bad += 1
            kd = [k for k in a[name]["kpis"] if a[name]["kpis"][k] != b[name]["kpis"].get(k)]
            print(f"{name}: DIFFERENT {diffs}; KPIs differing: {kd[:8]}")
        else:
            print(
                f"{name}: identical ({len(a[name]['kpis'])} KPIs, {a[name]['calls']:,} calls, event log "
                f"{a[name]['event_log_sha256'][:12]}; {a[name]['wall_seconds']:.2f} s vs {b[name]['wall_seconds']:.2f} s)"
            )
    return 1 if bad else 0


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[1] == "dump":
        names = sys.argv[3].split(",") if len(sys.argv) > 3 else list(SCENARIOS)
        dump(sys.argv[2], names)
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
