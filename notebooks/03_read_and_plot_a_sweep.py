# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tutorial 3: read and plot a sweep
#
# A sweep folder (from `collectsim -m ...` or from `run_experiments(..., out_dir=...)`) holds one
# job folder per cell with `kpis.csv` and `series.csv`. `collectsim.report.gather` reads it into
# tidy tables; from there it is ordinary pandas and Matplotlib. Here the team size is swept for
# two policies: how many collectors does each policy need?

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from collectsim.experiments import grid, run_experiments
from collectsim.report import comparison_table, gather

SMALL = os.environ.get("COLLECTSIM_TUTORIAL_SMALL", "1") == "1"
N_ACCOUNTS, REPLICATIONS, SIZES = (300, 2, [1, 2, 4]) if SMALL else (4000, 5, [2, 4, 8, 16])

sweep_dir = Path(tempfile.mkdtemp()) / "staffing"
run_experiments(
    grid({"policy": ["soft_first", "early_escalation"], "collectors.size": SIZES}),
    replications=REPLICATIONS,
    base=[f"portfolio.n_accounts={N_ACCOUNTS}"],
    out_dir=sweep_dir,
    report=True,
    baseline=f"collectors.size={SIZES[-1]}",
    n_jobs=1,
)
sorted(p.name for p in sweep_dir.iterdir())

# %% [markdown]
# The same call works on any command-line sweep: `gather("multirun/staffing/2026-...")`.

# %%
g = gather(sweep_dir)
g.kpis.head()

# %% [markdown]
# `comparison_table` gives each cell's mean with a 95% confidence interval.

# %%
comp = comparison_table(g, ["recovery_rate", "collector_utilisation", "backlog_mean"])
comp["collectors.size"] = comp["collectors.size"].astype(int)
comp[["policy", "collectors.size", "kpi", "mean", "low", "high"]]

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
for ax, kpi in zip(axes, ["recovery_rate", "backlog_mean"]):
    for policy, sub in comp[comp["kpi"] == kpi].groupby("policy"):
        sub = sub.sort_values("collectors.size")
        ax.plot(sub["collectors.size"], sub["mean"], marker="o", label=policy)
        ax.fill_between(sub["collectors.size"], sub["low"], sub["high"], alpha=0.2)
    ax.set_xlabel("collectors.size")
    ax.set_title(kpi)
axes[0].legend()
plt.show()

# %% [markdown]
# ## The daily series
#
# `g.series` has one row per replication and day: money collected so far, open accounts, mean
# stress and the collectors' backlog.

# %%
daily = g.series.groupby(["label", "day"])["backlog"].mean().unstack(0)
ax = daily.rolling(7, min_periods=1, center=True).mean().plot(figsize=(7, 3.5))
ax.set_ylabel("calls waiting (7-day average)")
plt.show()

# %% [markdown]
# The report written into the folder opens with a summary and has the same chart, drawn for
# every KPI against the team size:

# %%
print((sweep_dir / "report.md").read_text(encoding="utf-8").split("## What was run")[0])
