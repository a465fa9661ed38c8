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


__all__ = ["fmt_ci", "fmt_number", "shell_quote"]
