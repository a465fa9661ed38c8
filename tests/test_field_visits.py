"""Field visits (collectsim.field, policy staged_field, conf/experiment/field_visits.yaml):
only to known addresses above the policy's threshold, inside the permitted hours, never
more than the team can make in a day or the preset allows per account; paid per visit;
nothing changes without them."""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import small

from collectsim import load_scenario, scenario_from_dict
from collectsim.engine import Simulation, build_plugins, run
from collectsim.errors import ConfigError
from collectsim.field import FieldTeam
from collectsim.keys import LEVER, UNCERTAINTY, role
from collectsim.portfolio import build_portfolio
from collectsim.random_streams import RandomStreams
from collectsim.scenario import Scenario, scenario_to_dict

CONF = Path(__file__).resolve().parents[1] / "conf"
VISIT_STEP = "policy.stages.1.actions.3"  # staged_field's visit (stage m2_firm)


def _visits(sim: Simulation) -> dict[str, np.ndarray]:
    """The logged visits, in time order."""
    code = sim.channels.codes["field_visit"]
    ev = {k: np.concatenate([e[k] for e in sim.event_log]) for k in sim.event_log[0]}
    m = ev["action"] == code
    order = np.argsort(ev["time"][m], kind="stable")
    return {k: v[m][order] for k, v in ev.items()}


@contextmanager
def spying() -> Iterator[list[tuple[int, np.ndarray, np.ndarray]]]:
    """Record what the field team is asked to visit each day, with the balances then."""
    asked: list[tuple[int, np.ndarray, np.ndarray]] = []
    plan = FieldTeam.plan_day

    def spy(self: FieldTeam, d: int, idx: np.ndarray, codes: np.ndarray, view: Any) -> None:
        asked.append((d, idx.copy(), view.balance[idx].copy()))
        plan(self, d, idx, codes, view)

    FieldTeam.plan_day = spy  # type: ignore[method-assign]
    try:
        yield asked
    finally:
        FieldTeam.plan_day = plan  # type: ignore[method-assign]


def test_staged_field_is_staged_plus_one_visit() -> None:
    base = yaml.safe_load((CONF / "policy" / "staged.yaml").read_text())
    field = yaml.safe_load((CONF / "policy" / "staged_field.yaml").read_text())
    visit = field["stages"][1]["actions"].pop(3)
    assert visit == {"action": "field_visit", "start_day": 35, "every_days": 0, "min_balance_yuan": 20000}
    assert field.pop("name") == "staged_field" and base.pop("name") == "staged"
    assert field == base


def test_without_a_field_team_staged_field_is_staged() -> None:
    """The study's baseline: no team, every visit request dropped, the run is staged's."""
    a = run(small("policy=staged", n=1500), 0).kpis
    b = run(
        small("policy=staged_field", "channels.field_team.size=0", f"{VISIT_STEP}.min_balance_yuan=3000", n=1500), 0
    )
    assert b.kpis == a
    assert a["visits_total"] == 0 and a["cost_field_visit"] == 0


def test_the_address_draw_leaves_every_other_draw_alone() -> None:
    cfgs = [
        load_scenario([f"portfolio.known_address_share={s}", "portfolio.n_accounts=3000"]).portfolio for s in (0.1, 0.9)
    ]
    lo, hi = (build_portfolio(c, RandomStreams(0, 0)) for c in cfgs)
    for name in ("entry_time", "principal", "ability", "willingness", "contactability", "sensitivity", "score"):
        np.testing.assert_array_equal(getattr(lo, name), getattr(hi, name))
    assert lo.address_known is not None and hi.address_known is not None
    assert np.all(hi.address_known[lo.address_known])  # the same uniform per account
    assert abs(hi.address_known.mean() - 0.9) < 0.02 and abs(lo.address_known.mean() - 0.1) < 0.02


def test_visits_go_to_known_addresses_above_the_threshold_within_capacity_and_hours() -> None:
    threshold = 4000.0
    sc = small(
        "policy=staged_field", f"{VISIT_STEP}.min_balance_yuan={threshold}", "channels.field_team.size=1", n=4000
    )
    sim = Simulation(sc, 0, record_events=True)
    with spying() as asked_by_day:
        res = sim.run()
    v = _visits(sim)
    team, ft = sim.field, sc.channels.field_team
    assert team.capacity == 6 and v["idx"].size > 50
    # The policy asked only for balances at or above its threshold ...
    assert asked_by_day and all(np.all(bal >= threshold) for _, _, bal in asked_by_day)
    asked = np.unique(np.concatenate([idx for _, idx, _ in asked_by_day]))
    assert sim.pf.address_known is not None
    assert not sim.pf.address_known[asked].all()  # ... some without an address ...
    # ... and only known addresses were visited, each one it asked for.
    assert np.all(sim.pf.address_known[v["idx"]]) and np.all(np.isin(v["idx"], asked))
    assert team.no_address > 0 and team.unserved > 0  # the team of one was the bottleneck
    # Never more visits a day than the team makes, each inside its working day and the
    # preset's permitted hours (china_2025: 08:00-22:00).
    day = np.floor(v["time"])
    assert np.bincount(day.astype(int)).max() <= team.capacity
    hour = (v["time"] - day) * 24.0
    assert np.all(hour >= ft.start_hour + ft.travel_minutes / 60 - 1e-9)
    assert np.all(hour + ft.visit_minutes / 60 <= ft.end_hour + 1e-9)
    assert res.kpis["blocked_visit_hours"] == 0
    # Each visit paid once, met or not; a visit that meets the borrower adds stress.
    cost = sc.channels.extra["field_visit"].cost_yuan
    np.testing.assert_allclose(sim.st.cost["field_visit"], sim.st.visits * cost)
    assert v["connected"].any() and not v["connected"].all()
    assert sim.st.visits.sum() == v["idx"].size and sim.st.visits_met.sum() == v["connected"].sum()
    k = res.kpis
    assert k["cost_field_visit"] == pytest.approx(k["visits_total"] * cost)
    assert 0 < k["visits_met_total"] < k["visits_total"]


def test_visits_outside_the_permitted_hours_are_blocked_or_counted() -> None:
    over = ("policy=staged_field", f"{VISIT_STEP}.min_balance_yuan=4000", "channels.field_team.start_hour=5")
    over += ("channels.field_team.end_hour=23.5", "channels.field_team.size=3")
    sim = Simulation(small(*over, "compliance=china_2025", n=3000), 0, record_events=True)
    k = sim.run().kpis
    hour = (_visits(sim)["time"] % 1.0) * 24.0
    assert np.all(hour >= 8.0 - 1e-9) and np.all(hour + 0.5 <= 22.0 + 1e-9)
    assert k["blocked_visit_hours"] > 0
    sim = Simulation(small(*over, "compliance=none", n=3000), 0, record_events=True)
    k = sim.run().kpis
    hour = (_visits(sim)["time"] % 1.0) * 24.0
    outside = (hour < 8.0) | (hour + 0.5 > 21.0 + 1e-9)
    assert outside.any() and k["breaches_visit_hours"] == outside.sum()


def test_the_cap_per_account_holds_in_every_30_days() -> None:
    over = ("policy=staged_field", f"{VISIT_STEP}.min_balance_yuan=4000", f"{VISIT_STEP}.every_days=4")
    sim = Simulation(small(*over, "channels.field_team.size=4", n=3000), 0, record_events=True)
    k = sim.run().kpis
    v = _visits(sim)
    by_account: dict[int, list[float]] = defaultdict(list)
    for i, t in zip(v["idx"].tolist(), v["time"].tolist()):
        by_account[i].append(t)
    worst = max(sum(1 for u in ts if t - 30 < u <= t) for ts in by_account.values() for t in ts)
    assert worst == 2  # china_2025: at most 2 visits in any 30 days, and the cap binds
    assert k["blocked_visit_cap"] > 0
    reg = Simulation(small(*over, "channels.field_team.size=4", "compliance=reg_f", n=3000), 0).run().kpis
    assert reg["blocked_visit_cap"] == 0 and reg["visits_total"] > k["visits_total"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("channels.field_team.size=-1", "channels.field_team.size must be >= 0, got -1"),
        ("channels.field_team.end_hour=8", "channels.field_team.end_hour must be after start_hour (9), got 8"),
        ("channels.field_team.visit_minutes=0", "channels.field_team.visit_minutes must be > 0, got 0"),
        ("channels.field_team.travel_minutes=-5", "channels.field_team.travel_minutes must be >= 0, got -5"),
        ("channels.field_team.travel_minutes=600", "channels.field_team.travel_minutes + visit_minutes must fit"),
        ("channels.field_team.found_prob=1.5", "channels.field_team.found_prob must be in [0, 1], got 1.5"),
        ("compliance.visit_end_hour=25", "compliance.visit_end_hour must be in [0, 24], got 25"),
        ("compliance.visit_start_hour=23", "compliance.visit_end_hour must be after visit_start_hour (23), got 22"),
        ("compliance.max_visits_30d=-1", "compliance.max_visits_30d must be >= 0, got -1"),
        ("portfolio.known_address_share=2", "portfolio.known_address_share must be in [0, 1], got 2"),
        ("channels.extra.field_visit.kind=visitt", "channels.extra.field_visit.kind must be one of message, dialler"),
        ("channels.extra.field_visit.third_party=true", "channels.field_visit.third_party needs kind agent"),
    ],
)
def test_config_errors_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_scenario([override])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_team_and_threshold_are_levers_the_visit_effects_uncertainties() -> None:
    for key in ("channels.field_team.size", "channels.field_team.end_hour", f"{VISIT_STEP}.min_balance_yuan"):
        assert role(key) == LEVER, key
    for name in ("impulse", "reactance", "stress_increment", "complaint_prob", "priority_gain"):
        assert role(f"channels.extra.field_visit.{name}") == UNCERTAINTY, name
    for key in (
        "channels.field_team.found_prob",
        "channels.field_team.travel_minutes",
        "portfolio.known_address_share",
    ):
        assert role(key) == UNCERTAINTY, key


def test_a_visit_cannot_carry_a_settlement_offer() -> None:
    with pytest.raises(
        ConfigError, match="settlement_discount can only be offered in a call that holds a conversation"
    ):
        build_plugins(load_scenario(["policy=staged_field", f"+{VISIT_STEP}.settlement_discount=0.2"]))


# ----------------------------------------------------------------------------- invariants


@cache
def _base(preset: str) -> dict[str, Any]:
    return scenario_to_dict(load_scenario(["policy=staged_field", f"compliance={preset}", "portfolio.arrival=cohort"]))


@st.composite
def visit_scenarios(draw: st.DrawFn) -> Scenario:
    d = copy.deepcopy(_base(draw(st.sampled_from(["china_2025", "reg_f", "none"]))))
    d["portfolio"]["n_accounts"] = draw(st.integers(50, 400))
    d["portfolio"]["known_address_share"] = draw(st.sampled_from([0.0, 0.5, 1.0]))
    d["simulation"]["seed"] = draw(st.integers(0, 10_000))
    d["simulation"]["horizon_days"] = draw(st.integers(40, 120))
    d["collectors"]["size"] = 1
    ft = d["channels"]["field_team"]
    ft["size"] = draw(st.integers(0, 3))
    ft["start_hour"] = draw(st.sampled_from([6.0, 9.0]))
    ft["end_hour"] = draw(st.sampled_from([18.0, 23.0]))
    ft["travel_minutes"] = draw(st.sampled_from([0.0, 45.0]))
    ft["visit_minutes"] = draw(st.sampled_from([20.0, 60.0]))
    step = d["policy"]["stages"][1]["actions"][3]
    step["min_balance_yuan"] = draw(st.sampled_from([0.0, 5000.0]))
    step["every_days"] = draw(st.sampled_from([0, 3]))
    return scenario_from_dict(d)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(visit_scenarios())
def test_visit_invariants(sc: Scenario) -> None:
    sim = Simulation(sc, 0, record_events=True)
    with spying() as asked:
        res = sim.run()
    s, pf, cp, ft = sim.st, sim.pf, sc.compliance, sc.channels.field_team
    # Money is conserved; each visit is paid once.
    np.testing.assert_allclose(
        pf.principal + s.interest, s.collected + s.discount + s.written_off + s.sold + s.balance, rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(s.cost["field_visit"], s.visits * sc.channels.extra["field_visit"].cost_yuan)
    threshold = sc.policy["stages"][1]["actions"][3]["min_balance_yuan"]
    assert all(np.all(bal >= threshold) for _, _, bal in asked)
    if not sim.event_log or s.visits.sum() == 0:
        return
    v = _visits(sim)
    assert pf.address_known is not None and np.all(pf.address_known[v["idx"]])
    day = np.floor(v["time"])
    assert np.bincount(day.astype(int)).max() <= ft.size * sim.field.slots
    hour = (v["time"] - day) * 24.0
    assert np.all(hour + ft.visit_minutes / 60 <= ft.end_hour + 1e-9)
    start, end = sim.comp.visit_hours()
    outside = (hour < start - 1e-9) | (hour + ft.visit_minutes / 60 > end + 1e-9)
    over_cap = np.zeros(v["idx"].size, dtype=bool)
    if cp.max_visits_30d is not None:
        seen: dict[int, list[float]] = defaultdict(list)
        for j, (i, t) in enumerate(zip(v["idx"].tolist(), v["time"].tolist())):
            over_cap[j] = sum(1 for u in seen[i] if u > t - 30) >= cp.max_visits_30d
            seen[i].append(t)
    if cp.enforce:
        assert not outside.any() and not over_cap.any()
    else:
        measured = pf.measured[v["idx"]]
        assert res.kpis["breaches_visit_hours"] == outside[measured].sum()
        assert res.kpis["breaches_visit_cap"] == over_cap[measured].sum()
    assert not math.isnan(res.kpis["visits_total"])
