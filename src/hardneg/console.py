"""The ``hardneg`` program's entry point: Ctrl-C at any moment, start-up and exit included, ends it
with exit status 130 and one line on stderr, never a traceback.

Only ``hardneg._version`` and ``hardneg.errors`` are loaded before :func:`main` runs, so the
interrupt is caught from the first import of a command on. Once interrupted, clean-up runs; a second
Ctrl-C ends the process at once (the next run of the same command removes what clean-up left).
Once the command has finished and printed its result, Ctrl-C is ignored while the process exits.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

INTERRUPTED = "hardneg: interrupted; outputs are written atomically, rerun the same command to finish"
EXIT_INTERRUPTED = 128 + signal.SIGINT
_said = False


def _at_once(signum, frame) -> None:
    os._exit(EXIT_INTERRUPTED)


def interrupted() -> int:
    """Say (once per process) that the run was interrupted; the exit status to end with."""
    global _said
    try:
        signal.signal(signal.SIGINT, _at_once)
    except ValueError:  # not the main thread: the host program owns its signals
        pass
    if not _said:
        _said = True
        print(INTERRUPTED, file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from hardneg.cli import main as run

        code = run(argv)
        # The command is done and has said so: a Ctrl-C while the interpreter shuts down changes nothing.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:
        return interrupted()
    return code
