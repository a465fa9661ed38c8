"""The Streamlit page behind ``collectsim app``: pick a book, policies, team and rules, run
a few replications, read recovery against stress, recovery curves, paired differences
and capacity. Run it with ``collectsim app`` (or ``streamlit run`` on this file).
"""

from __future__ import annotations

import tempfile
import time

import pandas as pd
import streamlit as st

from collectsim.app.logic import (
    DEFAULT_ACCOUNTS,
    FULL_REPLICATIONS,
    PAGE_KPIS,
    Choices,
    default_team,
    default_willingness_effect,
    options,
    run_choices,
    segment_names,
)
from collectsim.errors import CollectsimError
from collectsim.report.fmt import fmt_ci

st.set_page_config(page_title="collectsim: compare collection policies", layout="wide")
st.title("Compare debt-collection policies")
st.caption(
    "A small simulated book, a few replications on common random numbers: a first look in seconds. "
    "The command at the bottom runs the same comparison at full size."
)

with st.sidebar:
    st.header("Book")
    portfolio = st.selectbox("Portfolio", options("portfolio"), index=options("portfolio").index("default"))
    segs = segment_names(portfolio)
    st.caption("Segment mix (weights, scaled to shares that sum to 1)")
    weights = [
        st.slider(f"{name} weight", 0.0, 1.0, float(share), 0.05, key=f"seg_{portfolio}_{name}") for name, share in segs
    ]
    n_accounts = st.slider("Accounts", 500, 5000, DEFAULT_ACCOUNTS, 500)
    st.header("Levers")
    policies = st.multiselect(
        "Policies (2 or 3; the first is the baseline)",
        options("policy"),
        default=["soft_first", "early_escalation"],
        max_selections=3,
    )
    team = st.number_input(
        "Team size (collectors)", min_value=1, max_value=200, value=default_team(int(n_accounts), portfolio), step=1
    )
    compliance = st.selectbox(
        "Compliance preset", options("compliance"), index=options("compliance").index("china_2025")
    )
    st.header("Uncertainty")
    willingness_effect = st.slider(
        "Stress sensitivity (how much stress lowers willingness to pay)",
        0.0,
        1.5,
        default_willingness_effect(),
        0.05,
    )
    replications = st.slider("Replications", 2, 8, 3)
    seed = st.number_input("Seed", min_value=0, max_value=10_000, value=0, step=1)
    run_clicked = st.button("Run", type="primary", use_container_width=True)

choices = Choices(
    portfolio=portfolio,
    segment_weights=weights,
    policies=list(policies),
    team_size=int(team),
    compliance=compliance,
    willingness_effect=float(willingness_effect),
    n_accounts=int(n_accounts),
    replications=int(replications),
    seed=int(seed),
)

if run_clicked:
    bar = st.progress(0.0, text="starting")
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{done} of {total} replications, {time.perf_counter() - t0:.1f} s")

    try:
        st.session_state["outcome"] = run_choices(choices, tempfile.mkdtemp(prefix="collectsim-app-"), progress)
        st.session_state["seconds"] = time.perf_counter() - t0
        st.session_state["ran"] = choices
        bar.progress(1.0, text=f"done in {st.session_state['seconds']:.1f} s")
    except CollectsimError as exc:
        bar.empty()
        st.error(f"collectsim: error: {exc}")

outcome = st.session_state.get("outcome")
if outcome is None:
    st.info("Choose the book and the policies on the left, then press Run.")
else:
    ran: Choices = st.session_state["ran"]
    st.subheader(f"Results: {', '.join(ran.policies)} on {ran.portfolio}, {ran.replications} replications")
    rows = []
    for _, r in outcome.numbers.iterrows():
        rows.append({"policy": r["policy"], **{k: fmt_ci(float(r[k]), float(r[k + "_hw"])) for k in PAGE_KPIS}})
    st.markdown("**Mean per policy ± 95% interval half-width**")
    st.table(pd.DataFrame(rows).set_index("policy"))
    for note in outcome.notes:
        st.warning(note)
    left, right = st.columns(2)
    with left:
        st.image(str(outcome.figures["recovery_vs_stress"]), caption="Recovery against borrower stress")
    with right:
        st.image(str(outcome.figures["recovery_curves"]), caption="Cumulative recovery")
    st.markdown(f"**Paired differences against {ran.policies[0]}** (same seeds, replication by replication)")
    p = outcome.paired
    st.table(
        pd.DataFrame(
            {
                "policy": p["label"],
                "KPI": p["kpi"],
                "difference": [
                    fmt_ci(float(m), float(h), signed=True)
                    for m, h in zip(p["diff_mean"], p["diff_half_width"], strict=True)
                ],
                "verdict": p["verdict"],
            }
        ).set_index(["policy", "KPI"])
    )
    if "capacity" in outcome.figures:
        st.image(str(outcome.figures["capacity"]), caption="Collector capacity")
    st.markdown(
        f"**The same comparison at full size**: {ran.full_accounts():,} accounts, the team scaled to "
        f"{ran.full_team()} collectors (the same accounts per collector), {FULL_REPLICATIONS} replications, with the report:"
    )
    st.code(ran.command(), language="bash", wrap_lines=True)
