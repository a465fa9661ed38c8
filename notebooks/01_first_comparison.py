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
# # Tutorial 1: a first comparison
#
# Two collection policies on the same simulated book: **soft_first** (reminders, soft calls,
# plans; firm calls only late) and **early_escalation** (firm calls and legal letters early).
# We run a few replications of each, read the KPIs, and compare the policies *paired*:
# replication `k` of both policies uses the same borrowers and the same random numbers, so the
# difference between them is measured on the same people.
#
# Open this file in Jupyter (with jupytext installed it opens as a notebook) or run it as a
# script. `SMALL` keeps it quick; set it to `False` for a book of 5,000 accounts.

# %%
import os

import matplotlib.pyplot as plt

from collectsim.experiments import compare, grid, run_experiments

SMALL = os.environ.get("COLLECTSIM_TUTORIAL_SMALL", "1") == "1"
N_ACCOUNTS, REPLICATIONS = (300, 2) if SMALL else (5000, 8)

# %% [markdown]
# ## Run
#
# A *cell* is one configuration, written as Hydra overrides, exactly as on the command line
# (`collectsim policy=soft_first portfolio.n_accounts=5000`). `grid` makes every combination;
# `run_experiments` runs each cell for the replications in parallel and returns one tidy table.

# %%
cells = grid({"policy": ["soft_first", "early_escalation"]})
kpis = run_experiments(
    cells, replications=REPLICATIONS, base=[f"portfolio.n_accounts={N_ACCOUNTS}", "collectors.size=2"], n_jobs=1
)
overall = kpis[kpis["group"] == "all"]  # the other groups are the borrower segments
overall[["policy", "replication", "recovery_rate", "net_recovery", "stress_peak_p95", "complaints_per_1000"]]

# %% [markdown]
# `recovery_rate` is the share of what was owed (balance plus interest and penalties) that was
# collected; `stress_peak_p95` is the peak stress level that the 5% most stressed borrowers
# reached (1 is about one firm collector call's worth; a day above 2 counts as distress).
#
# ## Means per policy

# %%
means = overall.groupby("policy")[["recovery_rate", "net_recovery", "stress_peak_p95", "complaints_per_1000"]].mean()
means

# %% [markdown]
# ## Paired differences
#
# `compare` subtracts the baseline from each cell replication by replication and gives a 95%
# interval for the mean difference. A verdict of *better* or *worse* needs the interval to
# exclude zero; with only a few replications many KPIs stay *not distinguishable*.

# %%
paired = compare(kpis, baseline="soft_first")
paired[["label", "kpi", "diff_mean", "diff_low", "diff_high", "verdict"]].set_index("kpi").loc[
    ["recovery_rate", "net_recovery", "stress_peak_p95", "complaints_per_1000"]
]

# %% [markdown]
# ## Recovery against stress

# %%
fig, ax = plt.subplots(figsize=(5, 3.5))
for policy, sub in overall.groupby("policy"):
    ax.scatter(sub["stress_peak_p95"], sub["recovery_rate"], label=policy, alpha=0.7)
ax.set_xlabel("stress_peak_p95 (lower is better)")
ax.set_ylabel("recovery_rate (higher is better)")
ax.legend()
ax.set_title("One point per replication")
plt.show()

# %% [markdown]
# The same comparison at full size, with the report (summary, tables, figures, `report.html`):
#
# ```
# collectsim -m policy=soft_first,early_escalation replications=12
# ```
#
# or `run_experiments(cells, replications=12, out_dir="sweeps/first", report=True)`.
