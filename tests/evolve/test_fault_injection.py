"""Fault injection: ``mine`` and ``evolve`` are killed (SIGKILL) at random points, several seeds; a
plain rerun of the same command must finish, with no manual clean-up, and write byte-identical
output to an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
TRAIN = '{"max_steps": 2, "batch_size": 8, "learning_rate": 0.001, "logging_steps": 1, "max_seq_length": 32}'


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hardneg", *args]


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "HARDNEG_CACHE": str(cache),
            "OMP_NUM_THREADS": "1"}  # fmt: skip


def _run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def _killed_at(args: list[str], env: dict[str, str], seconds: float) -> None:
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_mine_killed_anywhere_resumes_byte_identically(tiny_model, tmp_path):
    cache = tmp_path / "cache"
    mine = ["mine", "--data", "demo", "--model", str(tiny_model), "--query-chunk-size", "8", "--no-show-progress"]
    reference = tmp_path / "reference.parquet"
    clean = _run(_command(*mine, "--out", str(reference)), _env(cache))
    for seed in (1, 2, 3):
        out = tmp_path / f"rows-{seed}.parquet"
        seed_cache = tmp_path / f"cache-{seed}"  # a cold cache: the kill may land in encoding too
        _killed_at(_command(*mine, "--out", str(out)), _env(seed_cache), random.Random(seed).uniform(0.3, 1.0) * clean)
        _run(_command(*mine, "--out", str(out)), _env(seed_cache))
        assert out.read_bytes() == reference.read_bytes(), f"seed {seed}"
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".rows-{seed}")]  # no temporaries, no lock


def test_evolve_killed_anywhere_resumes(tiny_model, tmp_path):
    cache = tmp_path / "cache"
    evolve = ["evolve", "--data", "demo", "--model", str(tiny_model), "--rounds", "1", "--preset", "ance",
              "--dev-fraction", "0.25", "--no-audit", "--train-options", TRAIN, "--no-show-progress"]  # fmt: skip
    reference = tmp_path / "reference"
    clean = _run(_command(*evolve, "--out", str(reference)), _env(cache))
    run = tmp_path / "run"
    for seed in (1, 2, 3):  # three kills at random points of the same run, then one plain rerun
        _killed_at(_command(*evolve, "--out", str(run)), _env(cache), random.Random(seed).uniform(0.2, 0.9) * clean)
    _run(_command(*evolve, "--out", str(run)), _env(cache))
    for name in ("round-000/candidates.parquet", "data/qrels/dev.tsv", "data/qrels/train.tsv"):
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name
    got, want = (json.loads((d / "round-000" / "round.json").read_text()) for d in (run, reference))
    assert got["dev"] == want["dev"] and got["hardness"] == want["hardness"]
