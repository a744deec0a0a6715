"""What an interrupted ``hardneg`` run says and exits with: one line on stderr and status 130.

Shared by the entry point (:mod:`hardneg.console`, an interrupt during start-up) and the CLI (one during a
command), so neither imports the other.
"""

from __future__ import annotations

import signal
import sys

INTERRUPTED = "hardneg: interrupted; outputs are written atomically, rerun the same command to finish"
EXIT_INTERRUPTED = 128 + signal.SIGINT
_said = False


def say_interrupted() -> int:
    """Say (once per process) that the run was interrupted; the exit status to end with."""
    global _said
    if not _said:
        _said = True
        print(INTERRUPTED, file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED
