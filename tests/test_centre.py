"""The collection centre as it operates: steady inflow, redials under a retry rule,
hourly reachability, third-party calls, the pressure policy against the contact rules,
stress that lowers repayment and can backfire, and the breach price kept apart."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import small
from tests.test_engine_exact import daily_calls_policy, edit, quiet

from collectsim import ConfigError, load_scenario
from collectsim.behaviour import Borrowers, Contacts, StandardResponse
from collectsim.channels import ChannelTable
from collectsim.engine import Simulation
from collectsim.portfolio import build_portfolio
from collectsim.random_streams import RandomStreams


def _log(sim: Simulation) -> dict[str, np.ndarray]:
    keys = sim.event_log[0].keys()
    return {k: np.concatenate([e[k] for e in sim.event_log]) for k in keys}


# --------------------------------------------------------------------------- arrivals
def test_stream_is_the_default_and_measures_the_window_only() -> None:
    sc = load_scenario(["portfolio.n_accounts=3000", "collectors.size=1"])
    assert sc.portfolio.arrival == "stream"
    pf = build_portfolio(sc.portfolio, RandomStreams(0, 0))
    p = sc.portfolio
    assert pf.n == 3000
    assert np.all(np.diff(pf.entry_time) >= 0)
    assert pf.entry_time.min() >= 0 and pf.entry_time.max() < p.warmup_days + p.arrival_days + p.cooldown_days
    inside = (pf.entry_time >= p.warmup_days) & (pf.entry_time < p.warmup_days + p.arrival_days)
    np.testing.assert_array_equal(pf.measured, inside)
    res = Simulation(sc, 0).run()
    assert res.kpis["accounts"] == inside.sum()
    # Capacity is measured over the window's days: the day series covers them.
    day = res.series["day"] - 1
    w = (day >= p.warmup_days) & (day < p.warmup_days + p.arrival_days)
    busy, avail = res.series["busy_minutes"][w].sum(), res.series["available_minutes"][w].sum()
    assert res.kpis["collector_utilisation"] == pytest.approx(busy / avail)


# --------------------------------------------------------------------------- redials
def _redial_scenario(attempts: int, gap: float, last_hour: float, reach: float, *more: str):  # type: ignore[no-untyped-def]
    sc = small(*more, n=30)
    policy = daily_calls_policy()
    policy["retry"] = {"attempts_per_day": attempts, "gap_minutes": gap, "last_hour": last_hour}
    ch = quiet(sc)
    for i in range(3):
        ch[f"portfolio__segments__{i}__contactability"] = {"kind": "constant", "value": 1.0}
    ch["portfolio__reach_by_hour"] = [reach] * 24
    return edit(sc, **ch, policy=policy, collectors__size=2, simulation__horizon_days=5, simulation__legal_tail_days=0)


def test_unanswered_numbers_are_redialled_under_the_retry_rule() -> None:
    # Nobody ever answers: every account gets exactly its daily attempts, gap apart,
    # none at or after the last hour.
    sc = _redial_scenario(attempts=4, gap=60.0, last_hour=14.0, reach=0.0)
    sim = Simulation(sc, 0, record_events=True)
    sim.run()
    ev = _log(sim)
    calls = ev["agent"] >= 0
    day = np.floor(ev["time"][calls]).astype(int)
    acc = ev["idx"][calls]
    t = ev["time"][calls]
    assert not ev["connected"][calls].any()
    for d in range(5):
        for i in range(30):
            ti = np.sort(t[(day == d) & (acc == i)])
            assert ti.size == 4, (d, i, ti)
            assert np.all(np.diff(ti) >= 60.0 / 1440 - 1e-9)
            assert np.all((ti - d) * 24 < 14.0 + 4.0 / 60)  # scheduled before 14:00


def test_a_round_the_clock_team_redials_every_day() -> None:
    # Agents working across midnight start a new day for the retry rule at midnight.
    sc = _redial_scenario(4, 60.0, 14.0, 0.0, "compliance=none")
    sc = edit(sc, collectors__shift_start_hour=0.0, collectors__shift_end_hour=24.0, collectors__break_minutes=0.0)
    sim = Simulation(sc, 0, record_events=True)
    sim.run()
    assert sim.pool.continuous
    ev = _log(sim)
    calls = ev["agent"] >= 0
    day = np.floor(ev["time"][calls]).astype(int)
    counts = np.bincount(day * 30 + ev["idx"][calls], minlength=5 * 30).reshape(-1, 30)[:5]
    assert np.all(counts == 4), counts


def test_no_redial_with_one_attempt_a_day() -> None:
    sc = _redial_scenario(attempts=1, gap=60.0, last_hour=20.0, reach=0.0)
    sim = Simulation(sc, 0, record_events=True)
    sim.run()
    ev = _log(sim)
    calls = ev["agent"] >= 0
    day = np.floor(ev["time"][calls]).astype(int)
    pairs = day * 1000 + ev["idx"][calls]
    assert np.unique(pairs).size == pairs.size == 5 * 30


def test_reachability_follows_the_hour() -> None:
    # Reachable only 12:00-13:00: every conversation starts in that hour (no per-day
    # attempt cap, so that the redials get there).
    sc = _redial_scenario(10, 30.0, 21.0, 0.0, "compliance=none")
    reach = [0.0] * 24
    reach[12] = 1.0
    sc = edit(sc, portfolio__reach_by_hour=reach)
    sim = Simulation(sc, 0, record_events=True)
    sim.run()
    ev = _log(sim)
    conn = ev["connected"] & (ev["agent"] >= 0)
    assert conn.any()
    hours = (ev["time"][conn] % 1.0) * 24
    assert np.all((hours >= 12.0) & (hours < 13.0))


# --------------------------------------------------------------------------- shifts
def test_the_break_falls_inside_the_shift_and_the_evening_is_worked() -> None:
    # Nobody answers and every number is redialled every 10 minutes: agents call until
    # the end of the shift (22:00) and never during the break (14:00-16:00).
    sc = _redial_scenario(60, 10.0, 23.5, 0.0, "compliance=none")
    sim = Simulation(sc, 0, record_events=True)
    sim.run()
    ev = _log(sim)
    hours = (ev["time"][ev["agent"] >= 0] % 1.0) * 24
    assert sc.collectors.break_after_hours == 4.0 and sc.collectors.shift_start_hour == 10.0
    assert (hours >= 19.0).sum() > 0 and hours.max() < 22.0
    assert not np.any((hours >= 14.0) & (hours < 16.0))
    assert (hours < 14.0).any() and ((hours >= 16.0) & (hours < 19.0)).any()


def test_a_later_calling_window_moves_the_shift_later() -> None:
    # Calls until 23:00 are worked only where the rule allows them: the shift follows
    # the window, so the window's price is measured (not 0 by construction).
    sc = _redial_scenario(6, 150.0, 23.5, 0.0, "compliance=china_2025_window_23")
    sim = Simulation(sc, 0, record_events=True)
    sim.run()
    hours = (_log(sim)["time"] % 1.0) * 24
    assert hours.max() >= 22.0 and hours.max() < 23.0 and hours.min() >= 11.0 - 1e-6
    # Without following the window, nothing happens after 22:00.
    sim = Simulation(edit(sc, collectors__shift_follows_window=False), 0, record_events=True)
    sim.run()
    assert ((_log(sim)["time"] % 1.0) * 24).max() < 22.0


def test_third_parties_may_be_called_only_to_locate_an_unreachable_borrower() -> None:
    # Nobody answers their own number; the preset allows a contact to be called once
    # the last 6 own-number attempts failed. Every allowed third-party call comes after
    # such a streak; the others are blocked.
    sc = small("policy=pressure", "compliance=china_2025_third_party", n=200)
    ch = quiet(sc)
    for i in range(3):
        ch[f"portfolio__segments__{i}__contactability"] = {"kind": "constant", "value": 0.0}
    sc = edit(sc, **ch, simulation__horizon_days=15)
    sim = Simulation(sc, 0, record_events=True)
    res = sim.run()
    ev = _log(sim)
    table = ChannelTable(sc.channels)
    tp = table.codes["third_party_call"]
    assert sc.compliance.third_party_locate_after == 6
    made = ev["action"] == tp
    assert made.any() and res.kpis["blocked_third_party"] > 0
    own = table.is_call[ev["action"]] & ~made  # collector and dialler calls to the borrower
    for i, t in zip(ev["idx"][made], ev["time"][made]):
        before = own & (ev["idx"] == i) & (ev["time"] < np.floor(t))
        assert before.sum() >= 6


# --------------------------------------------------------------------------- third parties and pressure
@pytest.mark.parametrize("preset", ["china_2025", "reg_f", "none"])
def test_pressure_policy_meets_the_rules(preset: str) -> None:
    sc = small("policy=pressure", f"compliance={preset}", n=600)
    sim = Simulation(sc, 0, record_events=True)
    res = sim.run()
    ev = _log(sim)
    tp = ChannelTable(sc.channels).codes["third_party_call"]
    made = int((ev["action"] == tp).sum())
    if preset == "none":
        # Nothing is blocked; each third-party call made is a breach.
        assert not any(v for k, v in res.kpis.items() if k.startswith("blocked_"))
        assert made > 0 and res.kpis["breaches_third_party"] == made
        assert res.kpis["breaches_unanswered_day"] > 0 and res.kpis["breaches_window"] > 0
        assert res.kpis["breach_cost"] == pytest.approx(
            sc.compliance.cost_per_breach_yuan * sum(v for k, v in res.kpis.items() if k.startswith("breaches_"))
        )
    else:
        # The rules block a measurable share of its requests, third-party calls all.
        assert made == 0 and res.kpis["blocked_third_party"] > 0
        # Its redials run into the per-day (china_2025) or per-week (reg_f) attempt caps.
        cap = "blocked_unanswered_day" if preset == "china_2025" else "blocked_attempts_7d"
        assert res.kpis[cap] > 0
        assert res.kpis["breach_cost"] == 0.0
    # The breach price is never folded into net recovery.
    assert res.kpis["net_recovery"] == pytest.approx(res.kpis["collected_total"] - res.kpis["cost_total"])


def test_third_party_calls_are_not_conversations_with_the_borrower() -> None:
    # Nobody pays or promises, so no account closes before charge-off and every call
    # in the log is applied.
    sc = small("policy=pressure", "compliance=none", n=100)
    sc = edit(sc, **quiet(sc), simulation__horizon_days=20)
    sim = Simulation(sc, 0, record_events=True)
    sim.run()
    ev = _log(sim)
    tp = ChannelTable(sc.channels).codes["third_party_call"]
    own = (ev["agent"] >= 0) & (ev["action"] != tp)
    # Right-party conversations counted per account equal the borrower's own answered calls.
    want = np.bincount(ev["idx"][own & ev["connected"]], minlength=sim.pf.n)
    np.testing.assert_array_equal(sim.st.conversations, want)
    assert ((ev["action"] == tp) & ev["connected"]).any()


# --------------------------------------------------------------------------- stress
def _response(**stress: float) -> tuple[StandardResponse, ChannelTable]:
    sc = small(n=20)
    channels = ChannelTable(sc.channels)
    cfg = sc.stress.__class__(**{**sc.stress.__dict__, **stress})
    params = {k: v for k, v in sc.response.items() if k != "_target_"}
    model = StandardResponse.from_config(params, "response", stress=cfg, conversation=sc.conversation)
    streams = RandomStreams(0, 0)
    model.start(build_portfolio(sc.portfolio, streams), streams, channels)
    return model, channels


def test_reactance_acts_only_on_channels_configured_for_it() -> None:
    # Third-party calls carry a reactance by default; firm calls to the borrower do not.
    model, ch = _response(reactance_threshold=3.0, response_effect=0.0)
    stress = np.array([0.0, 2.9, 3.5, 8.0])
    n = stress.size
    b = Borrowers(
        np.full(n, 0.8), np.full(n, 0.8), np.ones(n), stress, np.zeros(n, bool), np.zeros(n, bool), np.ones(n)
    )

    def strength(name: str) -> np.ndarray:
        c = Contacts(
            np.arange(n),
            np.zeros(n),
            np.full(n, ch.codes[name]),
            np.ones(n, bool),
            np.ones(n),
            np.ones(n),
            np.zeros(n),
        )
        return model.respond(c, b).strength

    for name in ("third_party_call", "firm_call"):
        code = ch.codes[name]
        base = ch.impulse[code] * 0.8 ** ch.ability_exp[code]
        r = ch.reactance[code]
        np.testing.assert_allclose(strength(name), [base, base, base - 0.5 * r, base - 5.0 * r])
    assert ch.reactance[ch.codes["third_party_call"]] > 0 == ch.reactance[ch.codes["firm_call"]]
    assert strength("third_party_call")[3] < 0 < strength("firm_call")[3]


def test_breach_and_frequency_reactance_act_where_the_account_was_hounded() -> None:
    sc = small(n=20)
    channels = ChannelTable(sc.channels)
    model = StandardResponse(
        sc.stress, sc.conversation, breach_reactance=0.3, frequency_threshold_7d=7, frequency_reactance=0.05
    )
    streams = RandomStreams(0, 0)
    model.start(build_portfolio(sc.portfolio, streams), streams, channels)
    n, code = 4, channels.codes["soft_call"]
    c = Contacts(np.arange(n), np.zeros(n), np.full(n, code), np.ones(n, bool), np.ones(n), np.ones(n), np.zeros(n))
    b = Borrowers(
        np.full(n, 0.8),
        np.full(n, 0.8),
        np.ones(n),
        np.zeros(n),
        np.zeros(n, bool),
        np.zeros(n, bool),
        np.ones(n),
        breached=np.array([False, True, False, True]),
        attempts_7d=np.array([3, 3, 10, 10]),
    )
    s = model.respond(c, b).strength
    np.testing.assert_allclose(s - s[0], [0.0, -0.3, -0.15, -0.45])


def test_a_legal_threat_lifts_willingness_for_its_credibility_days() -> None:
    model, ch = _response()
    code = ch.codes["legal_warning"]
    lift, days = ch.credibility_lift[code], ch.credibility_days[code]
    assert lift > 0 and days > 0
    idx = np.array([0, 1])
    w = model.pf.willingness[idx]
    f0 = model.willingness_factor(idx, 5.0, np.zeros(2))
    c = Contacts(
        idx, np.array([5.0, 5.0]), np.full(2, code), np.array([True, False]), np.ones(2), np.ones(2), np.zeros(2)
    )
    b = Borrowers(np.full(2, 0.8), w, np.ones(2), np.zeros(2), np.zeros(2, bool), np.zeros(2, bool), np.ones(2))
    model.respond(c, b)
    f1 = model.willingness_factor(idx, 6.0, np.zeros(2))
    share = model.share(idx, 6.0) / model.share(idx, 5.0)
    # Delivered: willingness w -> w + lift (1 - w) until day 5 + days; unanswered: nothing.
    np.testing.assert_allclose(f1[0], (w[0] + lift * (1 - w[0])) / w[0] * model.share(idx[:1], 6.0)[0])
    np.testing.assert_allclose(f1[1], f0[1] * share[1])
    after = model.willingness_factor(idx, 5.0 + days + 1.0, np.zeros(2))
    np.testing.assert_allclose(after[0], model.share(idx[:1], 5.0 + days + 1.0)[0])


def test_firm_contact_buys_priority_among_creditors() -> None:
    model, ch = _response()
    rate = model.competition_rate
    assert rate > 0
    idx = np.array([0, 1])
    entry = model.pf.entry_time[idx]
    t = entry + 50.0
    np.testing.assert_allclose(model.share(idx, t), np.exp(-rate * 50.0))
    firm, soft = ch.codes["firm_call"], ch.codes["soft_call"]
    g = ch.priority_gain[firm]
    assert g > 0 == ch.priority_gain[soft]
    c = Contacts(idx, t, np.array([firm, soft]), np.ones(2, bool), np.ones(2), np.ones(2), np.zeros(2))
    b = Borrowers(
        np.full(2, 0.8), np.full(2, 0.8), np.ones(2), np.zeros(2), np.zeros(2, bool), np.zeros(2, bool), np.ones(2)
    )
    model.respond(c, b)
    np.testing.assert_allclose(model.share(idx, t + 10.0), np.exp(-rate * np.array([(1 - g) * 50.0 + 10.0, 60.0])))


def test_stress_weakens_every_channel() -> None:
    model, ch = _response(response_effect=0.2)
    n = len(ch)
    codes = np.arange(n)
    stress = np.full(n, 2.0)
    c = Contacts(codes, np.zeros(n), codes, np.ones(n, bool), np.ones(n), np.ones(n), np.zeros(n))
    calm = Borrowers(
        np.full(n, 0.7), np.full(n, 0.7), np.ones(n), np.zeros(n), np.zeros(n, bool), np.zeros(n, bool), np.ones(n)
    )
    tense = Borrowers(
        np.full(n, 0.7), np.full(n, 0.7), np.ones(n), stress, np.zeros(n, bool), np.zeros(n, bool), np.ones(n)
    )
    s0, s2 = (
        model.strength(c, calm, model.willingness_eff(calm)),
        model.strength(c, tense, model.willingness_eff(tense)),
    )
    active = s0 > 0
    # Firm and legal channels (willingness exponent 0) are weakened too.
    assert np.all(s2[active] <= s0[active] * np.exp(-0.2 * 2.0) + 1e-15)
    assert active[ch.codes["firm_call"]] and active[ch.codes["lawsuit"]]


def test_stress_lowers_the_borrowers_own_intensity() -> None:
    sc = small(n=50)
    sim = Simulation(sc, 0)
    beh = sim.behaviour
    pf = build_portfolio(sc.portfolio, RandomStreams(0, 0))
    beh.start(pf, RandomStreams(0, 0), 180.0)
    idx = np.flatnonzero(~beh.in_hardship)[:10]
    floor0 = beh.floor[idx].copy()
    beh.set_willingness_factor(idx, 0.0, np.full(idx.size, 0.5))
    # floor = floor_rate * ability**a * (willingness * factor)**b with b = 2.
    np.testing.assert_allclose(beh.floor[idx], floor0 * 0.5 ** beh.p["floor_willingness_exp"], rtol=1e-12)
    beh.set_willingness_factor(idx, 1.0, np.ones(idx.size))
    np.testing.assert_allclose(beh.floor[idx], floor0, rtol=1e-12)


def test_a_run_with_stress_on_intensity_hands_factors_to_the_behaviour_model() -> None:
    sc = small("policy=early_escalation", n=300)
    sim = Simulation(sc, 0)
    sim.run()
    assert sim._factor.min() < 0.9  # noqa: SLF001 - stressed borrowers' repayment was lowered
    # Without stress on intensity, credibility or competing creditors, nothing moves it.
    off = edit(
        sc,
        stress__intensity_effect=0.0,
        response={"_target_": "collectsim.behaviour.StandardResponse"},
        channels__legal_warning__credibility_lift=0.0,
        channels__lawsuit__credibility_lift=0.0,
        channels__lawsuit__enforcement_lift=0.0,
    )
    sim0 = Simulation(off, 0)
    sim0.run()
    assert np.all(sim0._factor == 1.0)  # noqa: SLF001


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("portfolio.reach_by_hour=[0.5,0.5]", "portfolio.reach_by_hour must list 24 values (hours 00 to 23), got 2"),
        (
            "portfolio.reach_by_hour=[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,1.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]",
            "portfolio.reach_by_hour.13 must be in [0, 1], got 1.5",
        ),
        ("+policy.retry.gap_minutes=-5", "policy.retry.gap_minutes must be >= 0, got -5"),
        ("+policy.retry.attempts_per_day=0", "policy.retry.attempts_per_day must be >= 1 (1: no retry), got 0"),
        (
            "policy.stages.0.actions.0.action=carrier_pigeon",
            "policy.stages.0.actions.0.action must be one of sms, voice, soft_call, firm_call, legal_warning, "
            "lawsuit, outsource, debt_sale, third_party_call, contact_threat, notify_contacts, agency_call, education, field_visit, ai_call, got 'carrier_pigeon' "
            "(a channel defined under channels.extra.carrier_pigeon would be one)",
        ),
    ],
)
def test_bad_centre_input_names_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        Simulation(load_scenario(["policy=do_nothing" if "retry" in override else "policy=staged", override]), 0)
    assert str(err.value) == message


def test_champion_challenger_arms_must_share_the_retry_rule() -> None:
    # One team and one dialler serve both arms; a challenger with its own retry rule would
    # silently be run under the champion's.
    with pytest.raises(ConfigError) as err:
        Simulation(load_scenario(["policy=champion_challenger", "policy@policy.challenger=pressure"]), 0)
    assert str(err.value) == (
        "policy.challenger.retry (attempts_per_day=10, gap_minutes=90, last_hour=23.5) differs from "
        "policy.champion.retry (attempts_per_day=3, gap_minutes=120, last_hour=20); both arms share one team "
        "and one dialler, which redial under one rule: give the arms the same retry, e.g. "
        "policy.challenger.retry.attempts_per_day=3 policy.challenger.retry.gap_minutes=120 "
        "policy.challenger.retry.last_hour=20"
    )
    same = load_scenario(
        [
            "policy=champion_challenger",
            "policy@policy.challenger=pressure",
            "policy.challenger.retry.attempts_per_day=3",
            "policy.challenger.retry.gap_minutes=120",
            "policy.challenger.retry.last_hour=20",
        ]
    )
    assert Simulation(same, 0).policy.retry.attempts_per_day == 3


def test_an_arm_without_redialled_calls_takes_the_other_arms_rule() -> None:
    # do_nothing sends reminders only: nothing of it is redialled, so it does not conflict
    # with staged's rule, which the team then redials under.
    for arm in ("champion", "challenger"):
        sc = load_scenario(["policy=champion_challenger", f"policy@policy.{arm}=do_nothing"])
        sim = Simulation(sc, 0)
        other = "challenger" if arm == "champion" else "champion"
        assert sc.policy[arm]["name"] == "do_nothing" and "retry" not in sc.policy[arm]
        assert sim.policy.retry.attempts_per_day == sc.policy[other]["retry"]["attempts_per_day"] == 3
