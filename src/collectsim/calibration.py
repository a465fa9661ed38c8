"""Calibration against published figures: what the default model gives for each target,
with confidence intervals, and two randomised experiments run inside the model.

The experiments copy the published designs rather than comparing policies: a random
half of the accounts (the ``policy_split`` stream) gets the treatment, the other half
the same treatment less the studied contact, in the same run and the same collection
centre; the effect is the difference between the two halves, replication by
replication.

- **A conversation with an agent vs none** (Laudenbach, Pirschel and Siegel): both
  halves get the reminders of ``do_nothing``; the treated half also gets soft collector
  calls every three days in the first month. Outcome: on-time repayment, read as cured
  within 30 days past due. Published: +34 percentage points.
- **SMS reminders vs none** (Cadena and Schoar): the treated half gets the SMS
  reminders of ``do_nothing``, the other half nothing at all. Outcome: the same, as a
  relative change. Published: +7 to +9%.

Used by ``scripts/validate.py``, which writes the table into ``docs/validation.md``:

>>> from collectsim import load_scenario, run_replications
>>> runs = run_replications(load_scenario(), 5)               # doctest: +SKIP
>>> print(markdown(published_targets(runs), experiments([], 5), 5))  # doctest: +SKIP
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from collectsim.api import kpi_table, load_scenario, run_replications
from collectsim.metrics import RunResult
from collectsim.stats import t_interval


@dataclass(frozen=True)
class Target:
    """One calibration target: the model's value (mean and 95% half-width over
    replications), the published range and its source."""

    name: str
    measured_as: str
    mean: float
    half: float
    low: float
    high: float
    source: str

    @property
    def hit(self) -> bool:
        """The published range and the model's interval overlap."""
        return self.mean - self.half <= self.high and self.mean + self.half >= self.low


def _target(name: str, measured_as: str, values: np.ndarray, low: float, high: float, source: str) -> Target:
    mean, half, _ = t_interval(values)
    return Target(name, measured_as, mean, half, low, high, source)


def published_targets(results: Sequence[RunResult]) -> list[Target]:
    """The published targets, from replications of the default scenario (policy
    ``staged``, the default book and team)."""
    k = kpi_table(results)
    attempts = k["attempts_to_rpc_mean"]
    return [
        _target(
            "balance collected within 30 days",
            "`collected_30d_rate`",
            k["collected_30d_rate"],
            0.83,
            0.89,
            "Qifu Technology, 30-day collection rate 86.3% (Q2 2024)",
        ),
        _target(
            "accounts cured within 30 days",
            "`cured_30d_rate`",
            k["cured_30d_rate"],
            0.75,
            0.85,
            "industry rule of thumb (about 80%)",
        ),
        _target(
            "M1 to M2 roll (count)",
            "`roll_m1_m2`",
            k["roll_m1_m2"],
            0.15,
            0.25,
            "industry rule of thumb (about 1 in 5)",
        ),
        _target(
            "M1 to M3 roll (count)",
            "`roll_m1_m2 * roll_m2_m3`",
            k["roll_m1_m2"] * k["roll_m2_m3"],
            0.01,
            0.03,
            'Chinese "collection multiplier", about 2% (industry figure)',
        ),
        _target(
            "write-off of entering accounts",
            "`writeoff_rate`",
            k["writeoff_rate"],
            0.02,
            0.06,
            "LexinFintech 2021, Qifu 2024: 90+ delinquency 1.8-3.4% of loans",
        ),
        _target(
            "attempts to reach the right party",
            "`attempts_to_rpc_mean` (2-4 for most)",
            attempts,
            2.0,
            4.0,
            "TransUnion, State of Third-Party Collections 2020",
        ),
        _target(
            "accounts needing 5 or more attempts",
            "`attempts_to_rpc_5plus_share`",
            k["attempts_to_rpc_5plus_share"],
            0.20,
            0.30,
            "TransUnion 2020 (5-7 attempts for about a quarter)",
        ),
        _target(
            "agent occupancy",
            "`collector_utilisation`",
            k["collector_utilisation"],
            0.75,
            0.90,
            "call-centre practice",
        ),
    ]


def _split(base: dict[str, Any], control: dict[str, Any], treated: dict[str, Any]) -> dict[str, Any]:
    node = copy.deepcopy(base)
    # One team and one dialler serve both arms, under one retry rule: the treated arm's
    # (no control arm here makes calls, so the rule does not touch it).
    node["champion"] = {**control, "retry": treated["retry"]} if "retry" in treated else control
    node["challenger"] = treated
    node["challenger_share"] = 0.5
    return node


def _with_calls(reminders: dict[str, Any], retry: dict[str, Any]) -> dict[str, Any]:
    """The reminders of ``do_nothing`` (an SMS every 7 days from day 1) plus soft calls
    every three days in the first month, redialled under ``retry``."""
    sms = next(a for st in reminders["stages"] for a in st["actions"] if a["action"] == "sms")
    every, start = int(sms["every_days"]), int(sms.get("start_day", 1))
    later = start + every * -(-(31 - start) // every)  # the first SMS day after day 30
    return {
        "_target_": reminders["_target_"],
        "name": "reminders_and_calls",
        "queue_order": "fifo",
        "retry": retry,
        "stages": [
            {
                "name": "first_month",
                "dpd_from": 1,
                "dpd_to": 30,
                "actions": [
                    {"action": "sms", "start_day": start, "every_days": every},
                    {"action": "soft_call", "start_day": 3, "every_days": 3},
                ],
            },
            {
                "name": "reminders",
                "dpd_from": 31,
                "dpd_to": 180,
                "actions": [{"action": "sms", "start_day": later, "every_days": every}],
            },
        ],
    }


@dataclass(frozen=True)
class Experiment:
    """An in-model randomised experiment: the outcome in each half, and the effect."""

    name: str
    control: tuple[float, float]
    treated: tuple[float, float]
    effect: tuple[float, float]
    relative: bool
    published: str
    source: str


def experiments(
    overrides: Sequence[str], replications: int, run: Callable[..., list[RunResult]] = run_replications
) -> list[Experiment]:
    """Run the two randomised experiments on the default book (plus ``overrides``)."""
    sc = load_scenario(["policy=champion_challenger", *overrides])
    reminders = load_scenario(["policy=do_nothing"]).policy
    silent = load_scenario(["policy=silent"]).policy
    staged = load_scenario(["policy=staged"]).policy
    designs = [
        (
            "conversation with an agent vs none",
            _split(sc.policy, reminders, _with_calls(reminders, staged.get("retry", {}))),
            False,
            "+34 pp on-time repayment",
            "Laudenbach, Pirschel and Siegel (German bank field experiment)",
        ),
        (
            "SMS reminders vs none",
            _split(sc.policy, silent, reminders),
            True,
            "+7 to +9% on-time payment (relative)",
            "Cadena and Schoar (NBER w17020)",
        ),
    ]
    out = []
    for name, policy, relative, published, source in designs:
        res = run(replace(sc, policy=policy), replications)
        arms = [g["name"] for g in res[0].groups if g["group"] == "arm"]
        c = kpi_table(res, arms[0])["cured_30d_rate"]
        t = kpi_table(res, arms[1])["cured_30d_rate"]
        eff = t / c - 1.0 if relative else t - c
        mc, hc, _ = t_interval(c)
        mt, ht, _ = t_interval(t)
        me, he, _ = t_interval(eff)
        out.append(Experiment(name, (mc, hc), (mt, ht), (me, he), relative, published, source))
    return out


def _pct(x: float, half: float) -> str:
    return f"{100 * x:.1f}% ± {100 * half:.1f}"


def markdown(targets: Sequence[Target], trials: Sequence[Experiment], replications: int) -> str:
    """The calibration section of ``docs/validation.md``: one row per target with its
    source and whether the model's 95% interval meets the published range."""
    lines = [
        "| target | measured as | model (95% CI) | published | status | source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in targets:
        fmt = (lambda v, h: f"{v:.2f} ± {h:.2f}") if t.low >= 1 else _pct
        published = f"{t.low:g}-{t.high:g}" if t.low >= 1 else f"{100 * t.low:g}-{100 * t.high:g}%"
        lines.append(
            f"| {t.name} | {t.measured_as} | {fmt(t.mean, t.half)} | {published} | "
            f"{'hit' if t.hit else '**missed**'} | {t.source} |"
        )
    lines += [
        "",
        f"Randomised experiments run inside the model ({replications} replications; a random half of the "
        "accounts is treated, in the same run; outcome: cured within 30 days past due):",
        "",
        "| experiment | control | treated | effect (95% CI) | published | source |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for e in trials:
        if e.relative:
            effect = _pct(*e.effect) + " (relative)"
        else:
            effect = f"{100 * e.effect[0]:+.1f} pp ± {100 * e.effect[1]:.1f}"
        lines.append(f"| {e.name} | {_pct(*e.control)} | {_pct(*e.treated)} | {effect} | {e.published} | {e.source} |")
    return "\n".join(lines) + "\n"
