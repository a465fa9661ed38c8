"""Published field experiments on collection contact, run as their randomised designs
inside the model.

Each design splits the book at random (the ``policy_split`` stream) between a control
and a treated arm of ``champion_challenger`` in one run, so both arms are similar
borrowers served by the same collection centre on the same random numbers; the arms
differ only in the studied contact. The outcome is the published one at its horizon,
computed per arm and replication; the effect is the treated arm's less the control's
(or the relative cut in default), paired by replication.

- **A conversation with an agent** (Laudenbach, Pirschel and Siegel 2018): reminders in
  both arms; the treated arm also gets soft collector calls every three days in the
  first month. Outcome: cured within 30 days past due. Published: +34.4 points of on-time
  repayment.
- **A threat to notify contacts** (Brusa, Luo and Fang 2019): reminders in both arms; the
  treated arm gets a message on day 2 past due announcing that the borrower's contacts
  will be told (``contact_threat``). Outcome: a repayment within 24 hours of the message,
  among accounts still unpaid when it goes out. Published: about as large as a money
  incentive; the abstract gives no number, so only the sign is checked.
- **Notifying contacts** (Lu, Lu, Wang and Wu 2021): reminders to the borrower in both
  arms; the treated arm's listed contacts are also told of the debt (``notify_contacts``)
  weekly in the first month. Rules not enforced (``compliance=none``: the message is
  third-party contact). Outcome: default, read as not repaid in full within 90 days past
  due. Published: default cut by more than half.
- **Calling the social circle** (Liao, Wang, Yan, Yang and Zhou 2020, a natural
  experiment where overloaded agents stopped before reaching every loan): both arms get
  reminders and soft calls; the treated arm's contacts are also called
  (``third_party_call``) every three days in the first month. ``compliance=none``.
  Outcome: default as above. Published: +5.9 to +14.3 points.

Cadena and Schoar's SMS reminders went out before the due date; the model starts at
delinquency, so no design here is compared with them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from collectsim.api import load_scenario
from collectsim.calibration import default_jobs
from collectsim.engine import Simulation
from collectsim.portfolio import Portfolio
from collectsim.state import CURED, AccountState
from collectsim.stats import t_interval


@dataclass(frozen=True)
class Outcome:
    """An outcome measured on a set of accounts (a plain object, so designs pickle).

    ``kind``: ``"cured"`` (share cured within ``days`` of entry), ``"default"`` (share
    not repaid in full within ``days``), or ``"paid_24h"`` (among accounts open and
    unpaid when a contact goes out at ``hour`` on day ``days`` past due, day 1 being the
    day of entry, the share making a payment in the next 24 hours).
    """

    kind: str
    days: float
    hour: float = 0.0

    def __call__(self, pf: Portfolio, st: AccountState, m: np.ndarray) -> float:
        if self.kind == "paid_24h":
            sent = np.floor(pf.entry_time[m]) + (self.days - 1) + self.hour / 24.0
            first = np.where(np.isnan(st.first_payment_time[m]), np.inf, st.first_payment_time[m])
            closed = np.where(np.isnan(st.close_time[m]), np.inf, st.close_time[m])
            at_risk = (first >= sent) & (closed >= sent)
            return float(np.mean((first < sent + 1.0)[at_risk])) if at_risk.any() else float("nan")
        life = st.close_time[m] - pf.entry_time[m]
        cured = float(np.mean((st.status[m] == CURED) & (life < self.days)))
        return cured if self.kind == "cured" else 1.0 - cured


@dataclass(frozen=True)
class Design:
    """A randomised design: the arms' policies, the rules, the outcome and the
    published figure (``published`` an interval for the effect; ``None``: sign only)."""

    name: str
    source: str
    control: dict[str, Any]
    treated: dict[str, Any]
    outcome_name: str
    outcome: Outcome
    relative_cut: bool  # effect = 1 - treated/control (a cut in default) instead of a difference
    published_text: str
    published: tuple[float, float] | None
    sign: int  # the published sign of the effect (+1 or -1)
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldResult:
    """The outcome per arm and the effect (mean, 95% half-width over replications)."""

    design: Design
    control: tuple[float, float]
    treated: tuple[float, float]
    effect: tuple[float, float]
    share_treated: float

    @property
    def status(self) -> str:
        m, h = self.effect
        d = self.design
        if d.published is None:
            return "sign matches" if d.sign * (m - h) > 0 else "**sign not shown**"
        lo, hi = d.published
        return "inside" if m - h <= hi and m + h >= lo else "**missed**"


def _stage(name: str, lo: int, hi: int, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "dpd_from": lo, "dpd_to": hi, "actions": actions}


def _path(name: str, retry: dict[str, Any] | None, first_month: list[dict[str, Any]]) -> dict[str, Any]:
    """Reminders (``do_nothing``'s SMS every 7 days from day 1) for 180 days plus
    ``first_month`` actions in days 1-30."""
    node: dict[str, Any] = {
        "_target_": "collectsim.policies.TreatmentPath",
        "name": name,
        "queue_order": "fifo",
        "stages": [
            _stage("first_month", 1, 30, [{"action": "sms", "start_day": 1, "every_days": 7}, *first_month]),
            _stage("reminders", 31, 180, [{"action": "sms", "start_day": 36, "every_days": 7}]),
        ],
    }
    if retry is not None:
        node["retry"] = retry
    return node


def designs() -> list[Design]:
    """The four designs (their policies read the default retry rule of ``staged``)."""
    retry = dict(load_scenario(["policy=staged"]).policy.get("retry", {}))
    calls = [{"action": "soft_call", "start_day": 3, "every_days": 3}]
    reminders = _path("reminders", None, [])
    with_calls = _path("reminders_and_calls", retry, calls)
    return [
        Design(
            "a conversation with an agent vs none",
            "Laudenbach, Pirschel and Siegel (2018)",
            reminders,
            with_calls,
            "cured within 30 days",
            Outcome("cured", 30.0),
            False,
            "+34.4 pp on-time repayment (point estimate)",
            (0.344, 0.344),
            +1,
        ),
        Design(
            "a threat to notify contacts vs none",
            "Brusa, Luo and Fang (2019)",
            reminders,
            _path("threat", None, [{"action": "contact_threat", "start_day": 2}]),
            "paid within 24 hours of the message",
            Outcome("paid_24h", 2, 10.0),
            False,
            "positive, about as large as a money incentive (no number in the abstract)",
            None,
            +1,
        ),
        Design(
            "notifying contacts vs not",
            "Lu, Lu, Wang and Wu (2021)",
            reminders,
            _path("notify", None, [{"action": "notify_contacts", "start_day": 3, "every_days": 7}]),
            "default (unpaid at 90 days)",
            Outcome("default", 90.0),
            True,
            "default cut by more than half",
            (0.5, 1.0),
            +1,
            ("compliance=none", "compliance.third_party_contact=true"),
        ),
        Design(
            "calling the social circle vs not",
            "Liao, Wang, Yan, Yang and Zhou (2020)",
            with_calls,
            _path("social_circle", retry, [*calls, {"action": "third_party_call", "start_day": 5, "every_days": 3}]),
            "default (unpaid at 90 days)",
            Outcome("default", 90.0),
            False,
            "+5.9 to +14.3 pp default",
            (0.059, 0.143),
            +1,
            ("compliance=none", "compliance.third_party_contact=true"),
        ),
    ]


def split_policy(base: dict[str, Any], control: dict[str, Any], treated: dict[str, Any]) -> dict[str, Any]:
    """A ``champion_challenger`` node: control as champion, treated as challenger, a
    random half each. An arm that makes no redialled calls takes the other's retry rule."""
    node = copy.deepcopy(base)
    node["champion"] = copy.deepcopy(control)
    node["challenger"] = copy.deepcopy(treated)
    node["challenger_share"] = 0.5
    return node


def _arms(args: tuple[Design, Sequence[str], int]) -> tuple[float, float, float]:
    """Control outcome, treated outcome and the treated share in one replication."""
    d, overrides, k = args
    sc = load_scenario(["policy=champion_challenger", *d.overrides, *overrides])
    sc = replace(sc, policy=split_policy(sc.policy, d.control, d.treated))
    sim = Simulation(sc, k)
    sim.run()
    arms = np.asarray(sim.policy.arms)  # type: ignore[attr-defined]
    m = sim.pf.measured
    c = d.outcome(sim.pf, sim.st, m & (arms == 0))
    t = d.outcome(sim.pf, sim.st, m & (arms == 1))
    return c, t, float(np.mean(arms[m] == 1))


def run_design(d: Design, overrides: Sequence[str], replications: int, workers: int | None = None) -> FieldResult:
    """Run ``d`` for replications ``0 .. R-1`` (both arms in every run)."""
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(d, tuple(overrides), k) for k in range(replications)]
    workers = default_jobs() if workers is None else workers
    if workers <= 1 or replications <= 1:
        rows = [_arms(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=min(workers, replications)) as pool:
            rows = list(pool.map(_arms, jobs))
    c = np.array([r[0] for r in rows])
    t = np.array([r[1] for r in rows])
    eff = 1.0 - t / c if d.relative_cut else t - c
    mc, hc, _ = t_interval(c)
    mt, ht, _ = t_interval(t)
    me, he, _ = t_interval(eff)
    return FieldResult(d, (mc, hc), (mt, ht), (me, he), float(np.mean([r[2] for r in rows])))


def run_all(overrides: Sequence[str], replications: int, workers: int | None = None) -> list[FieldResult]:
    """Every design on the default book plus ``overrides``."""
    return [run_design(d, overrides, replications, workers) for d in designs()]


def _pct(x: float, half: float) -> str:
    return f"{100 * x:.1f}% ± {100 * half:.1f}"


def markdown(results: Sequence[FieldResult]) -> str:
    """One row per experiment: the outcome in each arm, the effect and the published figure."""
    lines = [
        "| experiment | outcome | control | treated | effect (95% CI) | published | status | source |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        d = r.design
        if d.relative_cut:
            effect = f"{100 * r.effect[0]:.0f}% ± {100 * r.effect[1]:.0f} cut"
        else:
            effect = f"{100 * r.effect[0]:+.1f} pp ± {100 * r.effect[1]:.1f}"
        lines.append(
            f"| {d.name} | {d.outcome_name} | {_pct(*r.control)} | {_pct(*r.treated)} | {effect} | "
            f"{d.published_text} | {r.status} | {d.source} |"
        )
    return "\n".join(lines) + "\n"
