"""Every config key has a role (lever, uncertainty or setting): one table classifies them."""

from __future__ import annotations

import dataclasses
import typing

from collectsim.config import config_dir, top_level_keys
from collectsim.keys import LEVER, SETTING, UNCERTAINTY, role, split_keys
from collectsim.scenario import Scenario


def _leaf_keys(node: typing.Any, prefix: str) -> list[str]:
    out = []
    for f in dataclasses.fields(node):
        tp = typing.get_type_hints(node)[f.name]
        inner = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        target = tp if dataclasses.is_dataclass(tp) else inner[0] if inner else None
        key = f"{prefix}.{f.name}"
        out += _leaf_keys(target, key) if target is not None else [key]
    return out


def test_every_config_key_and_group_option_has_a_role() -> None:
    keys = [*top_level_keys(), *_leaf_keys(Scenario, "").__iter__()]
    keys = [k.lstrip(".") for k in keys]
    groups = [p.name for p in config_dir().iterdir() if p.is_dir() and p.name != "hydra"]
    unclassified = sorted({k for k in [*keys, *groups] if role(k) is None})
    assert not unclassified, f"add these to collectsim.keys.ROLES: {unclassified}"


def test_levers_and_uncertainties() -> None:
    for key in (
        "policy",
        "policy.stages.0.name",
        "collectors.size",
        "compliance",
        "levers.call_every_days",
        "channels.sms.cost_yuan",
        "channels.agency.commission",
    ):
        assert role(key) == LEVER, key
    for key in (
        "stress.intensity_effect",
        "portfolio",
        "portfolio.segments.0.share",
        "behaviour.base_rate",
        "response.competition_rate",
        "channels.sms.stress_increment",
        "channels.extra.app_push.impulse",
        "channels.lawsuit.recovery_fraction",
        "channels.firm_call.reactance",
        "channels.extra.third_party_call.reactance",
        "channels.legal_warning.credibility_lift",
        "channels.firm_call.priority_gain",
        "channels.lawsuit.enforcement_lift",
        "channels.lawsuit.win_base",
        "stress.a_key_added_tomorrow",
    ):
        assert role(key) == UNCERTAINTY, key
    for key in ("seed", "simulation.horizon_days", "replications"):
        assert role(key) == SETTING, key
    assert role("nonsense_group.x") is None
    # A key the user marks as a lever is one.
    assert split_keys(["policy", "stress.intensity_effect"], levers=["stress.intensity_effect"]) == (
        ["policy", "stress.intensity_effect"],
        [],
    )
    assert split_keys(["policy", "stress.intensity_effect", "seed"]) == (
        ["policy"],
        ["stress.intensity_effect", "seed"],
    )


def test_config_errors_write_list_items_as_the_command_line_does() -> None:
    from collectsim.errors import ConfigError

    err = ConfigError("policy.stages[0].name is unknown; portfolio.segments[12].share must be in [0, 1]")
    assert str(err) == "policy.stages.0.name is unknown; portfolio.segments.12.share must be in [0, 1]"


def test_one_team_scaling_rule() -> None:
    from collectsim.app.logic import default_team
    from collectsim.config import scaled_capacities
    from collectsim.sensitivity import study

    assert study.scaled_capacities is scaled_capacities
    team = next(o for o in scaled_capacities(40_000, ["portfolio=hardship"]) if o.startswith("collectors.size="))
    assert default_team(40_000, "hardship") == int(team.split("=")[1])
