"""The ``hardneg`` program's entry point: Ctrl-C at any moment, start-up included, ends it
with exit status 130 and one line on stderr, never a traceback.

Only ``hardneg._version`` and ``hardneg.errors`` are loaded before :func:`main` runs, so the
interrupt is caught from the first import of a command on. Once interrupted, clean-up runs (a second
Ctrl-C during it is the same interrupt, said once; the next run of the same command removes what
clean-up left). Once the command has ended, a Ctrl-C while the interpreter shuts down is ignored:
the process exits with the command's status.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import typing
from collections.abc import Sequence

from hardneg.errors import EXIT_INTERRUPTED, say_interrupted


def _ignore_interrupts() -> None:
    """The command has ended and said so: a Ctrl-C from now on changes nothing, and the process exits with the
    command's status. Ignored at the OS level (SIG_IGN), which the interpreter keeps while it shuts down; a
    Python handler would be reset to the default one there, and a late Ctrl-C would kill the process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit_interrupted(code: int) -> typing.NoReturn:
    """End an interrupted run with ``code`` once the exit handlers have run (atexit, temporary folders), without
    the interpreter's own shutdown. ``python -m hardneg presets`` interrupted while it imports its libraries, with
    the interrupt caught and said, still ended killed by SIGINT (status -2, not 130) after the interpreter's
    shutdown in 16 and 24 of 100 tries; ending here, in none of 200 (``benchmarks/interrupt_exit.py``)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` wraps a Ctrl-C: Python turns one that lands inside some of its own machinery (a class's
    ``__set_name__`` while a module is imported) into a RuntimeError caused by the KeyboardInterrupt."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from hardneg.cli import main as run

        code = run(argv)
    except KeyboardInterrupt:
        code = say_interrupted()
    except Exception as exc:
        if not _caused_by_interrupt(exc):
            raise
        code = say_interrupted()
    _ignore_interrupts()
    if code == EXIT_INTERRUPTED:
        _exit_interrupted(code)
    return code
