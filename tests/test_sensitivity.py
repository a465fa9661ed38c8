"""The sensitivity study (``python -m collectsim.sensitivity``): its factors, the design
bookkeeping (Morris steps, wins, signs), the study on a stand-in model with known answers,
every policy at the ends of every range, and the tiny mode on the real model.

The study needs the `sensitivity` extra (SALib); those tests skip without it.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from collectsim.errors import ConfigError
from collectsim.sensitivity import CHALLENGERS, DEFAULT_FACTORS, Factor, settings_for
from collectsim.sensitivity.analysis import morris_steps, sign_table, wins_table

needs_salib = pytest.mark.skipif(
    importlib.util.find_spec("SALib") is None, reason="SALib not installed (pip install 'collectsim[sensitivity]')"
)


def _default_data() -> dict[str, Any]:
    from omegaconf import OmegaConf

    from collectsim.config import compose

    data = OmegaConf.to_container(compose([]), resolve=True)
    assert isinstance(data, dict)
    return data


def _get(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for key in path.split("."):
        node = node[key]
    return node


# --------------------------------------------------------------------------- factors


def test_factors_write_into_the_scenario() -> None:
    data = _default_data()
    by = {f.name: f for f in DEFAULT_FACTORS}
    assert by["stress_willingness"].nominal(data) == 0.3
    assert by["third_party_reactance"].nominal(data) == 0.15
    assert by["willingness"].nominal(data) == by["hardship"].nominal(data) == 1.0
    assert by["agency_lines"].nominal(data) == 1.0  # a scale factor
    # Several paths move together.
    by["third_party_reactance"].apply(data, 0.3)
    assert _get(data, "channels.extra.third_party_call.reactance") == 0.3
    assert _get(data, "channels.extra.notify_contacts.reactance") == 0.3
    by["sms_firm_call_reactance"].apply(data, 0.04)
    assert _get(data, "channels.sms.reactance") == _get(data, "channels.firm_call.reactance") == 0.04
    # An integer setting stays an integer.
    lines = _get(data, "channels.agency.lines_per_day")
    by["agency_lines"].apply(data, 1.5)
    assert _get(data, "channels.agency.lines_per_day") == round(1.5 * lines)
    assert isinstance(_get(data, "channels.agency.lines_per_day"), int)
    # A list path writes every element.
    f = Factor("hardship_prob", "portfolio.segments.*.hardship_prob", 0.5, 2.0, "scale")
    before = [s["hardship_prob"] for s in data["portfolio"]["segments"]]
    f.apply(data, 2.0)
    assert [s["hardship_prob"] for s in data["portfolio"]["segments"]] == [2 * p for p in before]
    with pytest.raises(ConfigError, match="no key stress.reactance_strength"):
        Factor("reactance", "stress.reactance_strength", 0, 0.15).apply(data, 0.1)


def test_factor_ranges_hold_the_defaults_and_say_where_they_come_from() -> None:
    data = _default_data()
    names = [f.name for f in DEFAULT_FACTORS]
    assert len(set(names)) == len(names)
    for f in DEFAULT_FACTORS:
        assert f.low < f.high, f.name
        assert f.low <= f.nominal(data) <= f.high, f.name
        assert "default" in f.description and ("assumption" in f.description or "sourced" in f.description), f.name
        for path in f.paths:  # every key exists in the default scenario
            _get(data, path.replace(".*", ".0"))


def test_every_policy_runs_at_the_ends_of_every_range() -> None:
    from collectsim.sensitivity.study import base_scenarios, evaluate_replication, summarise

    s = settings_for("tiny", accounts=60)
    bases = base_scenarios(s)
    assert set(bases) == {"soft_first", *CHALLENGERS}
    for end in ("low", "high"):
        x = [getattr(f, end) for f in DEFAULT_FACTORS]
        row = summarise([evaluate_replication(bases, DEFAULT_FACTORS, x, s.policies, 0)], s.baseline, s.challengers)
        for c in s.challengers:
            assert row[f"d_{c}_net_recovery"] == pytest.approx(
                row["soft_first_net_recovery"] - row[f"{c}_net_recovery"]
            )
            assert math.isfinite(row[f"d_{c}_stress_peak_p95"])


def test_capacities_scale_with_the_book() -> None:
    from collectsim.sensitivity.study import book_accounts, scaled_capacities

    data = _default_data()
    n, team = data["portfolio"]["n_accounts"], data["collectors"]["size"]
    share = round(n / team)
    # One collector's share of the default book: one agent, the lawyers, dialler and
    # agency lines in proportion (at least one of each).
    assert book_accounts(settings_for("study")) == share
    ratio = share / n
    assert scaled_capacities(share, []) == [
        "collectors.size=1",
        f"channels.lawsuit.team_size={max(1, round(data['channels']['lawsuit']['team_size'] * ratio))}",
        f"channels.voice_lines_per_day={round(data['channels']['voice_lines_per_day'] * ratio)}",
        f"channels.agency.lines_per_day={round(data['channels']['agency']['lines_per_day'] * ratio)}",
    ]
    assert scaled_capacities(2 * n, ["collectors.size=3"])[0] == (
        f"channels.lawsuit.team_size={2 * data['channels']['lawsuit']['team_size']}"
    )


def test_settings() -> None:
    s = settings_for("study")
    assert s.baseline == "soft_first" and s.challengers == list(CHALLENGERS)
    assert s.policies == ["soft_first", *CHALLENGERS]
    assert settings_for("tiny", overrides=["compliance=reg_f"]).overrides[-1] == "compliance=reg_f"
    assert "portfolio.arrival=cohort" in settings_for("tiny", overrides=["compliance=reg_f"]).overrides
    with pytest.raises(ConfigError, match="baseline"):
        settings_for("tiny", challengers=["soft_first", "staged"])
    with pytest.raises(ConfigError, match="nominal_replications"):
        settings_for("tiny", nominal_replications=1)
    with pytest.raises(ConfigError, match="mode must be one of"):
        settings_for("huge")


# --------------------------------------------------------------------------- bookkeeping


def test_morris_steps_and_signs_on_a_hand_made_design() -> None:
    factors = [Factor("a", "x.a", 0.0, 1.0), Factor("b", "x.b", 0.0, 10.0)]
    # Two trajectories of k + 1 = 3 rows; each step moves one factor.
    X = np.array([[0, 0], [1, 0], [1, 10], [1, 10], [1, 0], [0, 0]], dtype=float)
    assert morris_steps(X, np.array([1.0, 10.0])) == [(0, 0, 1), (1, 1, 2), (1, 4, 3), (0, 5, 4)]
    d = [5.0, -1.0, -2.0, -2.0, 3.0, 4.0]  # Δ = baseline − challenger
    morris = pd.DataFrame(X, columns=["a", "b"]).assign(d_pressure_net_recovery=d)
    sg = sign_table(morris, factors, ["pressure"], "net_recovery").set_index("factor")
    # a: steps (0 -> 1) and (5 -> 4): low ends +5, +4; high ends -1, +3: one flip.
    assert sg.loc["a", ["steps", "low_pos", "low_neg", "high_pos", "high_neg", "flips"]].tolist() == [2, 2, 0, 1, 1, 1]
    # b: steps (1 -> 2) and (4 -> 3): low ends -1, +3; high ends -2, -2: one flip.
    assert sg.loc["b", ["steps", "low_pos", "low_neg", "high_pos", "high_neg", "flips"]].tolist() == [2, 1, 1, 0, 2, 1]


def test_wins_follow_each_kpis_direction() -> None:
    samples = pd.DataFrame(
        {
            "d_staged_net_recovery": [-10.0, -1.0, 5.0, 30.0],  # staged collects more at the first two
            "se_staged_net_recovery": [2.0, 2.0, 2.0, 2.0],
            "d_staged_stress_peak_p95": [-1.0, 1.0, 2.0, 0.5],  # lower stress is better
            "se_staged_stress_peak_p95": [0.1, 0.1, 0.1, 0.1],
        }
    )
    w = wins_table(samples, ["staged"], "net_recovery").iloc[0]
    assert (w["points"], w["challenger_wins"], w["challenger_wins_2se"], w["baseline_wins_2se"]) == (4, 2, 1, 2)
    w = wins_table(samples, ["staged"], "stress_peak_p95").iloc[0]
    assert (w["challenger_wins"], w["challenger_wins_2se"], w["baseline_wins_2se"]) == (3, 3, 1)


# --------------------------------------------------------------------------- the study on a stand-in model


def _stand_in(
    bases: dict[str, dict[str, Any]],
    factors: Sequence[Factor],
    x: Sequence[float],
    policies: Sequence[str],
    replication: int,
    outputs: Sequence[str] = ("net_recovery", "recovery_rate", "stress_peak_p95"),
) -> dict[str, float]:
    """Known answers: soft_first collects 100 + 50 w; a challenger c collects 100 + 50 w +
    g_c (0.5 − h) + n_c r plus a little noise per replication, where w is willingness, h
    hardship's position in its range, r score_auc's; only score_prioritized reads the score."""
    v = {f.name: (val - f.low) / (f.high - f.low) for f, val in zip(factors, x, strict=True)}
    gain = {"staged": 5.0, "score_prioritized": 5.0, "early_escalation": 20.0, "pressure": -10.0}
    out = {}
    for p in policies:
        y = 100 + 50 * v["willingness"]
        if p != "soft_first":
            y += gain[p] * (0.5 - v["hardship"]) + 0.01 * replication
            y += 3.0 * v["score_auc"] if p == "score_prioritized" else 0.0
        out[f"{p}:net_recovery"] = y
        out[f"{p}:recovery_rate"] = y / 200
        out[f"{p}:stress_peak_p95"] = 1.0 if p == "soft_first" else 2.0 + v["stress_response"]
    return out


@needs_salib
def test_study_on_a_stand_in_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import collectsim.sensitivity.study as study
    from collectsim.sensitivity import load_study, main, run_study, write_outputs

    monkeypatch.setattr(study, "evaluate_replication", _stand_in)
    s = settings_for("tiny", n_jobs=1, morris_r=4, sobol_n=4, sobol_max_factors=2, nominal_replications=3)
    st = run_study(s)
    k, r = len(DEFAULT_FACTORS), 4
    assert (st.samples["design"] == "morris").sum() == r * (k + 1)
    assert (st.samples["design"] == "sobol").sum() == 4 * (2 + 2)  # N (k' + 2), k' = 2 kept
    mor = st.indices[(st.indices["method"] == "morris") & (st.indices["output"] == "net_recovery")]
    mu_star = mor.set_index(["challenger", "factor"])["mu_star"]
    for c in CHALLENGERS:
        # Willingness moves both policies alike: no effect on the difference (but rounding).
        assert mu_star[(c, "willingness")] < 1e-9
        # An elementary effect is the change of Δ per unit of the factor's range.
        assert mu_star[(c, "score_auc")] == (0 if c != "score_prioritized" else pytest.approx(3))
        assert mu_star[(c, "hardship")] == pytest.approx(
            {"staged": 5, "score_prioritized": 5, "early_escalation": 20, "pressure": 10}[c]
        )
        assert st.drivers[c][0] == "hardship"
    assert st.drivers["score_prioritized"] == ["hardship", "score_auc"]
    # Δ = soft_first − challenger (at the defaults hardship sits at 0.2 of its range, and
    # replications 0, 1, 2 add 0, 0.01, 0.02); the standard error of a one-replication
    # point is the paired spread at the defaults, 0.01.
    assert st.nominal["d_early_escalation_net_recovery"] == pytest.approx(-20 * 0.3 - 0.01)
    assert st.nominal["se_early_escalation_net_recovery"] == pytest.approx(0.01 / math.sqrt(3))
    assert st.samples["se_early_escalation_net_recovery"].iloc[0] == pytest.approx(0.01)
    w = st.wins.set_index("challenger")
    h = (st.samples["hardship"] - 0.5) / 2.5
    assert w.loc["early_escalation", "challenger_wins"] == int(((0.5 - h) * 20 + 0.0 > 0).sum())
    assert w.loc["pressure", "challenger_wins"] == int(((0.5 - h) * -10 > 0).sum())
    # The signs hardship's range allows: early escalation ahead at low hardship, soft-first
    # at high hardship, for pressure the other way round; willingness never changes Δ.
    sg = st.signs.set_index(["challenger", "factor"])
    assert sg.loc[("early_escalation", "hardship"), "low_pos"] == 0
    assert sg.loc[("early_escalation", "hardship"), "high_neg"] == 0
    assert sg.loc[("pressure", "hardship"), "low_neg"] == 0
    assert (st.indices["method"] == "sobol").any()
    assert any(n.startswith("score_auc has no effect at all") and "score_prioritized" not in n for n in st.notes)

    out = tmp_path / "sens"
    report = write_outputs(st, out).read_text()
    for name in ("report.md", "samples.csv", "indices.csv", "wins.csv", "signs.csv", "flips.csv", "indices.png"):
        assert (out / name).is_file(), name
    assert "## Who wins where" in report and "## Which sign of the difference" in report
    assert "| early_escalation |" in report and "no effect" in report
    # The report can be rewritten from the files alone.
    again = load_study(out)
    assert again.drivers == st.drivers
    (out / "report.md").unlink()
    assert main(["--rebuild", str(out)]) == 0
    assert (out / "report.md").read_text().split("## Factors")[1] == report.split("## Factors")[1]
    # A folder of the earlier one-challenger study is refused with the reason.
    meta = json.loads((out / "settings.json").read_text())
    meta["settings"]["challenger"] = "early_escalation"
    (out / "settings.json").write_text(json.dumps(meta))
    assert main(["--rebuild", str(out)]) == 2


# --------------------------------------------------------------------------- the tiny mode on the real model


@needs_salib
def test_sensitivity_study_runs_in_tiny_mode(tmp_path: Path) -> None:
    # One challenger keeps it short; test_every_policy_runs_at_the_ends_of_every_range runs the others.
    out = tmp_path / "sens"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "collectsim.sensitivity",
            "--mode",
            "tiny",
            "--challengers",
            "early_escalation",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("report.md", "samples.csv", "indices.csv", "wins.csv", "signs.csv", "flips.csv", "settings.json"):
        assert (out / name).is_file(), name
    ix = pd.read_csv(out / "indices.csv")
    morris = ix[(ix["method"] == "morris") & (ix["output"] == "net_recovery")].set_index("factor")
    assert set(morris.index) == {f.name for f in DEFAULT_FACTORS}
    # mu* is the mean of |elementary effect| and mu the mean of the effect, so mu* >= |mu|
    # always; mixed-up columns or factors break it. A bootstrap that resamples nothing
    # gives zero-width (or NaN) intervals for every factor.
    assert (morris["mu_star"] >= morris["mu"].abs() * (1 - 1e-9)).all(), morris[["mu", "mu_star"]]
    assert morris["mu_star"].max() > 0
    assert np.isfinite(morris["mu_star_conf"]).all() and (morris["mu_star_conf"] > 0).any()
    # Neither soft_first nor early_escalation reads the lender score: a null factor.
    assert morris.loc["score_auc", "mu_star"] == 0
    samples = pd.read_csv(out / "samples.csv")
    assert len(samples) == 2 * (len(DEFAULT_FACTORS) + 1)  # Morris r (k + 1), r = 2; no Sobol in tiny mode
    assert np.allclose(
        samples["d_early_escalation_net_recovery"],
        samples["soft_first_net_recovery"] - samples["early_escalation_net_recovery"],
    )
    report = (out / "report.md").read_text()
    assert "## Who wins where" in report and "| early_escalation |" in report
    assert "score_auc has no effect at all on Δ net_recovery for every challenger" in report
