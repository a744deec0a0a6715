"""How an interrupted ``python -m hardneg`` ends: its exit status when SIGINT lands at a range of moments.

Every interrupt after start-up must end with status 130 and the one line; 0 means the command had already
finished. A status of -2 (killed by the signal) or 1 (a traceback) is a failure. ``presets`` is used
because it is short, so the signal lands in start-up imports, in the command and at exit.

    python benchmarks/interrupt_exit.py --tries 100
"""

from __future__ import annotations

import argparse
import collections
import signal
import subprocess
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tries", type=int, default=100)
    parser.add_argument("--first", type=float, default=0.12, help="seconds after start of the earliest signal")
    parser.add_argument("--step", type=float, default=0.003, help="seconds between the delays tried (20 delays, cycled)")
    args = parser.parse_args(argv)
    statuses: collections.Counter[int] = collections.Counter()
    for i in range(args.tries):
        delay = args.first + (i % 20) * args.step
        proc = subprocess.Popen([sys.executable, "-m", "hardneg", "presets"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(delay)
        try:
            proc.send_signal(signal.SIGINT)
        except ProcessLookupError:
            pass
        proc.communicate()
        statuses[proc.returncode] += 1
    bad = sum(n for status, n in statuses.items() if status not in (0, 130))
    print(f"exit statuses over {args.tries} tries: {dict(sorted(statuses.items()))}; neither 0 nor 130: {bad}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
