"""Formatting numbers and command lines for the report and the page: one helper each."""

from __future__ import annotations

import math
import shlex


def fmt_number(x: float, decimals: int | None = None) -> str:
    """A number with thousands separators; 4 significant digits unless ``decimals`` is given."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if decimals is None:
        decimals = 0 if x == 0 else min(6, max(0, 3 - math.floor(math.log10(abs(x)))))
    return f"{x:,.{decimals}f}"


def _decimals(half_width: float) -> int | None:
    """Decimals that show two significant digits of ``half_width`` (None when it is 0 or NaN)."""
    if not math.isfinite(half_width) or half_width <= 0:
        return None
    return min(6, max(0, 1 - math.floor(math.log10(half_width))))


def fmt_ci(mean: float, half_width: float, signed: bool = False) -> str:
    """``mean ± half-width``, rounded to the precision of the half-width."""
    d = _decimals(half_width)
    m = fmt_number(mean, d)
    if signed and math.isfinite(mean) and mean >= 0:
        m = "+" + m
    if not math.isfinite(half_width):
        return m
    return f"{m} ± {fmt_number(half_width, d if d is not None else 0 if half_width == 0 else None)}"


def shell_quote(word: str) -> str:
    """``word`` quoted for a POSIX shell; a word holding single quotes (a quoted Hydra
    value such as ``baseline='collectors.size=20'``) goes in double quotes."""
    if "'" in word and not any(c in word for c in '"$`\\!'):
        return f'"{word}"'
    return shlex.quote(word)


#: Below this collector utilisation the team waits for work most of the day: adding or
#: removing collectors, or reordering their queue, hardly changes what is collected.
IDLE_UTILISATION = 0.5


def idle_team_note(utilisation: float, where: str = "") -> str | None:
    """One sentence saying that capacity does not bind when the team is idle most of the
    time (``utilisation`` below :data:`IDLE_UTILISATION`), else None."""
    if not math.isfinite(utilisation) or utilisation >= IDLE_UTILISATION:
        return None
    return (
        f"The collectors are busy only {utilisation:.0%} of their shift{where}: capacity does not bind, "
        "so team size and queue order hardly matter here; a lender's centre runs at 75-90% "
        "(fewer collectors, or more accounts per collector, to see them matter)."
    )


__all__ = ["IDLE_UTILISATION", "idle_team_note", "fmt_ci", "fmt_number", "shell_quote"]
