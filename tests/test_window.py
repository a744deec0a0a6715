"""The rank window widens rather than leave a query short, and pairs-only output is checked."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hardneg
from hardneg.errors import ConfigError, DataError


def test_random_selection_widens_a_window_the_filters_empty(tiny_beir):
    # max_score far below every candidate's score empties a window of 2 ranks; widening keeps
    # doubling it until the whole corpus has been looked at, so the query is short only because
    # nothing anywhere survives, and it is reported.
    res = hardneg.mine(str(tiny_beir), preset="ance", range_max=2, num_negatives=1, min_score=0.3, show_progress=False)
    assert res.summary["queries_window_widened"] >= 1
    strict = hardneg.mine(
        str(tiny_beir), preset="ance", range_max=2, num_negatives=1, min_score=0.3, extend_window=False, show_progress=False
    )
    assert strict.summary["queries_window_widened"] == 0
    assert strict.summary["negatives_found"] <= res.summary["negatives_found"]


def test_widened_window_finds_negatives_below_the_filtered_top(tiny_beir):
    # Dropping everything scored above 0.2 removes the top of every list; random selection from a
    # 3-rank window would then find nothing, widening finds the lower-ranked survivors.
    res = hardneg.mine(str(tiny_beir), preset="ance", range_max=3, num_negatives=2, max_score=0.2, show_progress=False)
    strict = hardneg.mine(
        str(tiny_beir), preset="ance", range_max=3, num_negatives=2, max_score=0.2, extend_window=False, show_progress=False
    )
    assert res.summary["negatives_found"] > strict.summary["negatives_found"]
    assert res.summary["queries_short"] <= strict.summary["queries_short"]


@pytest.mark.parametrize("fmt", ["triplet", "flagembedding", "candidates"])
def test_pairs_only_refuses_formats_without_pairs(fmt):
    with pytest.raises(ConfigError, match="sampler='none' writes"):
        hardneg.MineConfig(sampler="none", num_negatives=0, output_format=fmt)


def test_non_text_anchor_is_named(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"q": 17, "p": "a document"}) + "\n")
    with pytest.raises(DataError, match=r"pairs.jsonl:1: column 'q' must hold text, got int"):
        hardneg.load_pairs(pairs)


def test_queries_with_the_same_text_share_their_known_positives(tmp_path):
    # Two query ids with one text (as SciFact has): each one's positive is the other's known positive.
    docs = [
        ("a", "Paris is the capital of France."),
        ("b", "The capital of France is Paris, on the Seine."),
        ("c", "Cookies bake in twelve minutes."),
        ("d", "Lyon is a city in France."),
        ("e", "Berlin is the capital of Germany."),
    ]
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text("".join(json.dumps({"_id": i, "title": "", "text": t}) + "\n" for i, t in docs))
    queries = [("q1", "What is the capital of France?"), ("q2", "what is the capital of  France?")]
    (tmp_path / "queries.jsonl").write_text("".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in queries))
    (tmp_path / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\ta\t1\nq2\tb\t1\n")
    res = hardneg.mine(
        str(tmp_path), preset="top", num_negatives=2, output_format="candidates", sampler="bm25", show_progress=False
    )
    for row in res.table.to_pylist():
        assert not {"a", "b"} & set(row["negative_ids"]), row


def test_window_widens_after_the_search_reached_the_end_of_the_corpus(tmp_path):
    # A query with 30 positives makes the batch search to the end of a 40-document corpus at once,
    # while the other query's 4-rank window holds only documents too close to its positive (the
    # filter keeps scores below 95 % of it). Its survivors lie below rank 20: the window must keep
    # widening over what the search already found, not stop because nothing deeper is left.
    from hardneg.encoding.precomputed import PrecomputedEmbeddings

    n_docs = 40
    (tmp_path / "qrels").mkdir()
    docs = [json.dumps({"_id": f"d{i}", "title": "", "text": f"document number {i}"}) for i in range(n_docs)]
    (tmp_path / "corpus.jsonl").write_text("\n".join(docs) + "\n")
    queries = [("qa", "a query with many positives"), ("qb", "a query with one positive")]
    (tmp_path / "queries.jsonl").write_text("".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in queries))
    qrels = [f"qa\td{i}\t1" for i in range(10, 40)] + ["qb\td0\t1"]
    (tmp_path / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(qrels) + "\n")

    data = hardneg.load_data(str(tmp_path), split="train")
    # qb's scores: its positive 1.0, documents 1-19 between 0.99 and 0.96 (too close), 20-39 from 0.90 down.
    cosines = np.array([1.0] + list(np.linspace(0.99, 0.96, 19)) + list(np.linspace(0.90, 0.50, 20)))
    documents = np.stack([cosines, np.sqrt(1 - cosines**2)], axis=1).astype(np.float32)
    query_vectors = {"qa": [0.0, 1.0], "qb": [1.0, 0.0]}
    emb = PrecomputedEmbeddings(np.array([query_vectors[q] for q in data.query_ids], np.float32), documents)

    common = dict(preset="default", range_max=4, num_negatives=3, output_format="candidates", embeddings=emb, show_progress=False)
    res = hardneg.mine(str(tmp_path), **common)
    row = next(r for r in res.table.to_pylist() if r["query_id"] == "qb")
    assert len(row["negative_ids"]) == 3
    assert all(int(d[1:]) >= 20 for d in row["negative_ids"]), row["negative_ids"]
    assert res.summary["queries_short"] == 0

    strict = hardneg.mine(str(tmp_path), extend_window=False, **common)
    assert "qb" in strict.summary["short_query_ids"]
