"""The examples of docs/response.md run as written: a researcher's response class and a
new channel, each a config entry away from the engine."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from collectsim import ConfigError, load_scenario
from collectsim.channels import ChannelTable
from collectsim.engine import Simulation

DOC = Path(__file__).resolve().parents[1] / "docs" / "response.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


def _block(lang: str, first_line: str) -> str:
    found = [b for b in _blocks(lang) if b.startswith(first_line)]
    assert len(found) == 1, f"docs/response.md has no single {lang} block starting {first_line!r}"
    return found[0]


@pytest.fixture
def research(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The docs' files written out: the myresearch package and the myconf folder."""
    pkg = tmp_path / "myresearch"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "reactance.py").write_text(_block("python", '"""Reactance'))
    conf = tmp_path / "myconf"
    files = {
        "response/reactance.yaml": _block("yaml", "# Firm contacts above stress"),
        "channels/with_app_push.yaml": _block("yaml", "# The default channels plus an app push"),
        "policy/app_first.yaml": _block("yaml", "# Soft-first treatment with an app push"),
    }
    for name, text in files.items():
        (conf / name).parent.mkdir(parents=True, exist_ok=True)
        (conf / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("COLLECTSIM_ALLOWED_PACKAGES", "myresearch")
    yield tmp_path
    sys.modules.pop("myresearch.reactance", None)
    sys.modules.pop("myresearch", None)


def test_reactance_example_lowers_recovery_under_escalation(research: Path) -> None:
    code = _block("python", "from collectsim import kpi_table")
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    mean, half, n = namespace["mean"], namespace["half"], namespace["n"]
    assert n == 4
    # The direction the docs state: the whole 95% interval of the paired difference below 0.
    assert mean + half < 0, (mean, half)


def test_reactance_parameters_are_checked(research: Path) -> None:
    sc = load_scenario(["hydra.searchpath=[file://myconf]", "response=reactance", "response.backlash=-1"])
    with pytest.raises(ConfigError, match=r"^response.backlash must be >= 0, got -1$"):
        Simulation(sc, 0)
    sc = load_scenario(["hydra.searchpath=[file://myconf]", "response=reactance", "+response.treshold=1"])
    with pytest.raises(ConfigError, match=r"^response.treshold is not a known key; allowed keys: backlash, threshold$"):
        Simulation(sc, 0)


def test_app_push_example_runs_as_a_new_channel(research: Path) -> None:
    sc = load_scenario(
        [
            "hydra.searchpath=[file://myconf]",
            "channels=with_app_push",
            "policy=app_first",
            "portfolio.n_accounts=1500",
            "collectors.size=2",
        ]
    )
    code = ChannelTable(sc.channels).codes["app_push"]
    sim = Simulation(sc, 0)
    res = sim.run()
    sent = sim.st.actions_done[:, code]
    # Every account open on day 1 gets a push that day, so pushes went out ...
    assert sent.sum() >= 1000
    # ... each costing what the config says, booked under its own cost KPI (which, like
    # every KPI, covers the measured accounts).
    assert res.kpis["cost_app_push"] == pytest.approx(0.01 * sent[sim.pf.measured].sum())
    # A push is a delivered contact with an effect: the response model gives every push
    # a positive strength, which the behaviour model receives.
    assert np.all(sim.st.contacts >= sent)


def test_app_push_reaches_the_response_model_with_its_coefficients(research: Path) -> None:
    sc = load_scenario(
        [
            "hydra.searchpath=[file://myconf]",
            "channels=with_app_push",
            "policy=app_first",
            "portfolio.n_accounts=600",
            "collectors.size=1",
        ]
    )
    sim = Simulation(sc, 0)
    code = sim.channels.codes["app_push"]
    seen: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    respond = sim.response.respond

    def spy(contacts, borrowers):  # type: ignore[no-untyped-def]
        out = respond(contacts, borrowers)
        m = contacts.channel == code
        # A push buys no priority, so this lender's share is what it was before the push.
        share = sim.response.share(contacts.idx[m], contacts.time[m])
        seen.append((out.strength[m], borrowers.ability[m], borrowers.willingness[m], borrowers.stress[m], share))
        return out

    sim.response.respond = spy  # type: ignore[method-assign]
    sim.run()
    strength, ability, willingness, stress, share = (np.concatenate(x) for x in zip(*seen))
    assert strength.size >= 500
    # impulse * ability**ability_exp * willingness_eff**willingness_exp from the YAML
    # entry, times this lender's share of the borrower's money, damped by stress; no
    # reactance (the entry sets none).
    cfg = sc.stress
    w_eff = willingness * np.exp(-cfg.willingness_effect * stress)
    want = 0.04 * ability**0.5 * w_eff**1.5 * share * np.exp(-cfg.response_effect * stress)
    np.testing.assert_allclose(strength, want, rtol=1e-12)
    assert np.all(strength > 0) and share.min() < 1.0


def test_app_push_with_a_wrong_kind_fails_naming_the_key(research: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_scenario(
            ["hydra.searchpath=[file://myconf]", "channels=with_app_push", "channels.extra.app_push.kind=push"]
        )
    assert str(err.value) == (
        "channels.extra.app_push.kind must be one of message, dialler, agent, bot, letter, visit, got 'push'"
    )
