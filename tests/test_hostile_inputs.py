"""A table of hostile-but-realistic invocations, one or more per command: each must end with exit
code 2 and one readable line naming the problem, no traceback, and nothing outside hardneg's own
outputs changed. To add a case, append a row: (command line, text the error must contain). ``{tmp}``
is a fresh folder holding ``victim/`` (a folder of someone else's files), ``notes.txt`` (a file that
is not hardneg's), ``bad.jsonl`` (invalid UTF-8) and ``summary.json`` (truncated)."""

from __future__ import annotations

import pytest

from hardneg.cli import main

CASES = [
    ("mine --data demo --preset in-batch --out {tmp}/victim", "hardneg did not write"),
    ("mine --data demo --out {tmp}/notes.txt", ".parquet"),
    ("mine --data demo --out {tmp}/notes.txt/rows.parquet", "is a file"),
    ("mine --data {tmp}/bad.jsonl --out {tmp}/rows.parquet", "invalid UTF-8"),
    ("mine --data demo --max-seq-length -5", "max_seq_length must be >= 1"),
    ("mine --data demo --min-score 0.9 --max-score 0.1", "above max_score"),
    ("mine --data demo --model ./no/such/model --out {tmp}/rows.parquet", "no such folder"),
    ("audit --data demo --max-seq-length -5", "max_seq_length must be >= 1"),
    ("audit --data {tmp}/bad.jsonl", "invalid UTF-8"),
    ("teacher --data demo --out {tmp}/victim", "hardneg did not write"),
    ("teacher --data demo --num-negatives 0 --out {tmp}/t", "num_negatives must be >= 1"),
    ("train --data demo --out {tmp}/victim", "hardneg did not write"),
    ("train --data demo --out {tmp}/m --batch-size 0", "batch_size must be >= 1"),
    ("eval --data demo --batch-size 0", "batch_size must be >= 1"),
    ("eval --data {tmp}/bad.jsonl", "invalid UTF-8"),
    ("evolve --data demo --out {tmp}/victim", "hardneg did not write"),
    ("evolve --data demo --out {tmp}/run --rounds 0", "rounds must be >= 1"),
    ("fooling --run {tmp}/victim", "victim"),
    ("fooling --run {tmp}/victim --models {{bm25:", "models must be a JSON object"),
    ("mine --data demo --max-score nan", "max_score must be a finite number, got nan"),
    ("mine --data demo --seed -1", "seed must be in [0, 4294967295], got -1"),
    ("mine --data demo --num-negatives 1000000000000", "num_negatives must be at most 2147483647"),
    ("mine --data demo --num-negatives 500 --range-max 1000000", "the corpus has 300 documents"),
    ("mine --data demo --seed x", "invalid int value: 'x'"),
    ("mine --data demo --sampler bm25 --bm25-b 5", "bm25_b must be in [0, 1], got 5.0"),
    ("mine --data demo --sampler bm25 --bm25-k1 1e308", "bm25_k1 must be in [0, 1000], got 1e+308"),
    ("mine --data demo --sampler bm25 --bm25-k1 -1", "bm25_k1 must be in [0, 1000], got -1"),
    ("mine --data {tmp}/d\udce9mo --out {tmp}/rows.parquet", "data is not valid UTF-8 (b'"),
    ("mine --data demo --out {tmp}/\udce9.parquet", "out is not valid UTF-8 (b'"),
    ("eval --data {tmp}/d\udce9mo", "data is not valid UTF-8"),
    ("train --data demo --out {tmp}/m\udce9", "out is not valid UTF-8"),
    ("train --data demo --out {tmp}/m --learning-rate nan", "learning_rate must be a finite number"),
    ("train --data demo --out {tmp}/m --learning-rate inf", "learning_rate must be a finite number"),
    ("evolve --data demo --out {tmp}/run --dev-fraction=-inf", "dev_fraction must be a finite number"),
    ('evolve --data demo --out {tmp}/run --mine-options {{"max_score":NaN}}', "max_score must be a finite number"),
    ("inspect {tmp}/c.parquet --suspect-ratio nan", "suspect_ratio must be a finite number"),
    ("inspect {tmp}/c.parquet --seed 4294967296", "seed must be in [0, 4294967295]"),
    ("inspect {tmp}/c.parquet --serve --port 70000", "port must be in [0, 65535]"),
    ("report {tmp}", "malformed JSON"),
    ("report {tmp}/victim", "summary.json is missing"),
]


@pytest.fixture
def hostile(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.tex").write_text("years of work")
    (tmp_path / "notes.txt").write_text("mine, not hardneg's")
    (tmp_path / "bad.jsonl").write_bytes(b'{"a": "caf\xe9", "b": "x"}\n')
    (tmp_path / "summary.json").write_text('{"run": "x", "rounds": [')
    return tmp_path


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("command", "expected"), CASES, ids=[c for c, _ in CASES])
def test_hostile_invocation_fails_cleanly(hostile, command, expected, capsys):
    before = _snapshot(hostile)
    try:
        code = main(command.format(tmp=hostile).split())
    except SystemExit as parser_exit:  # the flag parser's own errors
        code = parser_exit.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert expected in err
    assert _snapshot(hostile) == before  # nothing the user had was changed, nothing was left behind


def test_a_full_disk_while_caching_embeddings_says_so_and_loses_nothing(tmp_path, monkeypatch, capsys):
    """numpy reports a short write on a full disk as ``OSError("115200 requested and 34784 written")``, with no
    errno; the user must read that the cache's disk is full, where, and that nothing was lost."""
    import numpy as np

    from hardneg.io import verify_checksum

    real_save, calls = np.save, []

    def save_on_a_filling_disk(fh, arr, **kwargs):  # the first shard fits, the second is cut short
        calls.append(arr.shape)
        if len(calls) == 1:
            return real_save(fh, arr, **kwargs)
        fh.write(b"\x93NUMPY" + bytes(100))
        raise OSError(f"{arr.nbytes} requested and 34784 written")

    monkeypatch.setattr(np, "save", save_on_a_filling_disk)
    cache, out = tmp_path / "cache", tmp_path / "out" / "rows.parquet"
    code = main(
        f"mine --data demo --cache-dir {cache} --backend torch --precision float32 --no-show-progress --out {out}".split()
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"hardneg: error: {cache / 'embeddings'}: the disk of the embedding cache is full"), err
    assert "No space left on device: 34784 of" in err and "nothing was lost" in err and "--no-use-cache" in err
    cached = sorted((cache / "embeddings").iterdir())
    assert [p.suffix for p in cached] == [".npy", ".sha256"]  # the first shard, whole; no partial file
    assert verify_checksum(cached[0])
    assert not out.parent.exists() or not list(out.parent.iterdir())  # no output, temporary or lock
