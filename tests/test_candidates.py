"""Candidate sources against brute force, and the top-k merge they share."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hardneg.candidates import BM25Search, Candidates, DenseSearch, HybridSearch, RandomCandidates, merge_topk
from hardneg.encoding.encode import Embeddings
from hardneg.selection import id_hashes


def unit_rows(rng, n, dim=16):
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# --- merge_topk -------------------------------------------------------------------------------


def test_merge_topk_keeps_best_per_row():
    a = Candidates(np.array([[1, 2, 3], [10, 11, -1]]), np.array([[0.9, 0.5, 0.1], [0.7, 0.6, -np.inf]], np.float32))
    b = Candidates(np.array([[4, 5], [12, 13]]), np.array([[0.8, 0.2], [0.95, 0.65]], np.float32))
    m = merge_topk(a, b, 3)
    assert m.indices.tolist() == [[1, 4, 2], [12, 10, 13]]
    assert np.allclose(m.scores, [[0.9, 0.8, 0.5], [0.95, 0.7, 0.65]])


def test_merge_topk_ties_keep_first_list_first():
    a = Candidates(np.array([[1, 2]]), np.array([[0.5, 0.5]], np.float32))
    b = Candidates(np.array([[3, 4]]), np.array([[0.5, 0.4]], np.float32))
    assert merge_topk(a, b, 3).indices.tolist() == [[1, 2, 3]]


def test_merge_topk_puts_missing_last():
    a = Candidates(np.array([[-1, -1]]), np.full((1, 2), -np.inf, np.float32))
    b = Candidates(np.array([[7, -1]]), np.array([[-0.3, -np.inf]], np.float32))
    assert merge_topk(a, b, 2).indices.tolist()[0][0] == 7


# --- DenseSearch ------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 10, 45, 130])
def test_dense_search_equals_brute_force(k):
    rng = np.random.default_rng(0)
    docs = unit_rows(rng, 120)
    queries = unit_rows(rng, 23)
    shards = [docs[:40], docs[40:85], docs[85:]]  # uneven shards; k=45 exceeds two of them
    search = DenseSearch(queries, Embeddings(shards), query_chunk_size=5)
    wanted = np.array([0, 3, 22, 7, 11, 12, 1])
    got = search.search(wanted, k)

    full = queries[wanted] @ docs.T
    expected = np.argsort(-full, axis=1, kind="stable")[:, :k]
    found = min(k, len(docs))
    assert got.indices.shape == (len(wanted), k)
    assert np.array_equal(got.indices[:, :found], expected[:, :found])
    assert np.allclose(got.scores[:, :found], np.take_along_axis(full, expected, 1)[:, :found], atol=1e-5)
    # Deeper than the corpus: padded with -1 / -inf.
    assert (got.indices[:, found:] == -1).all()
    assert np.isneginf(got.scores[:, found:]).all()


def test_dense_search_chunking_does_not_change_results():
    rng = np.random.default_rng(1)
    docs, queries = unit_rows(rng, 50), unit_rows(rng, 17)
    q = np.arange(17)
    one = DenseSearch(queries, Embeddings([docs]), query_chunk_size=100).search(q, 8)
    many = DenseSearch(queries, Embeddings([docs[:20], docs[20:]]), query_chunk_size=1).search(q, 8)
    assert np.array_equal(one.indices, many.indices)
    assert np.allclose(one.scores, many.scores, atol=1e-6)


def test_dense_search_rejects_bad_chunk_size():
    with pytest.raises(ValueError, match="query_chunk_size"):
        DenseSearch(np.zeros((1, 4), np.float32), Embeddings([np.zeros((2, 4), np.float32)]), query_chunk_size=0)


def test_embeddings_rows_gathers_across_shards():
    rng = np.random.default_rng(2)
    docs = unit_rows(rng, 10, dim=4)
    emb = Embeddings([docs[:3], docs[3:7], docs[7:]])
    idx = np.array([[9, 0, -1], [3, 6, 7]])
    rows = emb.rows(idx)
    assert np.allclose(rows[0, 0], docs[9]) and np.allclose(rows[1, 1], docs[6])
    assert not rows[0, 2].any()
    assert np.array_equal(emb.to_array(), docs)


# --- BM25Search -------------------------------------------------------------------------------

DOCS = [
    "Mix butter and sugar, then bake the cookie dough for twelve minutes.",
    "Paris is the capital of France.",
    "The economy of France rests on services and industry.",
    "Berlin is the capital of Germany.",
    "Jupiter is the largest planet.",
]


def test_bm25_returns_lexical_match_first_and_never_unrelated_documents():
    bm25 = BM25Search(DOCS, ["capital of France", "planets", "zebra"], show_progress=False)
    c = bm25.search(np.array([0, 1, 2]), 5)
    assert c.indices[0, 0] == 1
    # "capital of France" shares no term with the cookie or Jupiter documents.
    assert set(c.indices[0][c.indices[0] >= 0].tolist()) == {1, 2, 3}
    assert c.indices[1].tolist()[0] == 4  # stemming: "planets" matches "planet"
    assert (c.indices[2] == -1).all() and np.isneginf(c.scores[2]).all()  # no known term
    assert (np.diff(c.scores[0][c.indices[0] >= 0]) <= 0).all()


def test_bm25_score_matches_search_scores():
    bm25 = BM25Search(DOCS, ["capital of France"], show_progress=False)
    c = bm25.search(np.array([0]), 3)
    assert np.allclose(bm25.score(0, c.indices[0]), c.scores[0], rtol=1e-5)


# --- HybridSearch -----------------------------------------------------------------------------


class FixedSource:
    def __init__(self, name, ranked):
        self.name, self.ranked = name, ranked

    def search(self, query_indices, k):
        out = Candidates.empty(len(query_indices), k)
        for row, q in enumerate(query_indices):
            docs = self.ranked[q][:k]
            out.indices[row, : len(docs)] = docs
            out.scores[row, : len(docs)] = np.linspace(1, 0.5, len(docs))
        return out


class IndexScorer:
    """Score = -doc index, so the test can tell scores come from the scorer, not the sources."""

    name = "fake"

    def score(self, query_indices, doc_indices):
        return np.where(doc_indices >= 0, -doc_indices.astype(np.float32), -np.inf).astype(np.float32)


def test_hybrid_is_the_union_ranked_by_rrf():
    dense = FixedSource("dense", {0: [1, 2, 3]})
    bm25 = FixedSource("bm25", {0: [4, 2, 5]})
    c = HybridSearch(dense, bm25, IndexScorer(), rrf_k=60).search(np.array([0]), 6)
    got = c.indices[0].tolist()
    assert got[0] == 2  # in both lists
    assert set(got[:5]) == {1, 2, 3, 4, 5} and got[5] == -1
    assert got.index(1) < got.index(3) and got.index(4) < got.index(5)
    assert c.scores[0].tolist()[:5] == [-float(d) for d in got[:5]]
    assert np.isneginf(c.scores[0, 5])


def test_hybrid_truncates_to_k():
    dense = FixedSource("dense", {0: [1, 2, 3]})
    bm25 = FixedSource("bm25", {0: [4, 5, 6]})
    c = HybridSearch(dense, bm25, IndexScorer()).search(np.array([0]), 2)
    assert c.indices.shape == (1, 2)
    assert set(c.indices[0].tolist()) == {1, 4}  # the two rank-1 documents


# --- RandomCandidates -------------------------------------------------------------------------


def test_random_candidates_are_distinct_seeded_and_per_query():
    hashes = id_hashes(["a", "b", "c"])
    src = RandomCandidates(50, hashes, seed=1)
    c1 = src.search(np.array([0, 1]), 10)
    c2 = RandomCandidates(50, hashes, seed=1).search(np.array([1]), 10)
    assert len(set(c1.indices[0].tolist())) == 10
    assert np.array_equal(c1.indices[1], c2.indices[0])  # batch-independent
    assert not np.array_equal(c1.indices[0], c1.indices[1])
    assert np.isnan(c1.scores).all()
    short = src.search(np.array([2]), 60)
    assert sorted(short.indices[0][:50].tolist()) == list(range(50)) and (short.indices[0][50:] == -1).all()


def test_the_sampler_registry_says_which_samplers_need_embeddings():
    from hardneg.candidates.factory import needs_dense
    from hardneg.candidates.options import SAMPLERS, CandidateOptions

    assert tuple(SAMPLERS) == dataclasses.fields(CandidateOptions)[0].metadata["choices"]
    for sampler in ("dense", "hybrid"):
        assert needs_dense(sampler, score_filters=False, selection="top")
    assert not needs_dense("bm25", score_filters=True, selection="simans")
    # random candidates have no scores of their own: score filters and SimANS need the model's
    assert not needs_dense("random", score_filters=False, selection="random")
    assert needs_dense("random", score_filters=True, selection="random")
    assert needs_dense("random", score_filters=False, selection="simans")
    assert not needs_dense("none", score_filters=True, selection="simans")
