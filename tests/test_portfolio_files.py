"""A portfolio file of the user's own (``--config-dir``) that is broken stops the run with
one line naming the file, the key and what is allowed: YAML syntax, tabs, misspelt keys,
text where a number belongs, and traits outside [0, 1]."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import collectsim

from collectsim import ConfigError, load_scenario
from collectsim.cli.precheck import precheck

GOOD = """\
defaults:
  - schema
  - default
  - _self_
n_accounts: 300
segments:
  - name: drivers
    share: 0.6
    principal_yuan: {kind: lognormal, mean: 4000, sigma: 0.7, low: 500, high: 50000}
    daily_rate: {kind: uniform, low: 0.0003, high: 0.0005}
    ability: {kind: beta, a: 2, b: 2}
    willingness: {kind: beta, a: 3, b: 1.5}
    contactability: {kind: beta, a: 5, b: 2}
    stress_sensitivity: {kind: lognormal, mean: 1.1, sigma: 0.5}
    hardship_prob: 0.35
    hardship_days: {kind: uniform, low: 14, high: 60}
  - name: couriers
    share: 0.4
    principal_yuan: {kind: lognormal, mean: 3000, sigma: 0.6, low: 500, high: 50000}
    daily_rate: {kind: uniform, low: 0.0003, high: 0.0005}
    ability: {kind: beta, a: 1.8, b: 2.2}
    willingness: {kind: beta, a: 3, b: 1.5}
    contactability: {kind: constant, value: 0.8}
    stress_sensitivity: {kind: lognormal, mean: 1.2, sigma: 0.5}
    hardship_prob: 0.4
    hardship_days: {kind: uniform, low: 14, high: 45}
"""


def _book(tmp_path: Path, old: str = "", new: str = "") -> tuple[Path, Path]:
    assert old in GOOD
    conf = tmp_path / "myconf"
    (conf / "portfolio").mkdir(parents=True)
    path = conf / "portfolio" / "gig.yaml"
    path.write_text(GOOD.replace(old, new, 1) if old else GOOD, encoding="utf-8")
    return conf, path


def _refused(conf: Path) -> str:
    with pytest.raises(ConfigError) as err:
        precheck(["--config-dir", str(conf), "portfolio=gig"])
    assert "\n" not in str(err.value)
    return str(err.value)


def test_a_good_file_passes_the_check_and_composes(tmp_path: Path) -> None:
    conf, _ = _book(tmp_path)
    assert precheck(["--config-dir", str(conf), "portfolio=gig"]) is not None
    assert precheck([f"--config-dir={conf}", "-m", "portfolio=gig,default"]).jobs == 2  # type: ignore[union-attr]
    assert load_scenario([f"hydra.searchpath=[file://{conf}]", "portfolio=gig"]).portfolio.n_accounts == 300


def test_a_yaml_syntax_error_is_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    conf, path = _book(tmp_path, "share: 0.6", "share: [0.6")
    proc = collectsim("--config-dir", str(conf), "portfolio=gig", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"collectsim: error: {path}, line 9, column 19: YAML syntax error: ")
    assert lines[0].endswith("(while parsing a flow sequence that starts on line 8)")
    assert not (tmp_path / "outputs").exists()


def test_a_tab_is_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    conf, path = _book(tmp_path, "    hardship_prob: 0.4", "\thardship_prob: 0.4")
    msg = _refused(conf)
    assert msg.startswith(f"{path}, line 25, column 1: YAML syntax error: ") and "tabs" in msg


def test_a_misspelt_segment_key_suggests_the_right_one(tmp_path: Path) -> None:
    conf, path = _book(tmp_path, "    hardship_prob: 0.4", "    hardshp_prob: 0.4")
    msg = _refused(conf)
    assert msg.startswith(f"{path}: portfolio.segments.1.hardshp_prob is not a known key")
    assert "(did you mean portfolio.segments.1.hardship_prob?)" in msg


def test_text_where_a_number_belongs_names_the_key(tmp_path: Path) -> None:
    conf, path = _book(tmp_path, "hardship_prob: 0.4", "hardship_prob: often")
    assert _refused(conf) == f"{path}: portfolio.segments.1.hardship_prob must be a number, got 'often'"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("ability: {kind: beta, a: 2, b: 2}", "ability: {kind: uniform, low: 0.2, high: 1.4}", "0.ability.high"),
        (
            "contactability: {kind: constant, value: 0.8}",
            "contactability: {kind: uniform, low: 0.5, high: 1.6}",
            "1.contactability.high",
        ),
        (
            "willingness: {kind: beta, a: 3, b: 1.5}",
            "willingness: {kind: uniform, low: -0.1, high: 0.9}",
            "0.willingness.low",
        ),
        (
            "contactability: {kind: constant, value: 0.8}",
            "contactability: {kind: constant, value: 1.5}",
            "1.contactability.value",
        ),
    ],
)
def test_a_trait_outside_0_1_is_refused_not_clipped(tmp_path: Path, old: str, new: str, key: str) -> None:
    conf, path = _book(tmp_path, old, new)
    msg = _refused(conf)
    assert msg.startswith(f"{path}: portfolio.segments.{key} must be ")
    assert "[0, 1]" in msg


def test_an_unbounded_kind_for_a_0_1_trait_is_refused(tmp_path: Path) -> None:
    conf, path = _book(tmp_path, "ability: {kind: beta, a: 2, b: 2}", "ability: {kind: normal, mean: 0.5, sigma: 0.2}")
    msg = _refused(conf)
    assert msg.startswith(f"{path}: portfolio.segments.0.ability.kind must be one of beta, constant, uniform")


def test_a_value_set_on_the_command_line_is_not_blamed_on_the_file(tmp_path: Path) -> None:
    conf, _ = _book(tmp_path)
    with pytest.raises(ConfigError) as err:
        precheck(["--config-dir", str(conf), "portfolio=gig", "portfolio.segments.0.share=1.3"])
    assert str(err.value).startswith("portfolio.segments.0.share must be in [0, 1], got 1.3")
