"""Errors that collectsim reports to users as one line, without a traceback."""


class CollectsimError(Exception):
    """Base class of every error meant for the user rather than the developer."""


class ConfigError(CollectsimError, ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range.

    The message names the offending key and what is allowed, for example
    ``portfolio.segments[1].share must be in [0, 1], got 1.3``.
    """


class ResultsError(CollectsimError):
    """A results folder is missing, empty or holds an unreadable file."""
