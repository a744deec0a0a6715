"""Running ``python -m hardneg`` in a child process, and killing or interrupting it at a chosen moment:
what the fault-injection and no-stuck-state tests share."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
INTERRUPTED = "hardneg: interrupted; outputs are written atomically, rerun the same command to finish"


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hardneg", *args]


def environment(cache: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "HARDNEG_CACHE": str(cache),
            "OMP_NUM_THREADS": "1"}  # fmt: skip


def run(args: list[str], env: dict[str, str]) -> float:
    """Run ``args`` to the end (it must succeed); the seconds it took."""
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return time.perf_counter() - start


def stopped_at(args: list[str], env: dict[str, str], seconds: float, how: signal.Signals = signal.SIGKILL) -> None:
    """Run ``args`` and send ``how`` after ``seconds``; a SIGINT must end it with 130 and one line."""
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(how)
    _, err = proc.communicate(timeout=120)
    if how == signal.SIGINT and proc.returncode != 0:
        assert proc.returncode == 130, err[-2000:]
        assert "Traceback" not in err and err.rstrip().splitlines()[-1] == INTERRUPTED, err[-2000:]
        assert err.count(INTERRUPTED) == 1
