"""Errors that collectsim reports to users as one line, without a traceback."""

import re

#: ``stages[0]`` in a key: a list item, written ``stages.0`` on the command line.
_INDEX = re.compile(r"(?<=[A-Za-z0-9_])\[(\d+)\]")


def dotted_keys(text: str) -> str:
    """``a.b[0].c`` -> ``a.b.0.c``: keys in the form the command line accepts."""
    return _INDEX.sub(r".\1", text)


class CollectsimError(Exception):
    """Base class of every error meant for the user rather than the developer."""


class ConfigError(CollectsimError, ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range.

    The message names the offending key and what is allowed, for example
    ``portfolio.segments.1.share must be in [0, 1], got 1.3``. Keys written with list
    indices (``segments[1]``) are turned into that form here, once for every message.
    """

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(dotted_keys(str(message)), *args)


class ResultsError(CollectsimError):
    """A results folder is missing, empty or holds an unreadable file."""
