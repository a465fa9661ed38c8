"""The role of every config key in a study (EMA Workbench's XLRM): a **lever** is what a
lender chooses (policy, team, rules, channel spend), an **uncertainty** is an assumption
about the world (borrower behaviour, stress, the book), a **setting** is neither (how long
or how often the model runs, how results are shown).

One table, :data:`ROLES`, classifies keys by prefix, so a key added under an existing group
(``stress.new_effect``, ``channels.agency.fee``) is classified without an edit; a new
top-level group is not, and ``tests/test_keys.py`` fails until it is listed here. The
report ranks and pairs levers only, within each combination of swept uncertainties, and
tuning searches levers only.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

LEVER = "lever"
UNCERTAINTY = "uncertainty"
SETTING = "setting"

#: ``(pattern, role)``, first match wins; a pattern matches a key equal to it or a key
#: under it (``policy`` matches ``policy.stages.0.name``), and ``*`` matches any text.
ROLES: tuple[tuple[str, str], ...] = (
    # What a contact does to a borrower is behaviour, even inside a channel's settings.
    ("channels.*stress_increment", UNCERTAINTY),
    ("channels.*impulse", UNCERTAINTY),
    ("channels.*complaint_prob", UNCERTAINTY),
    ("channels.*recovery_fraction", UNCERTAINTY),
    ("channels.*delay_days", UNCERTAINTY),
    # ... and so are how it backfires, how long a threat is believed, how courts decide.
    ("channels.*reactance", UNCERTAINTY),
    ("channels.*credibility_lift", UNCERTAINTY),
    ("channels.*credibility_days", UNCERTAINTY),
    ("channels.*priority_gain", UNCERTAINTY),
    ("channels.*enforcement_lift", UNCERTAINTY),
    ("channels.*enforcement_days", UNCERTAINTY),
    ("channels.*win_base", UNCERTAINTY),
    ("channels.*win_ability", UNCERTAINTY),
    ("channels.*answer_prob", UNCERTAINTY),
    # Whether a field visit finds the borrower at home, and how long the road and the
    # visit take, are facts about borrowers and the city, not choices.
    ("channels.*found_prob", UNCERTAINTY),
    ("channels.field_team.travel_minutes", UNCERTAINTY),
    ("channels.field_team.visit_minutes", UNCERTAINTY),
    # How well the AI voice agents converse, and how long their calls take, are facts
    # about the bots and borrowers (the lines and their price are levers).
    ("channels.ai_voice.skill", UNCERTAINTY),
    ("channels.ai_voice.connected_minutes_*", UNCERTAINTY),
    ("channels.ai_voice.no_answer_minutes", UNCERTAINTY),
    # How long a call takes is a fact about borrowers, not a choice.
    ("collectors.connected_minutes", UNCERTAINTY),
    ("collectors.no_answer_minutes", UNCERTAINTY),
    # Levers: the treatment, its tunable parameters, the team, the rules, channel spend.
    ("policy", LEVER),
    ("levers", LEVER),
    ("lever_days", LEVER),
    ("collectors", LEVER),
    ("compliance", LEVER),
    ("channels", LEVER),
    # Uncertainties: borrowers, their response to contact, stress, the book.
    ("behaviour", UNCERTAINTY),
    ("response", UNCERTAINTY),
    ("stress", UNCERTAINTY),
    ("conversation", UNCERTAINTY),
    ("portfolio", UNCERTAINTY),
    ("book", UNCERTAINTY),
    ("assumptions", UNCERTAINTY),
    # Neither: how the model runs and how results are shown.
    ("simulation", SETTING),
    ("kpi", SETTING),
    ("seed", SETTING),
    ("replications", SETTING),
    ("show_segments", SETTING),
    ("baseline", SETTING),
    ("study", SETTING),
    ("experiment", SETTING),
    ("publish", SETTING),
    ("publish_dir", SETTING),
    ("memory_check", SETTING),
    ("resume", SETTING),
    ("objectives", SETTING),
    ("lever_keys", SETTING),
    ("hydra", SETTING),
)


def _matches(pattern: str, key: str) -> bool:
    return fnmatchcase(key, pattern) or fnmatchcase(key, pattern + ".*")


def role(key: str, levers: Iterable[str] = ()) -> str | None:
    """The role of ``key`` (``lever``, ``uncertainty`` or ``setting``), or None when no
    entry of :data:`ROLES` covers it. ``levers`` are keys (or prefixes) the user marks as
    levers whatever the table says (e.g. an assumption a lender can buy data on)."""
    key = key.lstrip("+~")
    if any(_matches(m, key) for m in levers):
        return LEVER
    return next((r for pattern, r in ROLES if _matches(pattern, key)), None)


def split_keys(keys: Iterable[str], levers: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """``keys`` split into (levers, conditions): conditions are everything that is not a
    lever (uncertainties, settings, and unknown keys, which are never ranked as choices)."""
    marks = list(levers)
    lev: list[str] = []
    cond: list[str] = []
    for k in keys:
        (lev if role(k, marks) == LEVER else cond).append(k)
    return lev, cond


__all__ = ["LEVER", "ROLES", "SETTING", "UNCERTAINTY", "role", "split_keys"]
