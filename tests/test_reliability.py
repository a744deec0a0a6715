"""Nothing lost, never stuck: one test per promise of docs/reliability.md (tiny fixtures, no model loads)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from hardneg.cli import main
from hardneg.data import load_beir, load_data, load_pairs
from hardneg.encoding.encode import Encoder
from hardneg.errors import ConfigError, DataError
from hardneg.io import atomic_path, checksum_path
from hardneg.mining.batch import MinedBatch
from hardneg.mining.config import MineConfig
from hardneg.mining.resume import PartStore
from hardneg.outputs import INCOMPLETE, OutputGuard, is_complete


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# --- 1, 2: output safety ------------------------------------------------------------------------


def test_mine_refuses_a_folder_of_other_files_and_leaves_it_untouched(tmp_path, capsys):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.tex").write_text("years of work")
    assert main(["mine", "--data", "demo", "--preset", "in-batch", "--out", str(victim)]) == 2
    assert "hardneg did not write" in _err(capsys)
    assert (victim / "thesis.tex").read_text() == "years of work"
    assert main(["mine", "--data", "demo", "--out", str(victim), "--overwrite"]) == 2  # never a foreign folder
    assert (victim / "thesis.tex").read_text() == "years of work"
    assert main(["train", "--data", "demo", "--out", str(victim)]) == 2
    assert main(["teacher", "--data", "demo", "--out", str(victim)]) == 2
    assert sorted(p.name for p in victim.iterdir()) == ["thesis.tex"]


def test_an_existing_file_needs_overwrite_and_protected_folders_never_pass(tmp_path, monkeypatch):
    foreign = tmp_path / "rows.parquet"
    foreign.write_bytes(b"not ours")
    with pytest.raises(ConfigError, match="--overwrite"):
        OutputGuard(foreign, "mine", overwrite=False).check()
    OutputGuard(foreign, "mine", overwrite=True).check()
    monkeypatch.chdir(tmp_path)
    for out in (".", "/", os.path.expanduser("~"), str(tmp_path)):
        with pytest.raises(ConfigError):
            OutputGuard(out, "mine", overwrite=True).check()


def test_out_equal_to_or_holding_an_input_is_refused(tmp_path, tiny_beir):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"a": "q", "b": "d"}\n')
    with pytest.raises(ConfigError, match="is an input"):
        OutputGuard(pairs, "mine", inputs=[pairs], overwrite=True).check()
    with pytest.raises(ConfigError, match="holds an input"):
        OutputGuard(tiny_beir.parent, "mine", inputs=[tiny_beir / "qrels" / "train.tsv"], overwrite=True).check()
    before = pairs.read_bytes()
    assert main(["mine", "--data", str(pairs), "--out", str(pairs), "--overwrite"]) == 2
    assert pairs.read_bytes() == before


# --- 3: pair files parsed exactly -------------------------------------------------------------


def test_tsv_is_read_literally(tmp_path):
    path = tmp_path / "p.tsv"
    rows = ['"Hamlet" is by whom?\tShakespeare wrote it.', 'an "unbalanced quote\tone', "two\ttwo doc", "three\tthree doc"]
    path.write_text("anchor\tpositive\n" + "\n".join(rows) + "\n", encoding="utf-8")
    data = load_pairs(path)
    assert data.query_texts == ['"Hamlet" is by whom?', 'an "unbalanced quote', "two", "three"]
    assert data.num_pairs == 4


def test_csv_that_does_not_parse_is_an_error_at_its_line_never_a_merge(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text('anchor,positive\nok,fine\n"unbalanced,doc\nthree,doc3\n"four",doc4\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"p\.csv:3: not valid CSV"):
        load_pairs(path)
    data = load_pairs(path, on_error="skip")
    assert data.num_pairs + sum(data.skipped.values()) == 4  # every row in is a pair out or a counted skip
    (tmp_path / "q.csv").write_text('anchor,positive\n"Hamlet" is by whom?,x\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"q\.csv:2"):
        load_pairs(tmp_path / "q.csv")


# --- 4, 5, 6: qrels and ids ---------------------------------------------------------------------


def test_a_malformed_first_qrels_line_is_an_error_not_a_header(tiny_beir):
    qrels = tiny_beir / "qrels" / "train.tsv"
    qrels.write_text("q_france\tparis\t1x\nq_cookies\tcookies\t1\n")
    with pytest.raises(DataError, match=r"train\.tsv:1: score '1x'"):
        load_beir(tiny_beir)
    assert load_beir(tiny_beir, on_error="skip").skipped == {"malformed_line": 1}
    qrels.write_text("query-id\tcorpus-id\tscore\nq_france\tparis\t1\n")
    assert load_beir(tiny_beir).query_ids == ["q_france"]


def test_qrels_format_is_decided_once_per_file(tiny_beir):
    qrels = tiny_beir / "qrels" / "train.tsv"
    qrels.write_text("q_france\tparis\t1\nq_cookies\tcook\tie\t1\n")  # a document id with a tab
    with pytest.raises(DataError, match=r"train\.tsv:2: .*not both"):
        load_beir(tiny_beir, on_error="skip")
    qrels.write_text("q_france\tpar\tis\t1\n")  # every line 4 fields, but not TREC's iteration
    with pytest.raises(DataError, match="iteration"):
        load_beir(tiny_beir)


def test_ids_are_stripped_the_same_way_in_every_file(tiny_beir):
    corpus = tiny_beir / "corpus.jsonl"
    corpus.write_text(corpus.read_text() + json.dumps({"_id": " sp", "text": "Space ids."}) + "\n")
    queries = tiny_beir / "queries.jsonl"
    queries.write_text(queries.read_text() + json.dumps({"_id": "qs ", "text": "Spaced query?"}) + "\n")
    (tiny_beir / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nqs\t sp \t1\n")
    data = load_beir(tiny_beir)
    assert data.query_ids == ["qs"] and data.corpus_ids[data.positives[0][0]] == "sp"


# --- 7, 9, 10: resume parts, locks, checksums ------------------------------------------------


def _batch() -> MinedBatch:
    z = np.zeros((1, 2), dtype=np.int64)
    return MinedBatch(
        queries=np.array([0]), candidates=z, candidate_scores=z.astype(np.float32), candidate_kept=z.astype(bool),
        negatives=z, negative_scores=z.astype(np.float32), positive_scores=[np.zeros(1, np.float32)],
    )  # fmt: skip


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no-checksum"])
def test_a_damaged_resume_part_is_dropped_and_mined_again(tmp_path, damage, caplog):
    store = PartStore(tmp_path / "runs", tmp_path / "out.parquet", "key")
    store.open()
    store.save(0, mined=_batch())
    store.save(1, mined=_batch())
    part = store._path(1)
    if damage == "truncate":
        part.write_bytes(part.read_bytes()[:40])
    elif damage == "garbage":
        part.write_bytes(os.urandom(part.stat().st_size))
    else:
        checksum_path(part).unlink()
    assert PartStore(tmp_path / "runs", tmp_path / "out.parquet", "key").open() == {0}
    assert not part.exists() and "recomputed" in caplog.text


def test_a_cache_shard_overwritten_with_same_size_garbage_is_encoded_again(tmp_path):
    encoder = Encoder(model=SimpleNamespace(max_seq_length=8), fingerprint="f", cache_dir=tmp_path, show_progress=False)
    emb = np.eye(4, dtype=np.float32)
    encoder._store("k", emb)
    path = tmp_path / "embeddings" / "k.npy"
    np.testing.assert_array_equal(encoder._cached("k", 4), emb)
    raw = bytearray(path.read_bytes())
    raw[-8:] = b"\x00\x00\x80\x3f" * 2  # same size, two values changed
    path.write_bytes(bytes(raw))
    assert encoder._cached("k", 4) is None  # recomputed, never used
    encoder._store("k", emb)  # the recomputed shard replaces it, with its checksum
    np.testing.assert_array_equal(encoder._cached("k", 4), emb)


def test_a_second_run_on_the_same_out_is_refused_and_dead_runs_are_cleaned(tmp_path):
    out = tmp_path / "rows.parquet"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".rows.parquet.lock").write_text(f"{sleeper.pid}\n")
        tmp = tmp_path / ".rows.parquet.tmp-live"
        tmp.write_bytes(b"a live run's rows")
        with pytest.raises(
            ConfigError,
            match=rf"another hardneg run is writing .*rows\.parquet \(pid {sleeper.pid}, lock .*\.rows\.parquet\.lock\)",
        ):
            with OutputGuard(out, "mine"):
                pass
        assert tmp.exists()  # the live run's temporary is untouched
    finally:
        sleeper.kill()
        sleeper.wait()
    with OutputGuard(out, "mine"):  # the lock of a dead process is taken over, its temporaries removed
        assert not tmp.exists()
        assert json.loads((tmp_path / "rows.parquet.manifest.json").read_text())["state"] == INCOMPLETE
    assert not (tmp_path / ".rows.parquet.lock").exists()


# --- 8: evolve heals a step whose manifest never got written -----------------------------------


def test_an_output_without_its_manifest_is_redone(tmp_path):
    from hardneg.evolution.loop import _reusable

    candidates = tmp_path / "round-000" / "candidates.parquet"
    candidates.parent.mkdir()
    candidates.write_bytes(b"rows")
    assert not is_complete(candidates) and not _reusable(candidates) and not candidates.exists()
    model = tmp_path / "round-000" / "model"
    model.mkdir()
    (tmp_path / "round-000" / "model.manifest.json").write_text(json.dumps({"command": "train", "state": INCOMPLETE}))
    assert not _reusable(model) and not model.exists()
    candidates.write_bytes(b"rows")
    (tmp_path / "round-000" / "candidates.parquet.manifest.json").write_text(json.dumps({"command": "mine"}))
    assert _reusable(candidates)


# --- 11, 12, 13, 14, 15 -----------------------------------------------------------------------


def test_unreadable_inputs_and_unwritable_outputs_are_one_line(tmp_path, capsys):
    bad = tmp_path / "p.jsonl"
    bad.write_bytes(b'{"a": "ok", "b": "fine"}\n{"a": "caf\xe9", "b": "x"}\n')
    with pytest.raises(DataError, match=r"p\.jsonl:2: invalid UTF-8 \(byte 35 of the file"):
        load_data(bad)
    parent_file = tmp_path / "file"
    parent_file.write_text("x")
    assert main(["mine", "--out", str(parent_file / "rows.parquet")]) == 2
    assert "is a file" in _err(capsys)
    assert main(["mine", "--out", "."]) == 2
    assert "current folder" in _err(capsys)
    assert main(["mine", "--out", str(tmp_path / "rows.txt")]) == 2
    assert ".parquet" in _err(capsys)
    assert main(["mine", "--max-seq-length", "-5"]) == 2
    assert "max_seq_length must be >= 1" in _err(capsys)
    assert main(["mine", "--model", "models/never-trained", "--out", str(tmp_path / "r.parquet")]) == 2
    assert "no such folder" in _err(capsys)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        assert main(["mine", "--out", str(locked / "rows.parquet")]) == 2
        assert "not writable" in _err(capsys)


def test_truncated_summary_given_to_report(tmp_path, capsys):
    (tmp_path / "summary.json").write_text('{"run": "x", "rounds": [')
    assert main(["report", str(tmp_path)]) == 2
    assert "summary.json: corrupted: malformed JSON" in _err(capsys)


def test_a_byte_order_mark_is_accepted_everywhere(tiny_beir, tmp_path):
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv"):
        path = tiny_beir / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_beir(tiny_beir).query_ids
    for suffix, sep in ((".csv", ","), (".tsv", "\t"), (".jsonl", None)):
        path = tmp_path / f"p{suffix}"
        body = '{"anchor": "q", "positive": "d"}\n' if sep is None else f"anchor{sep}positive\nq{sep}d\n"
        path.write_bytes(b"\xef\xbb\xbf" + body.encode())
        data = load_pairs(path, anchor_column="anchor")
        assert data.query_texts == ["q"]


def test_outputs_keep_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "f.json") as tmp:
            tmp.write_text("{}")
        with atomic_path(tmp_path / "model", directory=True) as tmp:
            (tmp / "w").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == 0o755


def test_every_report_value_is_escaped():
    from hardneg.evolution.report import render_html

    bad = "<script>alert(1)</script>"
    data = {
        "run": bad, "best_round": bad, "best_model": bad, "stopped": bad,
        "quality": [{"round": bad, "dev_ndcg@10": bad, "dev_recall@100": bad, "test_ndcg@10": bad, "test_recall@100": bad}],
        "hardness": [{"round": bad, "mean_rank": bad, "mean_score": bad, "mean_margin": bad}],
        "staleness": [{"round": bad, "mean_rank": bad, f"in_top_{bad}": bad}],
        "audit": [{"round": bad, "false_negative_rate": bad, "ci95": [0.1, 0.2], "hidden_positives": bad}],
        "distributions": {},
        "fooling": {"description": bad, "negatives": [bad], "models": [bad], "triplet_accuracy": [[bad]]},
    }  # fmt: skip
    page = render_html(data, {})
    assert "<script>alert" not in page and page.count("<script>") == 1  # only the page's own image check


def test_contradictory_or_impossible_settings_are_refused_before_work(tmp_path, capsys):
    with pytest.raises(ConfigError, match="min_score=0.9 is above max_score=0.1"):
        MineConfig(min_score=0.9, max_score=0.1)
    out = tmp_path / "rows.parquet"
    assert (
        main(
            ["mine", "--data", "demo", "--selection", "top", "--range-min", "100000", "--range-max", "100010", "--out", str(out)]
        )
        == 2
    )
    assert "range_min=100000 skips every candidate" in _err(capsys)
    assert not out.exists() and not (tmp_path / "rows.parquet.manifest.json").exists()


def test_eval_never_overwrites_a_file_it_did_not_write(tmp_path, tiny_beir):
    from hardneg.drivers.evaluate import evaluate

    victim = tmp_path / "notes.json"
    victim.write_text('{"mine": "precious"}')
    with pytest.raises(ConfigError, match="notes.json"):
        evaluate(str(tiny_beir), split="train", out=str(victim), show_progress=False)
    assert victim.read_text() == '{"mine": "precious"}'
