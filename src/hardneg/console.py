"""The ``hardneg`` program's entry point: Ctrl-C at any moment, start-up and exit included, ends it
with exit status 130 and one line on stderr, never a traceback.

Only ``hardneg._version`` and ``hardneg.errors`` are loaded before :func:`main` runs, so the
interrupt is caught from the first import of a command on. Once interrupted, clean-up runs; a second
Ctrl-C ends the process at once (the next run of the same command removes what clean-up left).
Once the command has finished and printed its result, Ctrl-C is ignored while the process exits.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence

from hardneg.interrupt import interrupted


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from hardneg.cli import main as run

        code = run(argv)
        # The command is done and has said so: a Ctrl-C while the interpreter shuts down changes nothing.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:
        return interrupted()
    return code
