"""Print the calibration KPIs for a few policies (used while tuning conf/ defaults).

python scripts/calibrate.py [policies=a,b,...] [override ...]
"""

from __future__ import annotations

import sys

import numpy as np

from collectsim import load_scenario, run

KEYS = [
    "collected_30d_rate",
    "cured_30d_rate",
    "roll_m1_m2",
    "roll_m2_m3",
    "roll_m3_writeoff",
    "writeoff_rate",
    "recovery_rate",
    "net_recovery",
    "cost_to_collect",
    "stress_peak_p95",
    "complaints_per_1000",
    "collector_utilisation",
    "backlog_mean",
    "rpc_rate",
    "attempts_to_rpc_mean",
    "attempts_to_rpc_5plus_share",
    "ptp_rate",
    "ptp_kept_rate",
    "plans_started",
    "lawsuits_filed",
    "breach_cost",
]


def main() -> None:
    extra = [a for a in sys.argv[1:] if not a.startswith("policies=")]
    chosen = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("policies=")]
    policies = (
        chosen[0].split(",") if chosen else ["do_nothing", "staged", "soft_first", "early_escalation", "pressure"]
    )
    rows = {}
    for pol in policies:
        sc = load_scenario([f"policy={pol}", *extra])
        res = [run(sc, k) for k in range(2)]
        rows[pol] = {k: np.mean([r.kpis[k] for r in res]) for k in KEYS}
    print(f"{'kpi':<24}" + "".join(f"{p[:14]:>16}" for p in policies))
    for k in KEYS:
        print(f"{k:<24}" + "".join(f"{rows[p][k]:>16.4g}" for p in policies))


if __name__ == "__main__":
    main()
