"""Errors that tell the user what is wrong and where, and what an interrupted run says.

An interrupted ``hardneg`` run says one line on stderr and exits with status 130; the entry point
(:mod:`hardneg.console`, an interrupt during start-up) and the CLI (one during a command) both say it from here,
so neither imports the other.
"""

from __future__ import annotations

import signal
import sys

INTERRUPTED = "hardneg: interrupted; outputs are written atomically, rerun the same command to finish"
EXIT_INTERRUPTED = 128 + signal.SIGINT
_said = False


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


def say_interrupted() -> int:
    """Say (once per process) that the run was interrupted; the exit status to end with."""
    global _said
    if not _said:
        _said = True
        print(INTERRUPTED, file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED
