"""Ways escalation can pay: a judgment enforced over time, an agency that keeps working
the accounts it takes, and the book-wide scales along which a ranking may flip."""

from __future__ import annotations

from typing import Any

import numpy as np
from tests.conftest import small
from tests.test_engine_exact import edit

from collectsim.actions import JUDGMENT, Action
from collectsim.engine import Simulation
from collectsim.portfolio import build_portfolio
from collectsim.random_streams import RandomStreams


def _one_action_policy(action: str, day: int) -> dict[str, Any]:
    return {
        "_target_": "collectsim.policies.TreatmentPath",
        "name": f"{action}_on_day_{day}",
        "queue_order": "fifo",
        "stages": [{"name": "all", "dpd_from": 1, "dpd_to": 180, "actions": [{"action": action, "start_day": day}]}],
    }


def _log(sim: Simulation) -> dict[str, np.ndarray]:
    keys = sim.event_log[0].keys()
    return {k: np.concatenate([e[k] for e in sim.event_log]) for k in keys}


def _sued(enforcement_days: float) -> Simulation:
    # Everyone is sued on day 2 and wins after exactly 30 days; nothing is recovered at
    # judgment, so what comes in after it is the enforcement period's.
    sc = small(n=300)
    sc = edit(
        sc,
        policy=_one_action_policy("lawsuit", 2),
        channels__lawsuit__delay_days={"kind": "constant", "value": 30.0},
        channels__lawsuit__win_base=1.0,
        channels__lawsuit__win_ability=0.0,
        channels__lawsuit__recovery_fraction=0.0,
        channels__lawsuit__team_size=300,
        channels__lawsuit__enforcement_days=enforcement_days,
    )
    sim = Simulation(sc, 0, record_events=True)
    sim.run()
    return sim


def test_a_won_judgment_is_enforced_over_time_instead_of_written_off() -> None:
    enforced, at_once = _sued(365.0), _sued(0.0)
    for sim in (enforced, at_once):
        ev = _log(sim)
        j = ev["action"] == JUDGMENT
        assert j.sum() > 50 and ev["connected"][j].all()  # judgments, all won
    ev = _log(enforced)
    j = ev["action"] == JUDGMENT
    idx, t_j = ev["idx"][j], ev["time"][j]
    # Without enforcement every judged account is closed by its judgment; with it, many
    # stay open (in enforcement) for most of a year, and none beyond it.
    assert np.all(at_once.st.close_time[idx] <= t_j + 1e-9)
    late = enforced.st.close_time[idx]
    assert np.any(late > t_j + 300) and np.all(late <= t_j + 365 + 1e-9)
    # Enforcement collects more from the same accounts on the same random numbers.
    assert enforced.st.collected[idx].sum() > at_once.st.collected[idx].sum()


def test_an_agency_keeps_working_the_accounts_it_takes() -> None:
    sc = small(n=400)
    sc = edit(sc, policy=_one_action_policy("outsource", 3), channels__agency__lines_per_day=50)
    sim = Simulation(sc, 0, record_events=True)
    res = sim.run()
    ev = _log(sim)
    code = sim.channels.codes["agency_call"]
    ag = ev["action"] == code
    assert ag.sum() > 500
    assert sim.st.outsourced[ev["idx"][ag]].all()
    # At most lines_per_day a day, and each account at most once every every_days days.
    days = np.floor(ev["time"][ag]).astype(int)
    assert np.bincount(days).max() <= 50
    every = sc.channels.agency.every_days
    for i in np.unique(ev["idx"][ag])[:50]:
        d = np.sort(days[ev["idx"][ag] == i])
        assert np.all(np.diff(d) >= every)
    # Paid only its commission on what it collects (never more than commission x the
    # outsourced accounts' collections); without lines it makes no calls and collects less.
    out = sim.st.outsourced & sim.pf.measured
    assert 0 < res.kpis["cost_outsourcing"] <= sc.channels.outsourcing_commission * sim.st.collected[out].sum()
    idle = Simulation(edit(sc, channels__agency__lines_per_day=0), 0, record_events=True)
    idle_res = idle.run()
    assert not any((e["action"] == code).any() for e in idle.event_log)
    assert res.kpis["collected_total"] > idle_res.kpis["collected_total"]


def test_book_scales_move_the_traits_on_the_same_draws() -> None:
    sc = small(n=2000)
    base = build_portfolio(sc.portfolio, RandomStreams(0, 0))
    same = build_portfolio(edit(sc, portfolio__willingness_scale=1.0).portfolio, RandomStreams(0, 0))
    np.testing.assert_array_equal(base.willingness, same.willingness)
    low = build_portfolio(edit(sc, portfolio__willingness_scale=0.5).portfolio, RandomStreams(0, 0))
    np.testing.assert_allclose(low.willingness, 0.5 * base.willingness)
    np.testing.assert_array_equal(low.ability, base.ability)
    more = build_portfolio(edit(sc, portfolio__hardship_scale=2.0).portfolio, RandomStreams(0, 0))
    shocked, shocked2 = base.hardship_end > base.entry_time, more.hardship_end > more.entry_time
    # Doubling every segment's shock chance keeps every shocked borrower shocked, adds more.
    assert np.all(shocked2[shocked]) and shocked2.sum() > 1.5 * shocked.sum()
    assert Action.OUTSOURCE  # the action codes the policies above use exist
