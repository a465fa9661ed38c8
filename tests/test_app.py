"""The page's logic without a browser, and the `collectsim app` dispatch."""

from __future__ import annotations

import pytest
from tests.conftest import collectsim

from collectsim import ConfigError, load_scenario
from collectsim.app import streamlit_command
from collectsim.app.logic import Choices, normalised_shares, options, segment_names


def test_segment_weights_become_shares_summing_to_one() -> None:
    shares = normalised_shares([1.0, 1.0, 1.0])
    assert sum(shares) == pytest.approx(1.0, abs=1e-12) and shares[:2] == [0.3333, 0.3333]
    with pytest.raises(ConfigError, match="segment weights must be >= 0"):
        normalised_shares([0.0, 0.0])
    names = [n for n, _ in segment_names("default")]
    assert names == ["young", "white_collar", "middle_low_income"]


def test_choices_compose_to_the_scenario_they_describe() -> None:
    c = Choices(
        portfolio="hardship",
        segment_weights=[3.0, 1.0],
        policies=["soft_first", "staged"],
        team_size=7,
        compliance="reg_f",
        willingness_effect=0.6,
        n_accounts=800,
    )
    c.check()
    sc = load_scenario([*c.base(), *c.cells()[1]])
    assert sc.collectors.size == 7 and sc.portfolio.n_accounts == 800 and sc.stress.willingness_effect == 0.6
    assert [s.share for s in sc.portfolio.segments] == [0.75, 0.25]
    cmd = c.command()
    full_team = round(7 * c.full_accounts() / 800)  # the same accounts per collector on the full book
    assert cmd.startswith(
        f"collectsim -m policy=soft_first,staged portfolio=hardship collectors.size={full_team} compliance=reg_f"
    )
    assert "portfolio.n_accounts" not in cmd and "replications=12" in cmd and cmd.endswith("baseline=soft_first")


def test_bad_choices_name_what_is_allowed() -> None:
    with pytest.raises(ConfigError, match="pick 2 or 3 policies, got 1"):
        Choices(policies=["staged"]).check()
    with pytest.raises(ConfigError, match="policy=aggressive is not an option; allowed: .*soft_first"):
        Choices(policies=["staged", "aggressive"]).check()
    allowed = ", ".join(options("compliance"))
    assert "china_2025" in allowed
    with pytest.raises(ConfigError, match=f"compliance=eu is not an option; allowed: {allowed}$"):
        Choices(compliance="eu").check()
    assert "default" in options("portfolio")


def test_collectsim_app_is_dispatched_before_hydra(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = collectsim("app", "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "usage: collectsim app" in r.stdout and "--port" in r.stdout
    cmd = streamlit_command(8600, headless=True)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[cmd.index("--server.port") + 1] == "8600"


def test_the_page_listens_on_this_machine_only_unless_shared() -> None:
    cmd = streamlit_command(8600, headless=True)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    shared = streamlit_command(8600, headless=True, address="0.0.0.0")
    assert shared[shared.index("--server.address") + 1] == "0.0.0.0"


def test_streamlit_settings_start_headless_without_usage_statistics() -> None:
    import tomllib
    from pathlib import Path

    cfg = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["headless"] is True and cfg["server"]["address"] == "127.0.0.1"
    assert cfg["browser"]["gatherUsageStats"] is False


def test_the_page_says_when_the_team_is_not_the_headline_staffing_or_idle(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from collectsim.app.logic import run_choices, staffing_note

    c = Choices(n_accounts=500, replications=2)
    assert "more staffed per account than the headline study" in str(staffing_note(c))
    outcome = run_choices(c, tmp_path / "run")
    assert any("capacity does not bind" in n for n in outcome.notes), outcome.notes
