"""The ``hardneg`` program's entry point: Ctrl-C at any moment, start-up included, ends it
with exit status 130 and one line on stderr, never a traceback.

Only ``hardneg._version``, ``hardneg.errors`` and ``hardneg.interrupt`` are loaded before :func:`main` runs, so the
interrupt is caught from the first import of a command on. Once interrupted, clean-up runs (a second
Ctrl-C during it is the same interrupt, said once; the next run of the same command removes what
clean-up left). Once the command has ended, a Ctrl-C while the interpreter shuts down ends the
process at once with the command's status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Sequence

from hardneg.interrupt import EXIT_INTERRUPTED, say_interrupted


def _end_at_once(code: int) -> None:
    """From now on a Ctrl-C ends the process at once with ``code`` (what is printed is flushed first)."""

    def end(signum, frame) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)

    signal.signal(signal.SIGINT, end)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from hardneg.cli import main as run

        code = run(argv)
        _end_at_once(code)  # the command has finished and said so; the interpreter only shuts down now
    except KeyboardInterrupt:
        _end_at_once(EXIT_INTERRUPTED)
        code = say_interrupted()
    return code
