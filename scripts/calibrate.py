"""Print the calibration KPIs for a few policies (used while tuning conf/ defaults).

python scripts/calibrate.py [override ...]
"""

from __future__ import annotations

import sys

import numpy as np

from collectsim import load_scenario, run

KEYS = [
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
    "ptp_rate",
    "ptp_kept_rate",
    "plans_started",
    "lawsuits_filed",
]


def main() -> None:
    extra = sys.argv[1:]
    policies = ["do_nothing", "staged", "soft_first", "early_escalation", "score_prioritized"]
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
