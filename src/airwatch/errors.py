"""The errors a user can act on.

The command line prints an ``AirWatchError`` as one line, without a traceback (``--debug`` shows it);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class AirWatchError(Exception):
    """A problem with the input, the settings or the environment, explained by its message."""


class NoDataError(AirWatchError):
    """Nothing usable is left to work on (every file quarantined, no observation of a pollutant)."""


class InputError(AirWatchError):
    """An input location or option is wrong (a folder that does not exist, a malformed option)."""
