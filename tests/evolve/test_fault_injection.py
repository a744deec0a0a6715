"""Fault injection: ``mine`` and ``evolve`` are killed (SIGKILL) at random points, several seeds; a
plain rerun of the same command must finish, with no manual clean-up, and write byte-identical
output to an uninterrupted run."""

from __future__ import annotations

import json
import random

import killed_runs as child  # tests/evolve/killed_runs.py (conftest puts tests/evolve on the path)

TRAIN = '{"max_steps": 2, "batch_size": 8, "learning_rate": 0.001, "logging_steps": 1, "max_seq_length": 32}'


def test_mine_killed_anywhere_resumes_byte_identically(tiny_model, tmp_path):
    cache = tmp_path / "cache"
    mine = ["mine", "--data", "demo", "--model", str(tiny_model), "--query-chunk-size", "8", "--no-show-progress"]
    reference = tmp_path / "reference.parquet"
    clean = child.run(child.command(*mine, "--out", str(reference)), child.environment(cache))
    for seed in (1, 2, 3):
        out = tmp_path / f"rows-{seed}.parquet"
        seed_cache = tmp_path / f"cache-{seed}"  # a cold cache: the kill may land in encoding too
        child.stopped_at(
            child.command(*mine, "--out", str(out)), child.environment(seed_cache), random.Random(seed).uniform(0.3, 1.0) * clean
        )
        child.run(child.command(*mine, "--out", str(out)), child.environment(seed_cache))
        assert out.read_bytes() == reference.read_bytes(), f"seed {seed}"
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".rows-{seed}")]  # no temporaries, no lock


def test_evolve_killed_anywhere_resumes(tiny_model, tmp_path):
    cache = tmp_path / "cache"
    evolve = ["evolve", "--data", "demo", "--model", str(tiny_model), "--rounds", "1", "--preset", "ance",
              "--dev-fraction", "0.25", "--no-audit", "--train-options", TRAIN, "--no-show-progress"]  # fmt: skip
    reference = tmp_path / "reference"
    clean = child.run(child.command(*evolve, "--out", str(reference)), child.environment(cache))
    run = tmp_path / "run"
    for seed in (1, 2, 3):  # three kills at random points of the same run, then one plain rerun
        child.stopped_at(
            child.command(*evolve, "--out", str(run)), child.environment(cache), random.Random(seed).uniform(0.2, 0.9) * clean
        )
    child.run(child.command(*evolve, "--out", str(run)), child.environment(cache))
    for name in ("round-000/candidates.parquet", "data/qrels/dev.tsv", "data/qrels/train.tsv"):
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name
    got, want = (json.loads((d / "round-000" / "round.json").read_text()) for d in (run, reference))
    assert got["dev"] == want["dev"] and got["hardness"] == want["hardness"]
