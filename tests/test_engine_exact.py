"""Tiny hand-made scenarios whose outcome is known exactly."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from tests.conftest import small

from collectsim import scenario_from_dict
from collectsim.actions import Action
from collectsim.engine import Simulation
from collectsim.scenario import Scenario, scenario_to_dict

NEVER_PAYS = {"_target_": "collectsim.behaviour.RollRate", "cure_prob": [0.0, 0.0, 0.0, 0.0], "impulse_scale": 0.0}


def daily_calls_policy(action: str = "soft_call") -> dict[str, Any]:
    return {
        "_target_": "collectsim.policies.TreatmentPath",
        "name": "daily_calls",
        "queue_order": "fifo",
        "stages": [
            {
                "name": "all",
                "dpd_from": 1,
                "dpd_to": 180,
                "actions": [{"action": action, "start_day": 1, "every_days": 1}],
            }
        ],
    }


def edit(sc: Scenario, **changes: Any) -> Scenario:
    """Rebuild a scenario with dotted-path changes, e.g. ``{"collectors.size": 1}``."""
    d = copy.deepcopy(scenario_to_dict(sc))
    for path, value in changes.items():
        node = d
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        node[keys[-1]] = value
    return scenario_from_dict(d)


def quiet(sc: Scenario, n_segments: int = 3) -> dict[str, Any]:
    """Changes that make every borrower reachable, never stressed out of reach and
    never promising or disclosing hardship."""
    ch: dict[str, Any] = {
        "behaviour": NEVER_PAYS,
        "stress__contactability_effect": 0.0,
        "conversation__ptp_base": 0.0,
        "portfolio__reach_by_hour": [1.0] * 24,
    }
    for i in range(n_segments):
        ch[f"portfolio__segments__{i}__contactability"] = {"kind": "constant", "value": 1.0}
        ch[f"portfolio__segments__{i}__hardship_prob"] = 0.0
    return ch


def test_no_repayment_means_write_off_of_principal_plus_simple_interest() -> None:
    sc = small("policy=do_nothing", n=200)
    sc = edit(sc, behaviour=NEVER_PAYS)
    sim = Simulation(sc, 0)
    res = sim.run()
    pf, st = sim.pf, sim.st
    # 180 daily accruals of contract + penalty interest (1 + 1.5) on the principal.
    expected = pf.principal * (1.0 + 180 * pf.daily_rate * 2.5)
    np.testing.assert_allclose(st.written_off, expected, rtol=1e-12)
    assert res.kpis["collected_total"] == 0.0
    assert res.kpis["writeoff_rate"] == 1.0
    # SMS on days past due 1, 8, ..., 176: 26 reminders per account at 0.05 yuan.
    assert np.all(st.actions_done[:, Action.SMS] == 26)
    assert abs(res.kpis["cost_sms"] - 200 * 26 * 0.05) < 1e-9
    assert res.kpis["cost_total"] == res.kpis["cost_sms"] + res.kpis["cost_regulatory"] + res.kpis["cost_collectors"]


def test_one_collector_works_an_exact_day() -> None:
    sc = small(n=200)
    sc = edit(
        sc,
        **quiet(sc),
        policy=daily_calls_policy(),
        collectors__size=1,
        collectors__connected_minutes={"kind": "constant", "value": 4.0},
        # A 09:00-21:00 shift whose break comes off its end (no break inside the day).
        collectors__shift_start_hour=9.0,
        collectors__shift_end_hour=21.0,
        collectors__break_after_hours=None,
        collectors__shift_follows_window=False,
    )
    sim = Simulation(sc, 0, record_events=True)
    sim.run()
    day0 = [e for e in sim.event_log if e["idx"].size and np.floor(e["time"][0]) == 0]
    calls = np.concatenate([e["time"][np.isin(e["action"], [int(Action.SOFT_CALL)])] for e in day0])
    # Shift 09:00-21:00 less 120 minutes of breaks = 600 minutes of 4-minute calls, but
    # the agent stops at 90 conversations a day.
    assert calls.size == 90
    np.testing.assert_allclose(calls, 9.0 / 24 + np.arange(90) * 4.0 / 1440, rtol=0, atol=1e-12)
    # FIFO by request order: accounts 0..89 on day 0, the 110 others carried to day 1.
    idx0 = np.concatenate([e["idx"] for e in day0])
    assert sorted(idx0.tolist()) == list(range(90))
    for _day, _agent, _start, end, last_end, convs in sim.pool.shift_log:
        assert last_end <= end + 1e-12 and convs <= 90


def test_reg_f_cooldown_blocks_calls_for_seven_days_after_a_conversation() -> None:
    sc = small("compliance=reg_f", n=5)
    sc = edit(
        sc,
        **quiet(sc),
        policy=daily_calls_policy(),
        collectors__shift_start_hour=9.0,
        collectors__shift_end_hour=21.0,
        collectors__break_after_hours=None,
    )
    sim = Simulation(sc, 0)
    res = sim.run()
    # A call on days 0, 7, ..., 175 (26 conversations); the 154 daily requests between
    # are blocked by the 7-day cooldown.
    assert np.all(sim.st.conversations == 26)
    assert res.kpis["blocked_cooldown"] == 5 * 154
    assert res.kpis["blocked_attempts_7d"] == 0


def test_none_preset_counts_breaches_instead_of_blocking() -> None:
    sc = small("compliance=none", n=5)
    sc = edit(sc, **quiet(sc), policy=daily_calls_policy())
    sim = Simulation(sc, 0)
    res = sim.run()
    assert np.all(sim.st.conversations == 180)
    # Every call after the first comes within 7 days of the previous conversation.
    assert res.kpis["breaches_cooldown"] == 5 * 179
    assert "blocked_cooldown" not in res.kpis


def test_money_is_conserved_per_account() -> None:
    for pol in ("staged", "soft_first", "early_escalation"):
        sim = Simulation(small(f"policy={pol}", n=1500), 1)
        sim.run()
        st, pf = sim.st, sim.pf
        lhs = pf.principal + st.interest
        rhs = st.collected + st.discount + st.written_off + st.sold + st.balance
        np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-6)
        assert np.all(st.balance[st.status != 1] == 0)
