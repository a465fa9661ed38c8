"""The response model on its own, without an engine, and the behaviour model's side of a
contact that backfires."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import small

from collectsim.behaviour import Borrowers, Contacts, StandardResponse
from collectsim.behaviour.intensity import waiting_times
from collectsim.channels import ChannelTable
from collectsim.portfolio import build_portfolio
from collectsim.random_streams import RandomStreams


@pytest.fixture
def standard() -> tuple[StandardResponse, ChannelTable]:
    sc = small(n=50)
    channels = ChannelTable(sc.channels)
    model = StandardResponse.from_config({}, "response", stress=sc.stress, conversation=sc.conversation)
    streams = RandomStreams(0, 0)
    model.start(build_portfolio(sc.portfolio, streams), streams, channels)
    return model, channels


def _step(channels: ChannelTable, names: list[str], connected: list[bool], stress: list[float]) -> tuple:
    n = len(names)
    contacts = Contacts(
        idx=np.arange(n),
        time=np.full(n, 3.5),
        channel=np.array([channels.codes[c] for c in names]),
        connected=np.array(connected),
        skill=np.full(n, 1.2),
        harshness=np.ones(n),
        discount=np.zeros(n),
    )
    borrowers = Borrowers(
        ability=np.full(n, 0.64),
        willingness=np.full(n, 0.81),
        sensitivity=np.ones(n),
        stress=np.array(stress),
        in_hardship=np.zeros(n, dtype=bool),
        can_commit=np.ones(n, dtype=bool),
        balance=np.full(n, 1000.0),
    )
    return contacts, borrowers


def test_strength_follows_the_channel_formula(standard: tuple[StandardResponse, ChannelTable]) -> None:
    model, ch = standard
    names = ["sms", "voice", "soft_call", "firm_call", "legal_warning", "soft_call"]
    contacts, borrowers = _step(ch, names, [True, True, True, True, True, False], [0.0, 0.5, 1.0, 2.0, 0.0, 1.0])
    out = model.respond(contacts, borrowers)
    cfg = model.stress_cfg
    s = borrowers.stress
    w_eff = 0.81 * np.exp(-cfg.willingness_effect * s)
    code = contacts.channel
    want = ch.impulse[code] * 0.64 ** ch.ability_exp[code] * w_eff ** ch.willingness_exp[code] * 1.2
    # Reactance only where a channel has it (none of these by default).
    want = want * np.exp(-cfg.response_effect * s) - ch.reactance[code] * np.maximum(s - cfg.reactance_threshold, 0)
    assert not ch.reactance[code].any()
    want[-1] = 0.0  # an unanswered call does nothing
    np.testing.assert_allclose(out.strength, want, rtol=1e-14)
    assert not out.complaint[-1]
    # Only connected collector calls can end in a conversation outcome.
    outcome = ~np.isnan(out.promise_days) | (out.plan_instalments > 0)
    assert not outcome[[0, 1, 4, 5]].any()


def test_contact_stress_is_the_channel_increment_times_harshness(
    standard: tuple[StandardResponse, ChannelTable],
) -> None:
    model, ch = standard
    for row in ch.channels:
        assert model.contact_stress(row.code, 1.5) == pytest.approx(1.5 * ch.stress_increment[row.code])


def test_promises_keep_the_flag_drawn_when_made(standard: tuple[StandardResponse, ChannelTable]) -> None:
    model, ch = standard
    contacts, borrowers = _step(ch, ["soft_call"] * 40, [True] * 40, [0.0] * 40)
    out = model.respond(contacts, borrowers)
    made = np.flatnonzero(~np.isnan(out.promise_days))
    assert made.size > 0
    kept = model.promise_kept(made, 10.0, borrowers)
    np.testing.assert_array_equal(kept, model.keep[made])


def test_waiting_time_from_a_zero_intensity_solves_the_compensator() -> None:
    # A contact that backfired can leave the intensity at 0, below its floor.
    floor = np.array([0.0028, 0.02, 0.5, 1e-6])
    e = np.array([0.015, 1.0, 3.0, 0.2])
    kappa = 0.1
    tau = waiting_times(np.zeros(4), floor, kappa, e)
    assert np.all(np.isfinite(tau)) and np.all(tau > 0)
    compensator = floor * tau - floor * (1.0 - np.exp(-kappa * tau)) / kappa
    np.testing.assert_allclose(compensator, e, rtol=1e-9)
