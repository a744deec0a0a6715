"""No stuck state: a checkpoint the run was killed while saving is skipped, Ctrl-C at any moment is
exit 130 and one line, and ``mine`` and ``train`` killed (SIGKILL or SIGINT) at random points finish
on a plain rerun with the bytes of an uninterrupted run."""

from __future__ import annotations

import logging
import os
import random
import signal
import stat
from pathlib import Path

import killed_runs as child  # tests/evolve/killed_runs.py (conftest puts tests/evolve on the path)
import pytest

from hardneg.training.train import train

FAST = {"batch_size": 8, "learning_rate": 1e-3, "logging_steps": 1, "max_seq_length": 32, "show_progress": False}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_checkpoint_killed_while_saving_is_skipped_with_a_warning(tiny_model, tmp_path, caplog):
    out = tmp_path / "model"
    train("demo", out, model=str(tiny_model), max_steps=2, checkpoint_steps=1, keep_checkpoints=True, **FAST)
    newest = tmp_path / "model.checkpoints" / "checkpoint-2"
    assert (newest / "hardneg-complete.json").is_file()
    (newest / "trainer_state.json").unlink()  # as if killed before the trainer wrote its state
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        result = train("demo", out, model=str(tiny_model), max_steps=3, checkpoint_steps=1, **FAST)
    assert result.summary["steps"] == 3
    assert any("checkpoint-2 was not completely saved" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "model.checkpoints").exists()


def test_a_trained_model_follows_the_umask(tiny_model, tmp_path):
    old = os.umask(0o022)
    try:
        train("demo", tmp_path / "model", model=str(tiny_model), max_steps=1, **FAST)
    finally:
        os.umask(old)
    model = tmp_path / "model"
    assert stat.S_IMODE((model / "model.safetensors").stat().st_mode) == 0o644
    for path in [model, *model.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o755 if path.is_dir() else 0o644), path


MINE = ["mine", "--data", "demo", "--query-chunk-size", "8", "--no-show-progress"]
TRAIN = ["train", "--data", "demo", "--max-steps", "6", "--checkpoint-steps", "1", "--batch-size", "8",
         "--max-seq-length", "32", "--no-show-progress"]  # fmt: skip


@pytest.fixture(scope="module")
def uninterrupted(_tiny_model_master, tmp_path_factory) -> dict[str, tuple[Path, float]]:
    """Each command run once without interruption: its output and how long it took."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    env, model = child.environment(folder / "cache"), ["--model", str(_tiny_model_master)]
    return {
        "mine": (folder / "rows.parquet", child.run(child.command(*MINE, *model, "--out", str(folder / "rows.parquet")), env)),
        "train": (folder / "model", child.run(child.command(*TRAIN, *model, "--out", str(folder / "model")), env)),
    }


# SIGKILL of mine at random points is tests/evolve/test_fault_injection.py; here Ctrl-C, start-up included.
@pytest.mark.parametrize("seed", [1, 2])
def test_mine_interrupted_anywhere_resumes_byte_identically(_tiny_model_master, uninterrupted, tmp_path, seed):
    reference, clean = uninterrupted["mine"]
    mine = child.command(*MINE, "--model", str(_tiny_model_master), "--out", str(tmp_path / "rows.parquet"))
    env = child.environment(tmp_path / "cache")  # a cold cache: the signal may land in encoding
    child.stopped_at(mine, env, random.Random(seed).uniform(0.0, 1.0) * clean, signal.SIGINT)
    child.run(mine, env)
    assert (tmp_path / "rows.parquet").read_bytes() == reference.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rows")]  # no temporaries, no lock


@pytest.mark.parametrize("seed,how", [(1, signal.SIGKILL), (2, signal.SIGINT)], ids=["SIGKILL", "SIGINT"])
def test_train_interrupted_anywhere_resumes_byte_identically(_tiny_model_master, uninterrupted, tmp_path, seed, how):
    reference, clean = uninterrupted["train"]
    command = child.command(*TRAIN, "--model", str(_tiny_model_master), "--out", str(tmp_path / "model"))
    env = child.environment(tmp_path / "cache")
    child.stopped_at(command, env, random.Random(seed).uniform(0.3, 1.0) * clean, how)
    child.run(command, env)
    # The weights and every other file are the same bytes; the model card's training log is not compared.
    got, want = (_files(folder) for folder in (tmp_path / "model", reference))
    assert got.keys() == want.keys()
    assert {k: v for k, v in got.items() if k != "README.md"} == {k: v for k, v in want.items() if k != "README.md"}
    assert not (tmp_path / "model.checkpoints").exists()
