"""Failures say what they are: a corrupted manifest is corrupted (not missing), an empty HARDNEG_CACHE
is the default cache, a lock names its file and is taken over from a process that only shares the
dead run's pid, and a full disk names the output and leaves no partial file."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from hardneg.candidates_file import mined_data
from hardneg.cli import main
from hardneg.errors import ConfigError, DataError
from hardneg.io import atomic_path
from hardneg.options import default_cache_dir
from hardneg.outputs import INCOMPLETE, OutputGuard, is_complete, manifest_of
from hardneg.writers import StreamingWriter

CORRUPTED = {"truncated": '{"command": "mine", "parameters": {', "not an object": "[1, 2]", "not UTF-8": b"\xff\xfe{"}


def _write(path: Path, content: str | bytes) -> None:
    path.write_bytes(content if isinstance(content, bytes) else content.encode())


@pytest.mark.parametrize("case", list(CORRUPTED))
def test_a_corrupted_candidates_manifest_is_called_corrupted_not_missing(tmp_path, case):
    candidates = tmp_path / "c.parquet"
    candidates.write_bytes(b"rows")
    _write(tmp_path / "c.parquet.manifest.json", CORRUPTED[case])
    for read in (manifest_of, mined_data):
        with pytest.raises(DataError, match=r"c\.parquet\.manifest\.json: corrupted") as info:
            read(candidates)
        assert "missing" not in str(info.value)
    (tmp_path / "c.parquet.manifest.json").unlink()
    assert manifest_of(candidates) is None
    with pytest.raises(DataError, match="is missing"):
        mined_data(candidates)


@pytest.mark.parametrize("case", list(CORRUPTED))
def test_a_corrupted_output_manifest_is_named_by_the_guard_and_redone_by_evolve(tmp_path, case, caplog):
    out = tmp_path / "rows.parquet"
    out.write_bytes(b"rows")
    _write(tmp_path / "rows.parquet.manifest.json", CORRUPTED[case])
    with pytest.raises(
        ConfigError, match=r"not an output of `hardneg mine` \(its manifest .*rows\.parquet\.manifest\.json: corrupted"
    ):
        OutputGuard(out, "mine").check()
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        assert not is_complete(out)
    assert "corrupted" in caplog.text


def test_a_corrupted_run_file_is_one_line_naming_it(tmp_path, capsys):
    (tmp_path / "summary.json").write_text("[]")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "summary.json: corrupted: expected a JSON object" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_hardneg_cache_is_the_default_cache_not_the_current_folder(monkeypatch, value):
    monkeypatch.setenv("HARDNEG_CACHE", value)
    assert default_cache_dir() == Path.home() / ".cache" / "hardneg"
    monkeypatch.setenv("HARDNEG_CACHE", "/some/cache")
    assert default_cache_dir() == Path("/some/cache")


@pytest.fixture
def other_process():
    """A live process that is not a hardneg run (its pid is what a stale lock may name)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def _start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[19]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times are read from /proc")
def test_a_lock_naming_a_live_pid_of_another_process_is_stale(tmp_path, other_process):
    out, lock = tmp_path / "rows.parquet", tmp_path / ".rows.parquet.lock"
    started = _start_time(other_process.pid)
    lock.write_text(f"{other_process.pid} {started}\n")  # the live run that wrote this lock
    with pytest.raises(ConfigError, match=rf"\(pid {other_process.pid}, lock {lock}\)"):
        with OutputGuard(out, "mine"):
            pass
    lock.write_text(f"{other_process.pid} {int(started) - 1}\n")  # a dead run's lock; its pid was reused since
    with OutputGuard(out, "mine"):
        pid, _, start = lock.read_text().strip().partition(" ")
        assert int(pid) == os.getpid() and start == _start_time(os.getpid())  # the lock records this run
    assert not lock.exists()


def test_a_full_disk_names_the_file_and_removes_the_partial_one(tmp_path):
    target = tmp_path / "rows.jsonl"
    with pytest.raises(OSError, match="No space left on device while writing it; the partial file was removed") as info:
        with atomic_path(target) as tmp:
            tmp.write_text("half of the rows")
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    assert info.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_full_disk_while_mining_is_one_line_naming_the_output(tiny_beir, tmp_path, monkeypatch, capsys, suffix):
    def full(self, rows):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(StreamingWriter, "write", full)
    out = tmp_path / "out" / f"rows{suffix}"
    assert main(["mine", "--data", str(tiny_beir), "--out", str(out), "--preset", "top", "--num-negatives", "1",
                 "--no-show-progress", "--no-resume"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.strip() == f"hardneg: error: {out}: No space left on device while writing it; the partial file was removed"
    assert sorted(p.name for p in out.parent.iterdir()) == []  # no partial file, temporary, lock or stub


def test_a_full_disk_when_the_last_rows_are_flushed_removes_the_partial_file(tmp_path, monkeypatch):
    out = tmp_path / "rows.jsonl"
    writer = StreamingWriter(out, pa.schema([("a", pa.string())]))
    with pytest.raises(OSError, match="while writing it") as info:
        with writer:
            writer.write([{"a": "x"}])

            def full() -> None:
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(writer._fh, "close", full, raising=False)
    assert info.value.filename == str(out)
    assert not any(p.name.startswith(".rows.jsonl.tmp-") for p in tmp_path.iterdir()) and not out.exists()


def test_an_incomplete_stub_is_still_taken_for_an_own_output(tmp_path):
    out = tmp_path / "rows.parquet"
    out.write_bytes(b"rows")
    (tmp_path / "rows.parquet.manifest.json").write_text(json.dumps({"command": "mine", "state": INCOMPLETE}))
    OutputGuard(out, "mine").check()  # an earlier, killed run of the same command: rerun it


# --- an input is never a target ------------------------------------------------------------------


def _mine_over(target: Path, data: Path, capsys) -> str:
    code = main(["mine", "--data", str(data), "--out", str(target), "--overwrite", "--no-show-progress"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err


def test_a_file_of_the_data_folder_is_never_a_target_even_with_overwrite(tiny_beir, capsys):
    corpus = tiny_beir / "corpus.jsonl"
    before = corpus.read_bytes()
    assert "inside the input folder" in _mine_over(corpus, tiny_beir, capsys)
    assert "inside the input folder" in _mine_over(tiny_beir / "queries.jsonl", tiny_beir, capsys)
    assert corpus.read_bytes() == before


def test_a_link_to_an_input_is_never_a_target(tiny_beir, tmp_path, capsys):
    corpus = tiny_beir / "corpus.jsonl"
    before = corpus.read_bytes()
    symbolic = tmp_path / "symbolic.jsonl"
    symbolic.symlink_to(corpus)
    assert "inside the input folder" in _mine_over(symbolic, tiny_beir, capsys)
    hard = tmp_path / "hard.jsonl"
    os.link(corpus, hard)
    assert f"same file as the input {corpus}" in _mine_over(hard, tiny_beir, capsys)
    assert corpus.read_bytes() == before and symbolic.is_symlink() and hard.read_bytes() == before


def test_new_and_own_outputs_inside_the_data_folder_are_still_allowed(tiny_beir):
    OutputGuard(tiny_beir / "negatives.parquet", "mine", inputs=[tiny_beir]).check()
    (tiny_beir / "negatives.parquet").write_bytes(b"rows")
    (tiny_beir / "negatives.parquet.manifest.json").write_text(json.dumps({"command": "mine"}))
    OutputGuard(tiny_beir / "negatives.parquet", "mine", inputs=[tiny_beir]).check()
