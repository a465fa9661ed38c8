"""The generated configuration reference is current, and the portfolio page's example composes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from collectsim import ConfigError, load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("config_reference", ROOT / "scripts" / "config_reference.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_configuration_reference_is_generated_from_the_schemas() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == _generator().render(), "docs/configuration.md is stale: run `make docs-config`"


def test_configuration_reference_lists_every_schema_key() -> None:
    import dataclasses

    GROUP_SCHEMAS = _generator().group_schemas()
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for group, cls in GROUP_SCHEMAS.items():
        assert f"## `{group}`" in text
        for f in dataclasses.fields(cls):
            assert f"`{group}.{f.name}`" in text, f"{group}.{f.name}"


def _example(tmp_path: Path) -> Path:
    text = (ROOT / "docs" / "portfolio.md").read_text(encoding="utf-8")
    yaml_text = re.search(r"```yaml\n(# Gig workers.*?)```", text, re.S)
    assert yaml_text is not None
    folder = tmp_path / "myconf" / "portfolio"
    folder.mkdir(parents=True)
    (folder / "gig.yaml").write_text(yaml_text.group(1), encoding="utf-8")
    return tmp_path / "myconf"


def test_portfolio_example_composes(tmp_path: Path) -> None:
    conf = _example(tmp_path)
    sc = load_scenario([f"hydra.searchpath=[file://{conf}]", "portfolio=gig"])
    assert [s.name for s in sc.portfolio.segments] == ["drivers", "couriers"]
    assert sc.portfolio.n_accounts == 10000 and sc.portfolio.score_auc == 0.65
    assert sc.portfolio.segments[1].contactability.kind == "constant"
    default = load_scenario([]).portfolio
    assert sc.portfolio.arrival == default.arrival and sc.portfolio.penalty_multiplier == default.penalty_multiplier


def test_portfolio_example_typo_names_the_key(tmp_path: Path) -> None:
    conf = _example(tmp_path)
    path = conf / "portfolio" / "gig.yaml"
    text = path.read_text(encoding="utf-8")
    assert "score_auc:" in text
    path.write_text(text.replace("score_auc:", "score_acu:"), encoding="utf-8")
    with pytest.raises(ConfigError, match="score_acu"):
        load_scenario([f"hydra.searchpath=[file://{conf}]", "portfolio=gig"])
