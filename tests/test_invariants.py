"""Invariants over random small scenarios (Hypothesis): money is conserved, contact
rules are never exceeded (or, under ``none``, every breach is counted), collectors stay
inside their shift and cap, costs are non-negative and rates lie in [0, 1].

The generated policies call an account at most once a day, so the per-day caps
(``connected_day``, ``unanswered_day``) never bind there; dedicated scenarios with two
call actions a day and caps of one check those rules (``test_binding_per_day_caps_*``)."""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from functools import cache
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectsim import load_scenario, scenario_from_dict
from collectsim.actions import Action
from collectsim.bots import AGENT_OFFSET
from collectsim.engine import Simulation
from collectsim.metrics import COST_KPIS
from collectsim.scenario import Scenario, scenario_to_dict

POLICIES = [
    "do_nothing",
    "soft_first",
    "early_escalation",
    "staged",
    "score_prioritized",
    "champion_challenger",
    "pressure",
    "soft_first_bots",
    "bots_front",
    "soft_first_educated",
]
#: Policies whose soft calls are made by AI voice lines (channels.ai_voice).
BOT_POLICIES = ("soft_first_bots", "bots_front")
PRESETS = ["china_2025", "reg_f", "none"]
RATES = [
    "recovery_rate",
    "cure_rate",
    "cured_30d_rate",
    "roll_m1_m2",
    "roll_m2_m3",
    "roll_m3_writeoff",
    "writeoff_rate",
    "rpc_rate",
    "ptp_rate",
    "ptp_kept_rate",
    "distress_day_share",
    "collector_utilisation",
]
CALL_KINDS = (int(Action.VOICE), int(Action.SOFT_CALL), int(Action.FIRM_CALL))


@cache
def _base(policy: str, preset: str, portfolio: str, arrival: str = "stream") -> dict[str, Any]:
    return scenario_to_dict(
        load_scenario(
            [f"policy={policy}", f"compliance={preset}", f"portfolio={portfolio}", f"portfolio.arrival={arrival}"]
        )
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    d = copy.deepcopy(
        _base(
            draw(st.sampled_from(POLICIES)),
            draw(st.sampled_from(PRESETS)),
            draw(st.sampled_from(["default", "strategic", "hardship"])),
            draw(st.sampled_from(["stream", "cohort"])),
        )
    )
    d["portfolio"]["n_accounts"] = draw(st.integers(5, 120))
    if d["policy"]["name"] in BOT_POLICIES:
        d["channels"]["ai_voice"]["lines"] = draw(st.integers(1, 3))
    if d["portfolio"]["arrival"] == "stream":
        d["portfolio"]["warmup_days"] = draw(st.integers(0, 10))
        d["portfolio"]["arrival_days"] = draw(st.integers(1, 20))
        d["portfolio"]["cooldown_days"] = draw(st.integers(0, 10))
    d["simulation"]["seed"] = draw(st.integers(0, 10_000))
    d["simulation"]["horizon_days"] = draw(st.integers(20, 180))
    d["simulation"]["legal_tail_days"] = draw(st.integers(0, 400))
    co = d["collectors"]
    co["size"] = draw(st.integers(1, 3))
    co["max_conversations_per_day"] = draw(st.integers(1, 90))
    # 0-24 with no break is a round-the-clock team (unless a window clips it).
    co["shift_start_hour"] = draw(st.sampled_from([0.0, 6.0, 8.0, 9.0]))
    co["shift_end_hour"] = draw(st.sampled_from([17.0, 20.0, 23.0, 24.0]))
    co["break_minutes"] = draw(st.sampled_from([0.0, 60.0]))
    co["backlog"] = draw(st.sampled_from(["carry", "drop"]))
    co["training"]["enabled"] = draw(st.booleans())
    for seg in d["portfolio"]["segments"]:
        seg["contactability"] = {"kind": "constant", "value": draw(st.sampled_from([0.0, 0.3, 0.9, 1.0]))}
    d["stress"]["willingness_effect"] = draw(st.floats(0.0, 2.0))
    d["channels"]["sms"]["hour"] = draw(st.sampled_from([6.0, 8.5, 21.5]))
    d["channels"]["voice"]["hour"] = draw(st.sampled_from([7.0, 8.75, 22.5]))
    return scenario_from_dict(d)


def _events(sim: Simulation) -> dict[str, np.ndarray]:
    keys = sim.event_log[0].keys()
    ev = {k: np.concatenate([e[k] for e in sim.event_log]) for k in keys}
    order = np.lexsort((ev["seq"], ev["idx"]))
    return {k: v[order] for k, v in ev.items()}


def recount_breaches(sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, int]:
    """Rules broken by each logged contact of a measured account (the KPIs describe
    those), recounted from the event log alone."""
    cfg = sim.sc.compliance
    third_party = sim.channels.codes["third_party_call"]
    # The agency's dialler calls on outsourced accounts are calls too.
    call_kinds = (*CALL_KINDS, sim.channels.codes["agency_call"], sim.channels.codes["ai_call"])
    measured = sim.pf.measured
    counts = defaultdict(int)
    per_day: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])  # (acct, day) -> [connected, unanswered]
    attempts_by_day: dict[tuple[int, int], int] = defaultdict(int)
    last_conv: dict[int, float] = {}
    for i, t, kind, conn in zip(
        ev["idx"].tolist(), ev["time"].tolist(), ev["action"].tolist(), ev["connected"].tolist()
    ):
        if not measured[i]:
            continue
        if kind == third_party:
            hour = round((t % 1.0) * 24, 9)
            counts["window"] += int(hour < cfg.window_start_hour or hour >= cfg.window_end_hour)
            counts["third_party"] += int(not cfg.third_party_contact)
            continue
        if kind not in (int(Action.SMS), *call_kinds):
            continue
        hour = round((t % 1.0) * 24, 9)
        counts["window"] += int(hour < cfg.window_start_hour or hour >= cfg.window_end_hour)
        if kind == int(Action.SMS):
            continue
        day = math.floor(t)
        c, u = per_day[(i, day)]
        counts["connected_day"] += int(cfg.max_connected_per_day is not None and c >= cfg.max_connected_per_day)
        counts["unanswered_day"] += int(cfg.max_unanswered_per_day is not None and u >= cfg.max_unanswered_per_day)
        week = sum(attempts_by_day[(i, dd)] for dd in range(day - 6, day + 1))
        counts["attempts_7d"] += int(cfg.max_attempts_7d is not None and week >= cfg.max_attempts_7d)
        cd = cfg.cooldown_days_after_conversation
        counts["cooldown"] += int(cd is not None and i in last_conv and t - last_conv[i] < cd)
        per_day[(i, day)][0 if conn else 1] += 1
        attempts_by_day[(i, day)] += 1
        if conn:
            last_conv[i] = t
    return counts


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(scenarios())
def test_invariants(sc: Scenario) -> None:
    sim = Simulation(sc, 0, record_events=True)
    res = sim.run()
    s, pf = sim.st, sim.pf
    # Money: principal + interest = collected + discounts + written off/sold + outstanding.
    np.testing.assert_allclose(
        pf.principal + s.interest, s.collected + s.discount + s.written_off + s.sold + s.balance, rtol=0, atol=1e-6
    )
    assert np.all(s.balance >= -1e-9)
    # Costs are never negative; rate KPIs stay in [0, 1].
    for rec in res.records():
        for c in (*COST_KPIS, "cost_total"):
            assert rec[c] >= 0, (c, rec[c])
        for r in RATES:
            v = rec.get(r)
            assert v is None or math.isnan(v) or 0.0 <= v <= 1.0 + 1e-12, (r, v)
    # Collectors: inside the shift, never beyond the daily cap.
    co = sc.collectors
    if sim.event_log:
        ev = _events(sim)
        calls = (ev["agent"] >= 0) & (ev["agent"] < AGENT_OFFSET)
        day = np.floor(ev["time"][calls])
        start = ev["time"][calls]
        end = start + ev["minutes"][calls] / 1440.0
        if not sim.pool.continuous:
            assert np.all(start >= day + sim.pool.shift_start - 1e-9)
            assert np.all(end <= day + sim.pool.shift_end + 1e-9)
        conv = defaultdict(int)
        for a, dd, c in zip(ev["agent"][calls].tolist(), day.tolist(), ev["connected"][calls].tolist()):
            conv[(a, dd)] += int(c)
        if not sim.pool.continuous:
            assert max(conv.values(), default=0) <= co.max_conversations_per_day
        _check_bot_lines(sim, ev)
        counts = recount_breaches(sim, ev)
    else:
        counts = defaultdict(int)
    rules = ("window", "connected_day", "unanswered_day", "attempts_7d", "cooldown", "third_party")
    if sc.compliance.enforce:
        # Enforced rules are never broken by a contact that went ahead.
        assert all(counts[r] == 0 for r in rules), dict(counts)
    else:
        assert {r: int(res.kpis[f"breaches_{r}"]) for r in rules} == {r: counts[r] for r in rules}


def _check_bot_lines(sim: Simulation, ev: dict[str, np.ndarray]) -> None:
    """AI voice calls come only from built lines, inside the lines' hours, and a line
    holds one call at a time (its capacity)."""
    bot = ev["agent"] >= AGENT_OFFSET
    if sim.bots is None:
        assert not bot.any()
        return
    lines = sim.sc.channels.ai_voice.lines
    line = ev["agent"][bot] - AGENT_OFFSET
    assert np.all((line >= 0) & (line < lines))
    start = ev["time"][bot]
    end = start + ev["minutes"][bot] / 1440.0
    day = np.floor(start)
    if not sim.bots.continuous:
        assert np.all(start >= day + sim.bots.shift_start - 1e-9)
        assert np.all(end <= day + sim.bots.shift_end + 1e-9)
    for k in range(lines):
        on = line == k
        order = np.argsort(start[on], kind="stable")
        s_k, e_k = start[on][order], end[on][order]
        assert np.all(s_k[1:] >= e_k[:-1] - 1e-9), f"line {k} holds two calls at once"


def test_round_the_clock_team_counts_rules_across_days() -> None:
    """A round-the-clock agent's loop spans many days: its attempts must still land in
    the right day of the 7-day window (breaches equal the event-log recount)."""
    d = copy.deepcopy(_base("early_escalation", "none", "default"))
    d["portfolio"]["n_accounts"] = 40
    d["collectors"].update(size=1, shift_start_hour=0.0, shift_end_hour=24.0, break_minutes=0.0)
    d["policy"]["stages"][0]["actions"][1]["every_days"] = 1  # firm calls every day ...
    d["policy"]["stages"][0]["actions"].append(
        {"action": "voice", "start_day": 1, "every_days": 1}
    )  # ... and robocalls
    sim = Simulation(scenario_from_dict(d), 0, record_events=True)
    res = sim.run()
    assert sim.pool.continuous
    counts = recount_breaches(sim, _events(sim))
    assert counts["attempts_7d"] > 0
    for rule in ("window", "connected_day", "unanswered_day", "attempts_7d", "cooldown", "third_party"):
        assert res.kpis[f"breaches_{rule}"] == counts[rule], rule


def _daily_calls_scenario(preset: str) -> Scenario:
    """Two call actions a day on every account (firm calls and robocalls) and per-day caps
    of one connected call and one unanswered attempt: the caps must bind."""
    d = copy.deepcopy(_base("early_escalation", preset, "default"))
    d["portfolio"]["n_accounts"] = 60
    d["simulation"].update(horizon_days=30, legal_tail_days=0)
    d["collectors"].update(size=2, shift_start_hour=0.0, shift_end_hour=24.0, break_minutes=0.0)
    d["compliance"].update(max_connected_per_day=1, max_unanswered_per_day=1)
    d["policy"]["stages"][0]["actions"][1]["every_days"] = 1
    d["policy"]["stages"][0]["actions"].append({"action": "voice", "start_day": 1, "every_days": 1})
    return scenario_from_dict(d)


def test_binding_per_day_caps_are_enforced() -> None:
    """Under an enforced preset, caps low enough to bind block contacts (counted), and
    no contact that went ahead broke them."""
    sim = Simulation(_daily_calls_scenario("china_2025"), 0, record_events=True)
    res = sim.run()
    assert sim.sc.compliance.enforce
    assert res.kpis["blocked_connected_day"] > 0 and res.kpis["blocked_unanswered_day"] > 0
    counts = recount_breaches(sim, _events(sim))
    assert counts["connected_day"] == 0 and counts["unanswered_day"] == 0, dict(counts)


def test_binding_per_day_caps_are_counted_when_not_enforced() -> None:
    """With the same caps under ``none``, the contacts go ahead and each breach is counted."""
    d = scenario_to_dict(_daily_calls_scenario("none"))
    assert d["compliance"]["enforce"] is False
    sim = Simulation(scenario_from_dict(d), 0, record_events=True)
    res = sim.run()
    counts = recount_breaches(sim, _events(sim))
    assert counts["connected_day"] > 0 and counts["unanswered_day"] > 0
    for rule in ("connected_day", "unanswered_day"):
        assert res.kpis[f"breaches_{rule}"] == counts[rule], rule
