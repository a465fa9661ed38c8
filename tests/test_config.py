"""Every config option composes and builds; bad input fails early, naming the key."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from collectsim import ConfigError, load_scenario
from collectsim.config import SCENARIO_KEYS, config_dir
from collectsim.engine import build_plugins, run

GROUPS = SCENARIO_KEYS  # every config group that feeds the scenario


def options():
    for group in GROUPS:
        for path in sorted((config_dir() / group).glob("*.yaml")):
            yield group, path.stem


@pytest.mark.parametrize(("group", "option"), list(options()))
def test_every_option_composes_and_builds(group: str, option: str) -> None:
    sc = load_scenario(
        [f"{group}={option}", "portfolio.n_accounts=60", "portfolio.arrival=cohort", "simulation.horizon_days=20"]
    )
    behaviour, response, policy, _channels = build_plugins(sc)
    # The built plug-ins are the classes the option names, not a fallback.
    assert type(behaviour) is _import(sc.behaviour["_target_"])
    assert type(response) is _import(sc.response["_target_"])
    assert type(policy) is _import(sc.policy["_target_"])
    if group == "policy":
        assert policy.name == option or option in ("champion_challenger", "call_holdout")  # wrappers name their arms
    # And the option runs: a short run gives rates inside [0, 1] for the 60 accounts.
    res = run(sc, 0)
    assert res.kpis["accounts"] == 60
    assert 0.0 <= res.kpis["recovery_rate"] <= 1.0


def _import(target: str) -> type:
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(module), name)


BAD = [
    (["portfolio.segments.0.share=1.3"], "portfolio.segments.0.share must be in [0, 1], got 1.3"),
    (["portfolio.segments.0.share=0.5"], "portfolio.segments shares must sum to 1"),
    (["collectors.size=-3"], "collectors.size must be > 0, got -3"),
    (["collectors.size=0"], "collectors.size must be > 0, got 0"),
    (["collectors.size=abc"], "collectors.size must be an integer, got 'abc'"),
    (["replications=abc"], "replications must be an integer, got 'abc'"),
    (["replication=3"], "replication is not a known key (did you mean replications?)"),
    (["behaviour.kappa=nan"], "behaviour.kappa must be a finite number, got nan"),
    (["portfolio.segments.0.share=inf"], "portfolio.segments.0.share must be a finite number, got inf"),
    (
        ["portfolio=schema"],
        "portfolio=schema is not an option of config group 'portfolio'; allowed: default, hardship, strategic",
    ),
    (["policy=stagd"], "policy=stagd is not an option of config group 'policy' (did you mean staged?)"),
    (["collectors.sizee=3"], "collectors.sizee is not a known key (did you mean collectors.size?); allowed keys:"),
    (
        ["policy=nope"],
        "policy=nope is not an option of config group 'policy'; allowed: bots_front, call_holdout, champion_challenger, do_nothing",
    ),
    (
        ["compliance=foo"],
        "allowed: china_2025, china_2025_fourth_call, china_2025_third_party, china_2025_window_23, none, reg_f",
    ),
    (["portfolio.score_auc=0.5"], "portfolio.score_auc must be in (0.5, 1), got 0.5"),
    (["portfolio.score_auc=1.0"], "portfolio.score_auc must be in (0.5, 1)"),
    (["simulation.horizon_days=0"], "simulation.horizon_days must be > 0, got 0"),
    (["portfolio.arrival=trickle"], "portfolio.arrival must be one of cohort, stream, got 'trickle'"),
    (["collectors.backlog=keep"], "collectors.backlog must be one of carry, drop"),
    (["collectors.shift_end_hour=8"], "collectors.shift_end_hour must be after shift_start_hour"),
    (["compliance.window_end_hour=7"], "compliance.window_end_hour must be after window_start_hour"),
    (["behaviour.kappa=-1"], "behaviour.kappa must be > 0, got -1"),
    (["+behaviour.colour=1"], "behaviour.colour is not a known key"),
    (["policy._target_=os.system"], "outside the allowed packages"),
    (["policy._target_=collectsim.nothing.Here"], "cannot be imported"),
    (["policy.stages.0.actions.0.action=email"], "policy.stages.0.actions.0.action must be one of sms, voice"),
    (["policy.stages.1.dpd_from=20"], "policy.stages overlap"),
    (["policy.queue_order=lottery"], "policy.queue_order must be one of fifo, balance_desc"),
    (["portfolio.segments.0.ability.kind=gamma"], "portfolio.segments.0.ability.kind must be one of"),
    (["portfolio.segments.0.ability.a=-2"], "beta parameters a and b must be > 0"),
    (["channels.sms.complaint_prob=2"], "channels.sms.complaint_prob must be in [0, 1], got 2"),
    (["conversation.plan_instalments=0"], "conversation.plan_instalments must be > 0"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_bad_input_is_rejected_naming_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_plugins(load_scenario(overrides))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_cli_bad_input_prints_one_line_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("collectsim")
    proc = subprocess.run([str(exe), "collectors.size=-1"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == ["collectsim: error: collectors.size must be > 0, got -1"]
    assert not (tmp_path / "outputs").exists()


def test_allowed_packages_can_be_extended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLECTSIM_ALLOWED_PACKAGES", "tests")
    with pytest.raises(ConfigError, match="cannot be imported"):
        build_plugins(load_scenario(["policy._target_=tests.no_such_module.Policy"]))


# --------------------------------------------------------------------------- assumption bundles


def _leaves(data: object, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], float]:
    if isinstance(data, dict):
        return {k: v for key, sub in data.items() for k, v in _leaves(sub, (*path, key)).items()}
    return {path: float(data)}  # type: ignore[arg-type]


def _documented_range(lines: list[str], parent: str, leaf: str) -> tuple[float, float]:
    """The ``range LO-HI`` that conf/channels/default.yaml gives for ``parent.leaf``, read
    from the block of ``parent`` (its comment block above it and its own lines)."""
    at = next(i for i, line in enumerate(lines) if re.match(rf"\s*{parent}:", line))
    indent = len(lines[at]) - len(lines[at].lstrip())
    start = at
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    end = at + 1
    while end < len(lines) and (
        not lines[end].strip()
        or lines[end].lstrip().startswith("#")
        or len(lines[end]) - len(lines[end].lstrip()) > indent
    ):
        end += 1
    for line in lines[start:end]:
        m = re.search(rf"\b{leaf}\b.*?range ([\d.]+)-([\d.]+)", line)
        if m:
            return float(m.group(1)), float(m.group(2))
    raise AssertionError(f"no documented range for {parent}.{leaf}")


@pytest.mark.parametrize("lever", ["field_visit", "bots"])
def test_assumption_bundles_sit_at_opposite_ends_of_the_documented_ranges(lever: str) -> None:
    """``assumptions=<lever>_best`` and ``_worst`` set the same keys, each to one end of the
    range conf/channels/default.yaml documents for it, the two bundles to opposite ends."""
    import yaml

    folder = config_dir() / "assumptions"
    best = _leaves(yaml.safe_load((folder / f"{lever}_best.yaml").read_text()))
    worst = _leaves(yaml.safe_load((folder / f"{lever}_worst.yaml").read_text()))
    assert best.keys() == worst.keys() and len(best) >= 4
    lines = (config_dir() / "channels" / "default.yaml").read_text().splitlines()
    for key in best:
        lo, hi = _documented_range(lines, key[-2], key[-1])
        assert {best[key], worst[key]} == {lo, hi}, (key, best[key], worst[key], (lo, hi))
    sc_best = load_scenario([f"assumptions={lever}_best"])
    sc_default = load_scenario([])
    assert sc_best != sc_default
    assert load_scenario(["assumptions=none"]) == sc_default


def _my_policy(tmp_path: Path) -> tuple[Path, str, list[str]]:
    """A copy of the soft_first policy as ``policy=mine`` in a config folder of the test's:
    its file, its text and the overrides that select it."""
    (tmp_path / "policy").mkdir()
    mine = tmp_path / "policy" / "mine.yaml"
    base = (config_dir() / "policy" / "soft_first.yaml").read_text()
    mine.write_text(base)
    return mine, base, [f"hydra.searchpath=[file://{tmp_path}]", "policy=mine"]


def test_load_scenario_reuses_a_composition_until_a_config_file_changes(tmp_path: Path) -> None:
    """Composing is cached per process: the same overrides give an equal, independent
    copy, and an edited config file composes afresh."""
    mine, base, overrides = _my_policy(tmp_path)
    a, b = load_scenario(overrides), load_scenario(overrides)
    assert a == b and a is not b and a.policy is not b.policy
    mine.write_text(base.replace("name: soft_first", "name: mine"))
    os.utime(mine, ns=(mine.stat().st_atime_ns, mine.stat().st_mtime_ns + 10**9))
    assert load_scenario(overrides).policy["name"] == "mine"


def test_parsed_config_files_are_kept_but_never_shared(tmp_path: Path) -> None:
    """Hydra parses each config file once per process; every composition gets its own
    copy, and a file edited to the same size is read afresh (its modification time)."""
    from omegaconf import OmegaConf

    from collectsim.config import compose

    mine, base, overrides = _my_policy(tmp_path)
    first = compose(overrides)
    OmegaConf.set_struct(first, False)
    first.policy.name = "changed"
    first.portfolio.n_accounts = -1
    second = compose(overrides)
    assert second.policy.name == "soft_first" and second.portfolio.n_accounts > 0
    mine.write_text(base.replace("name: soft_first", "name: soft_fir5t"))  # same size
    os.utime(mine, ns=(mine.stat().st_atime_ns, mine.stat().st_mtime_ns + 10**9))
    assert compose(overrides).policy.name == "soft_fir5t"
