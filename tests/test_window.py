"""The rank window widens rather than leave a query short, and pairs-only output is checked."""

from __future__ import annotations

import json

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
