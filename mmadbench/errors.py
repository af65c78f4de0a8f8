"""Exceptions the harness raises for bad user input, caught by the CLI and shown as one line."""

from __future__ import annotations


class MmadbenchError(Exception):
    """A problem with the user's input (names, files, options): shown without a traceback."""


class ConfigError(MmadbenchError):
    """A malformed sweep file or option value."""


class DataError(MmadbenchError):
    """A dataset that cannot be loaded or is inconsistent (lengths, NaN, missing files)."""


class RegistryError(MmadbenchError, KeyError):
    """An unknown or duplicate detector or dataset name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotFittedError(MmadbenchError, AttributeError):
    """A detector was asked to score before it was fitted."""


class ParameterError(MmadbenchError, ValueError):
    """A detector hyper-parameter outside its declared constraints (checked when `fit` starts)."""
