"""The pipeline end to end on tiny data: known positives stay out, search deepens, shortfalls are reported."""

from __future__ import annotations

import numpy as np
import pytest

import hardneg
from hardneg.data import load_data
from hardneg.data.dataset import normalize_text
from hardneg.encoding.encode import Encoder
from hardneg.encoding.model import fingerprint_model
from hardneg.mining.batch import BatchMiner
from hardneg.options import default_cache_dir

POSITIVE_COPIES = {"paris", "paris_dup", "paris_wide"}


def by_query(result) -> dict[str, dict]:
    return {row["query_id"]: row for row in result.table.to_pylist()}


@pytest.fixture
def spy_depths(monkeypatch) -> list[tuple[int, int]]:
    """Records (number of queries, depth) of every search the miner makes."""
    calls: list[tuple[int, int]] = []
    original = BatchMiner._search

    def spy(self, queries, depth):
        calls.append((len(queries), depth))
        return original(self, queries, depth)

    monkeypatch.setattr(BatchMiner, "_search", spy)
    return calls


def test_normalize_text_folds_case_width_and_whitespace():
    assert normalize_text("  Paris\tis THE\n capital ") == "paris is the capital"
    assert normalize_text("Ｐａｒｉｓ") == "paris"  # full-width letters (NFKC)
    assert normalize_text("ﬁsh") == "fish"  # ligature (NFKC)
    assert normalize_text("STRASSE") == normalize_text("straße")  # casefold, not lower


@pytest.mark.parametrize("preset", ["top", "dpr"])
def test_known_positives_never_become_negatives(tiny_beir, preset):
    """The positive's id, and its copies under other ids (case, whitespace, NFKC), are excluded."""
    result = hardneg.mine(tiny_beir, preset=preset, num_negatives=5, output_format="candidates", show_progress=False)
    france = by_query(result)["q_france"]
    assert france["positive_ids"] == ["paris"]
    assert not POSITIVE_COPIES & set(france["negative_ids"])
    assert not POSITIVE_COPIES & set(france["candidate_ids"])
    assert len(france["negative_ids"]) == 5
    assert result.summary["dropped"]["known_positive_id"] >= 5
    assert result.summary["dropped"]["known_positive_text"] >= 2
    for row in result.table.to_pylist():
        assert not set(row["positive_ids"]) & set(row["negative_ids"])


def test_copies_of_the_positive_would_otherwise_rank_first(tiny_beir, model):
    """Sanity check of the fixture: without the text rule the copies would be the top negatives."""
    data = load_data(tiny_beir)
    enc = Encoder(model, fingerprint_model(model), cache_dir=default_cache_dir(), show_progress=False)
    q = enc.encode(["What is the capital of France?"], "query").to_array()[0]
    docs = enc.encode(data.corpus_texts, "document").to_array()
    order = [data.corpus_ids[i] for i in np.argsort(-(docs @ q))]
    assert set(order[:4]) == POSITIVE_COPIES | {"paris_fn"}


def test_text_duplicates_in_pair_files_are_excluded(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"anchor": "What is the capital of France?", "positive": "Paris is the capital of France."}\n')
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        '{"_id": "copy", "text": "PARIS  is the capital of france."}\n'
        '{"_id": "other", "text": "Berlin is the capital of Germany."}\n'
        '{"_id": "third", "text": "Madrid is the capital of Spain."}\n'
    )
    result = hardneg.mine(
        pairs, corpus=str(corpus), preset="top", num_negatives=2, output_format="candidates", show_progress=False
    )
    (row,) = result.table.to_pylist()
    assert sorted(row["negative_ids"]) == ["other", "third"]


def brute_force_top(data, model, n: int, keep) -> dict[str, list[float]]:
    """Scores of the dense top-n non-positives (by id and text) that ``keep(score)`` accepts, from a full score matrix."""
    # The run's own cached embeddings, so the comparison is exact.
    enc = Encoder(model, fingerprint_model(model), cache_dir=default_cache_dir(), show_progress=False)
    scores = enc.encode(data.query_texts, "query").to_array() @ enc.encode(data.corpus_texts, "document").to_array().T
    norm = [normalize_text(t) for t in data.corpus_texts]
    out = {}
    for q, qid in enumerate(data.query_ids):
        positive_texts = {norm[d] for d in data.positives[q]}
        chosen = []
        for d in np.argsort(-scores[q], kind="stable"):
            if d in data.positives[q] or norm[d] in positive_texts or not keep(scores[q, d]):
                continue
            chosen.append(float(scores[q, d]))
            if len(chosen) == n:
                break
        out[qid] = chosen
    return out


def test_search_goes_deeper_until_filters_leave_enough(spy_depths, model):
    """max_score rejects the best candidates of every demo query; every query still gets its negatives."""
    threshold = 0.1
    result = hardneg.mine(
        "demo", preset="top", max_score=threshold, num_negatives=3, output_format="candidates", show_progress=False
    )
    first_depth = spy_depths[0][1]
    assert max(depth for _, depth in spy_depths) > first_depth  # it had to search deeper
    assert result.summary["queries_short"] == 0 and result.summary["short_query_ids"] == []
    assert result.summary["dropped"]["max_score"] > 0

    rows = by_query(result)
    data = load_data("demo")
    assert set(rows) == set(data.query_ids)
    expected = brute_force_top(data, model, 3, lambda s: s <= threshold - 1e-5)
    for qid, row in rows.items():
        assert len(row["negative_ids"]) == 3
        scores = dict(zip(row["candidate_ids"], row["candidate_scores"]))
        assert all(scores[d] <= threshold for d in row["negative_ids"])
        # Compared by score: the demo has documents with exactly equal scores (ties aside).
        assert [scores[d] for d in row["negative_ids"]] == pytest.approx(expected[qid], abs=1e-5), qid


def test_random_selection_within_window_is_reproducible(tiny_beir):
    kwargs = dict(preset="ance", num_negatives=3, output_format="candidates", show_progress=False)
    a = by_query(hardneg.mine(tiny_beir, seed=11, **kwargs))
    b = by_query(hardneg.mine(tiny_beir, seed=11, **kwargs))
    assert {q: r["negative_ids"] for q, r in a.items()} == {q: r["negative_ids"] for q, r in b.items()}


def test_random_picks_do_not_depend_on_batching(tiny_beir):
    kwargs = dict(preset="ance", num_negatives=3, output_format="candidates", show_progress=False, seed=5)
    whole = by_query(hardneg.mine(tiny_beir, query_chunk_size=64, **kwargs))
    one_by_one = by_query(hardneg.mine(tiny_beir, query_chunk_size=1, **kwargs))
    assert {q: sorted(r["negative_ids"]) for q, r in whole.items()} == {
        q: sorted(r["negative_ids"]) for q, r in one_by_one.items()
    }


@pytest.fixture
def beir_with_rare_queries(tmp_path, beir_writer):
    """Two queries whose words appear in almost no other document: BM25 can find 1 and 0 negatives."""
    from conftest import CORPUS, QRELS, QUERIES

    corpus = CORPUS + [
        {"_id": "zork", "title": "Zorkmids", "text": "Zorkmids are the currency of the underground empire."},
        {"_id": "zork_coin", "title": "", "text": "The first zorkmids were minted long ago."},
        {"_id": "grue", "title": "", "text": "A grue lurks wherever it is dark."},
    ]
    queries = QUERIES + [{"_id": "q_zork", "text": "zorkmids"}, {"_id": "q_grue", "text": "grue"}]
    qrels = {"train": QRELS["train"] + [("q_zork", "zork", 1), ("q_grue", "grue", 1)]}
    return beir_writer(tmp_path / "rare", corpus, queries, qrels)


def test_unsatisfiable_queries_are_reported_not_dropped(beir_with_rare_queries):
    result = hardneg.mine(beir_with_rare_queries, preset="dpr", num_negatives=2, show_progress=False)
    s = result.summary
    assert set(s["short_query_ids"]) >= {"q_zork", "q_grue"}
    assert s["queries_short"] == len(s["short_query_ids"])
    anchors = result.table.column("anchor").to_pylist()
    # q_zork has one negative: its row is padded (the one negative repeated), not dropped.
    zork = [r for r in result.table.to_pylist() if r["anchor"] == "zorkmids"]
    assert len(zork) == 1 and zork[0]["negative_1"] == zork[0]["negative_2"] == "The first zorkmids were minted long ago."
    # q_grue has none: an n-tuple row cannot be written, and the summary says so.
    assert "grue" not in anchors
    assert s["pairs_dropped"] >= 1 and s["rows_padded"] >= 1
    assert s["rows"] == s["pairs"] - s["pairs_dropped"]


def test_unsatisfiable_queries_keep_their_row_in_the_candidate_file(beir_with_rare_queries):
    result = hardneg.mine(beir_with_rare_queries, preset="dpr", num_negatives=2, output_format="candidates", show_progress=False)
    rows = by_query(result)
    assert set(rows) == {"q_france", "q_cookies", "q_photo", "q_planet", "q_zork", "q_grue"}
    assert rows["q_zork"]["negative_ids"] == ["zork_coin"] and rows["q_grue"]["negative_ids"] == []


def test_filters_that_reject_everything_leave_every_query_short(tiny_beir, spy_depths):
    result = hardneg.mine(tiny_beir, preset="top", max_score=-2.0, num_negatives=2, show_progress=False)
    s = result.summary
    assert sorted(s["short_query_ids"]) == sorted(["q_france", "q_cookies", "q_photo", "q_planet"])
    assert s["rows"] == 0 and s["pairs_dropped"] == s["pairs"] == 5
    assert max(depth for _, depth in spy_depths) == s["documents"]  # searched the whole corpus first


def test_max_depth_bounds_the_search(tiny_beir, spy_depths):
    result = hardneg.mine(tiny_beir, preset="top", max_score=-2.0, max_depth=8, num_negatives=2, show_progress=False)
    assert max(depth for _, depth in spy_depths) == 8
    assert result.summary["queries_short"] == 4


@pytest.mark.parametrize("sampler", ["random", "hybrid", "bm25"])
def test_other_samplers_fill_every_query(tiny_beir, sampler):
    result = hardneg.mine(
        tiny_beir, sampler=sampler, selection="top", num_negatives=3, output_format="candidates", show_progress=False
    )
    rows = by_query(result)
    assert not POSITIVE_COPIES & set(rows["q_france"]["negative_ids"])
    for row in rows.values():
        assert not set(row["positive_ids"]) & set(row["negative_ids"])
    if sampler != "bm25":
        assert result.summary["queries_short"] == 0


def test_random_sampler_with_score_filter_uses_model_scores(tiny_beir):
    result = hardneg.mine(
        tiny_beir, preset="random", max_score=0.3, num_negatives=3, output_format="candidates", show_progress=False
    )
    for row in result.table.to_pylist():
        scores = dict(zip(row["candidate_ids"], row["candidate_scores"]))
        assert all(scores[d] <= 0.3 for d in row["negative_ids"])
    assert result.summary["texts_encoded"] + result.summary["texts_from_cache"] > 0


@pytest.mark.parametrize("preset", ["top", "simans"])
def test_shards_and_query_chunks_do_not_change_the_negatives(tiny_beir, preset):
    kwargs = dict(preset=preset, seed=1, output_format="candidates", show_progress=False)
    whole = by_query(hardneg.mine(tiny_beir, **kwargs))
    pieces = by_query(hardneg.mine(tiny_beir, shard_size=7, query_chunk_size=1, **kwargs))
    assert {q: r["negative_ids"] for q, r in whole.items()} == {q: r["negative_ids"] for q, r in pieces.items()}


def test_text_groups_are_remembered_by_the_corpus_content_and_cannot_be_changed():
    from hardneg.mining import batch

    texts = ["A  cat.", "a cat.", "A dog.", "ﬁsh", "fish"]
    first = batch.text_groups(texts)
    assert first.of_document.tolist() == [0, 0, 1, 2, 2] and not first.of_document.flags.writeable
    assert batch.text_groups(list(texts)) is first  # the same content, another list: looked up, not grouped anew
    assert batch.text_groups([*texts[:-1], "fish!"]).of_document.tolist() == [0, 0, 1, 2, 3]
    with pytest.raises(ValueError):
        first.of_document[0] = 5
    # a query's own text found among the documents, whatever its case and spacing
    found = first.documents_of(["a   CAT.", "a bird", "FISH"], texts)
    assert [f.tolist() for f in found] == [[0, 1], [], [3, 4]]
