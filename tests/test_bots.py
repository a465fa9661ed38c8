"""AI voice agents (channels.ai_voice, kind bot): capacity in time, rules, cost, errors."""

from __future__ import annotations

import numpy as np
import pytest

from collectsim import load_scenario
from collectsim.bots import AGENT_OFFSET
from collectsim.engine import Simulation, build_plugins
from collectsim.errors import ConfigError

LINES = 3


@pytest.fixture(scope="module")
def bot_run() -> tuple[Simulation, dict[str, np.ndarray]]:
    sc = load_scenario(
        ["policy=soft_first_bots", "portfolio.n_accounts=4000", "collectors.size=1", f"channels.ai_voice.lines={LINES}"]
    )
    sim = Simulation(sc, 0, record_events=True)
    sim.run()
    keys = ("idx", "time", "action", "connected", "agent", "minutes")
    ev = {k: np.concatenate([e[k] for e in sim.event_log if "agent" in e]) for k in keys}
    return sim, ev


def test_bot_calls_are_made_by_the_lines_within_their_hours_and_capacity(bot_run) -> None:  # type: ignore[no-untyped-def]
    sim, ev = bot_run
    bot = ev["agent"] >= AGENT_OFFSET
    assert bot.sum() > 1000
    assert set(np.unique(ev["action"][bot])) == {sim.channels.codes["ai_call"]}
    assert not (sim.channels.is_bot[ev["action"][~bot & (ev["action"] < len(sim.channels))]]).any()
    assert set(np.unique(ev["agent"][bot] - AGENT_OFFSET)) <= set(range(LINES))
    # Inside the calling window (china_2025: 08-22), the call ending by its end.
    hour = (ev["time"][bot] % 1.0) * 24.0
    end = hour + ev["minutes"][bot] / 60.0
    assert hour.min() >= 8.0 - 1e-9 and end.max() <= 22.0 + 1e-9
    # One call at a time per line: a line's calls never overlap.
    for line in range(LINES):
        m = bot & (ev["agent"] == AGENT_OFFSET + line)
        t, dur = ev["time"][m], ev["minutes"][m] / 1440.0
        o = np.argsort(t, kind="stable")
        assert np.all(t[o][1:] >= (t[o] + dur[o])[:-1] - 1e-12)


def test_bot_calls_count_under_the_contact_rules_and_are_paid_per_connected_minute(bot_run) -> None:  # type: ignore[no-untyped-def]
    sim, ev = bot_run
    calls = sim.channels.is_call[np.minimum(ev["action"], len(sim.channels) - 1)] & (ev["action"] < len(sim.channels))
    day = np.floor(ev["time"]).astype(np.int64)
    # At most 3 connected calls per borrower a day (china_2025), bots and people together.
    m = calls & ev["connected"]
    _, per_day = np.unique(np.stack([ev["idx"][m], day[m]]), axis=1, return_counts=True)
    assert per_day.max() <= 3
    bot = (ev["agent"] >= AGENT_OFFSET) & ev["connected"]
    rate = sim.sc.channels.ai_voice.cost_yuan_per_minute
    assert sim.st.cost["ai_voice"].sum() == pytest.approx(rate * ev["minutes"][bot].sum(), rel=1e-12)
    # A bot call stresses less than a human soft call, which stresses less than a firm one.
    ch = sim.channels
    assert ch.stress_increment[ch.codes["ai_call"]] < ch.stress_increment[ch.codes["soft_call"]]
    assert ch.stress_increment[ch.codes["soft_call"]] < ch.stress_increment[ch.codes["firm_call"]]


def test_without_a_bot_policy_no_lines_are_built() -> None:
    sim = Simulation(load_scenario(["policy=soft_first", "portfolio.n_accounts=500"]), 0)
    sim.run()
    assert sim.bots is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["channels.ai_voice.lines=0"], "policy soft_first_bots asks for ai_call but channels.ai_voice.lines is 0"),
        (["channels.ai_voice.lines=-1"], "channels.ai_voice.lines must be"),
        (["channels.ai_voice.skill=0"], "channels.ai_voice.skill must be > 0"),
        (["channels.ai_voice.end_hour=7"], "channels.ai_voice.end_hour must be after start_hour (8)"),
        (["channels.ai_voice.connected_minutes_high=1"], "connected_minutes_high must be >= connected_minutes_low"),
    ],
)
def test_bad_bot_settings_are_one_line_errors(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_plugins(load_scenario(["policy=soft_first_bots", *overrides]))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_bots_need_the_compiled_agent_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLECTSIM_KERNELS", "0")
    with pytest.raises(ConfigError, match="run on the compiled agent day"):
        build_plugins(load_scenario(["policy=soft_first_bots"]))


def test_the_bot_policies_are_soft_first_with_bots_in_place_of_soft_calls() -> None:
    """soft_first_bots and bots_front copy soft_first's schedule: this keeps them in step."""
    from pathlib import Path

    import yaml

    conf = Path(__file__).resolve().parents[1] / "conf" / "policy"
    base = yaml.safe_load((conf / "soft_first.yaml").read_text())
    bots = yaml.safe_load((conf / "soft_first_bots.yaml").read_text())
    assert bots.pop("name") == "soft_first_bots"
    swapped = yaml.safe_dump(base).replace("soft_call", "ai_call").replace("name: soft_first\n", "")
    assert yaml.safe_load(swapped) == bots
    front = yaml.safe_load((conf / "bots_front.yaml").read_text())
    assert front.pop("name") == "bots_front"
    first, listen, *rest = front["stages"]
    assert first["dpd_to"] == 30 and [a["action"] for a in first["actions"]] == ["sms", "ai_call"]
    assert listen["dpd_from"] == 31 and {a["action"] for a in listen["actions"]} == {"sms", "soft_call"}
    base_rest = base["stages"][1:]
    assert rest == base_rest and front["triggers"] == base["triggers"] and front["retry"] == base["retry"]
