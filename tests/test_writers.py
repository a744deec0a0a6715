"""Every output format in every container: columns, round trips, and atomic replacement."""

from __future__ import annotations

import json
import math
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest

import hardneg
from hardneg.data import RetrievalData
from hardneg.errors import ConfigError
from hardneg.mining.batch import MinedBatch
from hardneg.mining.run import manifest_path_for
from hardneg.writers import RowBuilder, StreamingWriter, container_of

FORMATS = ["n-tuple", "triplet", "labeled-pair", "labeled-list", "flagembedding", "tevatron", "candidates"]
CONTAINERS = {"parquet": "out.parquet", "jsonl": "out.jsonl", "hf": "out_dataset"}

COLUMNS = {
    "n-tuple": ["anchor", "positive", "negative_1", "negative_2"],
    "triplet": ["anchor", "positive", "negative"],
    "labeled-pair": ["anchor", "positive", "label"],
    "labeled-list": ["anchor", "positive", "labels"],
    "flagembedding": ["query", "pos", "neg"],
    "tevatron": ["query_id", "query", "positive_passages", "negative_passages"],
    "candidates": [
        "query_id",
        "query",
        "positive_ids",
        "positive_scores",
        "candidate_ids",
        "candidate_scores",
        "candidate_kept",
        "negative_ids",
        "candidate_verdicts",
        "excluded_ids",
        "excluded_scores",
        "excluded_verdicts",
    ],
}
SCORE_COLUMNS = {
    "n-tuple": ["scores"],
    "triplet": ["scores"],
    "labeled-pair": ["score"],
    "labeled-list": ["scores"],
    "flagembedding": ["pos_scores", "neg_scores"],
}
LABEL_COLUMN = {"labeled-pair": "label", "labeled-list": "labels"}
"""With scores, the score column replaces the label column, as sentence-transformers' losses expect."""


@pytest.fixture
def data(two_queries) -> RetrievalData:
    return two_queries


@pytest.fixture
def batch() -> MinedBatch:
    # q_france: two negatives; q_cookies: one (short of n=2).
    return MinedBatch(
        queries=np.array([0, 1]),
        positive_scores=[np.array([0.8, 0.7], np.float32), np.array([0.9], np.float32)],
        negatives=np.array([[3, 4], [5, -1]]),
        negative_scores=np.array([[0.5, 0.25], [0.4, np.nan]], np.float32),
        candidates=np.array([[3, 4, 2], [5, -1, -1]]),
        candidate_scores=np.array([[0.5, 0.25, 0.1], [0.4, -np.inf, -np.inf]], np.float32),
        candidate_kept=np.array([[True, True, False], [True, False, False]]),
    )


def read_back(path: Path, container: str) -> list[dict]:
    if container == "parquet":
        return pq.read_table(path).to_pylist()
    if container == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return datasets.load_from_disk(str(path)).to_list()


def assert_same(a, b, where="row"):
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("include_scores", [False, True], ids=["no-scores", "scores"])
@pytest.mark.parametrize("container", list(CONTAINERS))
@pytest.mark.parametrize("output_format", FORMATS)
def test_round_trip(tmp_path, data, batch, output_format, container, include_scores):
    builder = RowBuilder(data, output_format, 2, include_scores)
    rows = builder.rows(batch)
    schema = builder.schema
    path = tmp_path / CONTAINERS[container]
    with StreamingWriter(path, schema) as writer:
        writer.write(rows[:1])
        writer.write(rows[1:])  # several batches stream into one output
    assert writer.rows_written == len(rows)
    back = read_back(path, container)
    expected_columns = [c for c in COLUMNS[output_format] if not (include_scores and c == LABEL_COLUMN.get(output_format))]
    expected_columns += SCORE_COLUMNS.get(output_format, []) if include_scores else []
    assert schema.names == expected_columns
    assert all(list(row) == expected_columns for row in back)
    assert_same(back, rows)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary files left


def test_row_shapes(data, batch):
    """What each format makes of two queries, one with two positives and one short of negatives."""
    n_tuple = RowBuilder(data, "n-tuple", 2, True)
    rows = n_tuple.rows(batch)
    assert [r["positive"] for r in rows] == [data.corpus_texts[0], data.corpus_texts[1], data.corpus_texts[2]]
    assert rows[0]["negative_1"] == "The economy of France." and rows[0]["negative_2"] == "Lyon is a city in France."
    assert rows[2]["negative_1"] == rows[2]["negative_2"] == "Knead the bread dough."  # padded by repetition
    assert rows[0]["scores"] == pytest.approx([0.8, 0.5, 0.25])
    assert n_tuple.padded_rows == 1

    assert len(RowBuilder(data, "triplet", 2, False).rows(batch)) == 2 * 2 + 1
    labeled = RowBuilder(data, "labeled-pair", 2, False).rows(batch)
    assert [r["label"] for r in labeled] == [1, 1, 0, 0, 1, 0]
    scored = RowBuilder(data, "labeled-pair", 2, True).rows(batch)
    assert [r["score"] for r in scored] == pytest.approx([0.8, 0.7, 0.5, 0.25, 0.9, 0.4]) and "label" not in scored[0]
    lists = RowBuilder(data, "labeled-list", 2, False).rows(batch)
    assert [r["labels"] for r in lists] == [[1, 0, 0], [1, 0, 0], [1, 0]]
    flag = RowBuilder(data, "flagembedding", 2, False).rows(batch)
    assert flag[0]["pos"] == data.corpus_texts[:2] and flag[1]["neg"] == ["Knead the bread dough."]
    assert "neg_scores" not in flag[1]  # the miner's own scores only when asked for
    assert RowBuilder(data, "flagembedding", 2, True).rows(batch)[1]["neg_scores"] == pytest.approx([0.4])
    tevatron = RowBuilder(data, "tevatron", 2, False).rows(batch)
    assert tevatron[0]["positive_passages"][1] == {"docid": "paris2", "title": "", "text": data.corpus_texts[1]}
    assert [p["docid"] for p in tevatron[1]["negative_passages"]] == ["bread"]
    cands = RowBuilder(data, "candidates", 2, False).rows(batch)
    assert cands[0]["positive_ids"] == ["paris", "paris2"]
    assert cands[0]["candidate_ids"] == ["economy", "lyon", "cookies"] and cands[0]["candidate_kept"] == [True, True, False]
    assert cands[1]["candidate_ids"] == ["bread"] and cands[1]["negative_ids"] == ["bread"]


def test_n_tuple_drops_queries_without_any_negative_and_counts_them(data, batch):
    batch.negatives[1] = -1
    builder = RowBuilder(data, "n-tuple", 2, False)
    rows = builder.rows(batch)
    assert len(rows) == 2 and builder.dropped_pairs == 1


def test_pairs_only_n_tuple_has_anchor_and_positive(data, batch):
    empty = np.zeros((2, 0))
    batch = MinedBatch(
        batch.queries, batch.positive_scores, empty.astype(int), empty, empty.astype(int), empty, empty.astype(bool)
    )
    builder = RowBuilder(data, "n-tuple", 0, False)
    assert [list(r) for r in builder.rows(batch)] == [["anchor", "positive"]] * 3
    assert builder.schema.names == ["anchor", "positive"]


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_failed_write_leaves_previous_output_intact(tmp_path, data, batch, container):
    builder = RowBuilder(data, "n-tuple", 2, False)
    schema, rows = builder.schema, builder.rows(batch)
    path = tmp_path / CONTAINERS[container]
    with StreamingWriter(path, schema) as writer:
        writer.write(rows)
    with StreamingWriter(path, schema) as writer:  # a successful rewrite replaces the output
        writer.write(rows[1:])
    before = read_back(path, container)
    assert len(before) == len(rows) - 1

    with pytest.raises(RuntimeError, match="disk on fire"):
        with StreamingWriter(path, schema) as writer:
            writer.write(rows[:1])
            raise RuntimeError("disk on fire")
    assert read_back(path, container) == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_failed_mining_run_leaves_previous_output_and_manifest(tiny_beir, tmp_path, monkeypatch):
    out = tmp_path / "out" / "mined.parquet"
    hardneg.mine(tiny_beir, out, preset="dpr", show_progress=False)
    before = pq.read_table(out).to_pylist()
    manifest_before = manifest_path_for(out).read_text()

    def broken(self, batch):
        raise OSError("no space left on device")

    monkeypatch.setattr(RowBuilder, "rows", broken)
    with pytest.raises(OSError, match="no space"):
        hardneg.mine(tiny_beir, out, preset="dpr", num_negatives=2, show_progress=False)
    assert pq.read_table(out).to_pylist() == before
    assert manifest_path_for(out).read_text() == manifest_before
    assert sorted(p.name for p in out.parent.iterdir()) == ["mined.parquet", "mined.parquet.manifest.json"]


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_mine_writes_each_container(tiny_beir, tmp_path, container):
    out = tmp_path / CONTAINERS[container]
    result = hardneg.mine(tiny_beir, out, preset="top", num_negatives=2, include_scores=True, show_progress=False)
    rows = read_back(out, container)
    assert len(rows) == result.summary["rows"] == 5
    assert list(rows[0]) == ["anchor", "positive", "negative_1", "negative_2", "scores"]
    assert all(len(r["scores"]) == 3 for r in rows)
    assert manifest_path_for(out).is_file()


def test_mine_without_out_returns_a_table(tiny_beir):
    result = hardneg.mine(tiny_beir, preset="dpr", num_negatives=1, show_progress=False)
    assert result.out is None and result.manifest_path is None
    ds = result.to_dataset()
    assert ds.column_names == ["anchor", "positive", "negative_1"] and len(ds) == result.summary["rows"]


def test_output_name_decides_the_container(tmp_path):
    assert container_of("x.parquet") == "parquet" and container_of("x.JSONL") == "jsonl" and container_of("folder") == "hf"
    with pytest.raises(ConfigError, match=r"x\.csv"):
        container_of(tmp_path / "x.csv")
