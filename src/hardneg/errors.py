"""Errors that tell the user what is wrong and where."""

from __future__ import annotations


class HardnegError(Exception):
    """Base class of every error hardneg raises on purpose; the CLI prints it and exits 2."""


class DataError(HardnegError, ValueError):
    """Bad input data. The message names the file, and the line or field where it can."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class ConfigError(HardnegError, ValueError):
    """An invalid parameter value; the message names the parameter and the allowed values."""


class ModelError(HardnegError):
    """A model that cannot be found or loaded."""
