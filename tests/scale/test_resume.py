"""A mining run killed with SIGKILL and started again finishes with the same bytes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hardneg.mining.batch import MinedBatch
from hardneg.mining.resume import PartStore, merge_into, pack, run_key, unpack


def _mine_command(data: Path, model: Path, out: Path, cache: Path) -> list[str]:
    return [
        sys.executable, "-m", "hardneg", "mine",
        "--data", str(data), "--model", str(model), "--out", str(out), "--cache-dir", str(cache),
        "--shard-size", "400", "--query-chunk-size", "16", "--batch-size", "32",
        "--seed", "7", "--no-show-progress", "--json",
    ]  # fmt: skip


def _kill_when(proc: subprocess.Popen, folder: Path, pattern: str, count: int, timeout: float = 120) -> int:
    """SIGKILL ``proc`` once ``folder`` holds ``count`` files matching ``pattern``; the number seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        seen = len(list(folder.glob(pattern))) if folder.is_dir() else 0
        if seen >= count:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return seen
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    pytest.fail(f"the run ended before {count} files matching {pattern} appeared in {folder}")


def test_sigkill_during_encoding_and_mining_then_rerun_gives_identical_rows(tmp_path, tiny_model, synthetic_beir, hardneg_env):
    reference = tmp_path / "reference.parquet"
    done = subprocess.run(
        _mine_command(synthetic_beir, tiny_model, reference, tmp_path / "cache-a"),
        env=hardneg_env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr

    out, cache = tmp_path / "resumed.parquet", tmp_path / "cache-b"
    command = _mine_command(synthetic_beir, tiny_model, out, cache)
    # Killed while encoding: some document shards are in the cache, no part yet.
    first = subprocess.Popen(command, env=hardneg_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    shards_before_kill = _kill_when(first, cache / "embeddings", "*.npy", 3)
    # Killed while mining: some query batches are saved as parts.
    second = subprocess.Popen(command, env=hardneg_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parts_before_kill = _kill_when(second, cache / "runs", "*/part-*.npz", 5)
    assert not out.exists()

    last = subprocess.run(command, env=hardneg_env, capture_output=True, text=True)
    assert last.returncode == 0, last.stderr
    summary = json.loads(last.stdout)
    assert summary["batches_resumed"] >= parts_before_kill
    assert summary["texts_from_cache"] >= shards_before_kill * 400
    assert out.read_bytes() == reference.read_bytes()
    assert not list((cache / "runs").iterdir())
    assert not list(tmp_path.glob(".resumed.parquet.tmp-*"))


def _batch(q: int) -> MinedBatch:
    rng = np.random.default_rng(q)
    return MinedBatch(
        queries=np.arange(q, q + 3),
        positive_scores=[rng.random(1, dtype=np.float32), rng.random(2, dtype=np.float32), np.zeros(0, np.float32)],
        negatives=rng.integers(-1, 50, (3, 2)),
        negative_scores=rng.random((3, 2), dtype=np.float32),
        candidates=rng.integers(-1, 50, (3, 5)),
        candidate_scores=rng.random((3, 5), dtype=np.float32),
        candidate_kept=rng.random((3, 5)) > 0.5,
    )


class _Counters:
    def __init__(self, found: int, ids: list[str], dropped: dict[str, int], scores: list[np.ndarray]):
        self.found, self.ids, self.dropped, self.scores = found, ids, dropped, scores


def test_pack_round_trip_keeps_arrays_dtypes_and_ragged_lists():
    batch = _batch(4)
    again = unpack(MinedBatch, _as_npz(pack(batch)))
    for name in ("queries", "negatives", "negative_scores", "candidates", "candidate_scores", "candidate_kept"):
        np.testing.assert_array_equal(getattr(again, name), getattr(batch, name))
        assert getattr(again, name).dtype == getattr(batch, name).dtype
    assert [a.tolist() for a in again.positive_scores] == [a.tolist() for a in batch.positive_scores]

    counters = _Counters(3, ["q1"], {"margin": 2}, [np.ones(2, np.float32)])
    copy = unpack(_Counters, _as_npz(pack(counters)))
    assert (copy.found, copy.ids, copy.dropped) == (3, ["q1"], {"margin": 2})


def _as_npz(arrays: dict[str, np.ndarray]):
    class Npz(dict):
        files = list(arrays)

    return Npz(arrays)


def test_merge_adds_counts_extends_lists_and_merges_dicts():
    total = _Counters(1, ["a"], {"x": 1}, [])
    merge_into(total, _Counters(2, ["b"], {"x": 2, "y": 5}, [np.zeros(1)]))
    assert (total.found, total.ids, total.dropped, len(total.scores)) == (3, ["a", "b"], {"x": 3, "y": 5}, 1)


def test_part_store_reuses_parts_of_the_same_key_only(tmp_path):
    out, root = tmp_path / "rows.parquet", tmp_path / "runs"
    store = PartStore(root, out, "key-1")
    assert store.open() == set()
    store.save(0, mined=_batch(0), stats=_Counters(1, [], {}, []))
    store.save(2, mined=_batch(2), stats=_Counters(1, [], {}, []))
    stale_output = tmp_path / ".rows.parquet.tmp-abc"
    stale_output.write_bytes(b"half")
    assert PartStore(root, out, "key-1").open() == {0, 2}
    assert not stale_output.exists()
    loaded = PartStore(root, out, "key-1").load(2, mined=MinedBatch, stats=_Counters)
    np.testing.assert_array_equal(loaded["mined"].negatives, _batch(2).negatives)
    assert PartStore(root, tmp_path / "other.parquet", "key-3").open() == set()
    assert store.folder.exists()  # another output's run leaves these parts alone
    assert PartStore(root, out, "key-2").open() == set()  # other parameters: nothing reused
    assert not store.folder.exists()


def test_two_outputs_of_the_same_parameters_keep_their_own_parts(tmp_path):
    """Resume state is keyed by the output as well as the parameters: a run that finishes into one output
    removes its own parts, never those of a run of the same parameters still writing another output."""
    root = tmp_path / "runs"
    first, second = PartStore(root, tmp_path / "a.parquet", "key-1"), PartStore(root, tmp_path / "b.parquet", "key-1")
    assert first.open() == second.open() == set() and first.folder != second.folder
    first.save(0, mined=_batch(0), stats=_Counters(1, [], {}, []))
    second.save(1, mined=_batch(1), stats=_Counters(1, [], {}, []))
    first.remove()
    assert PartStore(root, tmp_path / "b.parquet", "key-1").open() == {1}


def test_run_key_ignores_where_it_runs_but_not_what_it_mines(tmp_path):
    data = tmp_path / "corpus.jsonl"
    data.write_text('{"_id": "d1", "text": "a"}\n')
    base = {"seed": 1, "num_negatives": 3, "show_progress": True, "cache_dir": "/a", "out": "x.parquet"}
    key = run_key(base, inputs={"corpus": str(data)}, model={"fingerprint": "f"}, code="1")
    assert key == run_key(
        {**base, "show_progress": False, "cache_dir": "/b"}, inputs={"corpus": str(data)}, model={"fingerprint": "f"}, code="1"
    )
    assert key != run_key({**base, "seed": 2}, inputs={"corpus": str(data)}, model={"fingerprint": "f"}, code="1")
    assert key != run_key(base, inputs={"corpus": str(data)}, model={"fingerprint": "g"}, code="1")
    data.write_text('{"_id": "d1", "text": "b"}\n')
    assert key != run_key(base, inputs={"corpus": str(data)}, model={"fingerprint": "f"}, code="1")
