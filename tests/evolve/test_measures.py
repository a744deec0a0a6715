"""Hardness ranks, the run's dev split, and the candidate-pool refresh helpers."""

from __future__ import annotations

import numpy as np
import pytest

from hardneg.candidates import Candidates
from hardneg.candidates.pool import PoolSearch
from hardneg.diagnostics.hardness import negative_ranks, summarize
from hardneg.encoding.encode import Embeddings
from hardneg.errors import ConfigError
from hardneg.evolution import splits
from hardneg.evolution.splits import held_out
from hardneg.training.refresh import build_pool, overlap_at_k, rank_pool


def _unit(rng, n, d=8):
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_negative_ranks_match_brute_force_across_shards():
    rng = np.random.default_rng(0)
    queries, docs = _unit(rng, 5), _unit(rng, 30)
    positives = [[0], [1, 2], [3], [4], [5]]
    negatives = np.array([[6, 7], [8, -1], [9, 10], [11, 12], [13, 14]])
    ranks, scores = negative_ranks(queries, Embeddings([docs[:11], docs[11:]]), negatives, positives, query_chunk_size=2)
    sims = queries @ docs.T
    for q in range(5):
        for j, d in enumerate(negatives[q]):
            if d < 0:
                assert np.isnan(ranks[q, j])
                continue
            others = np.setdiff1d(np.arange(30), positives[q])
            assert ranks[q, j] == (sims[q, others] > sims[q, d]).sum()
            assert scores[q, j] == pytest.approx(sims[q, d], abs=1e-6)
    summary = summarize(ranks, scores, sims[np.arange(5), [0, 1, 3, 4, 5]], top_k=5)
    assert summary["negatives"] == 9 and 0 <= summary["in_top_5"] <= 1


def test_held_out_is_seeded_and_disjoint():
    ids = [f"q{i}" for i in range(100)]
    dev = held_out(ids, 0.1, seed=1)
    assert len(dev) == 10 and dev == held_out(list(reversed(ids)), 0.1, seed=1)
    assert dev != held_out(ids, 0.1, seed=2)
    with pytest.raises(ConfigError, match="dev_fraction"):
        held_out(ids, 1.0, seed=1)


def test_a_view_link_made_meanwhile_by_another_run_is_kept(tmp_path, monkeypatch):
    target, other, link = tmp_path / "corpus.jsonl", tmp_path / "other.jsonl", tmp_path / "view" / "corpus.jsonl"
    target.write_text("{}\n")
    other.write_text("{}\n")
    link.parent.mkdir()
    real_symlink = splits.os.symlink

    def raced(made_by_the_other_run):
        def symlink(src, dst):
            real_symlink(made_by_the_other_run, dst)  # the other run wins between the check and the link
            real_symlink(src, dst)

        return symlink

    monkeypatch.setattr(splits.os, "symlink", raced(target))
    splits._link(target, link)
    assert link.resolve() == target.resolve()

    link.unlink()
    monkeypatch.setattr(splits.os, "symlink", raced(other))
    with pytest.raises(FileExistsError):
        splits._link(target, link)
    assert target.read_text() == other.read_text() == "{}\n"


def test_pool_union_ranking_and_search():
    previous = [[3, 1, -1], [2]]
    bm25 = Candidates(np.array([[1, 4], [5, -1]]), np.zeros((2, 2), np.float32))
    pool = build_pool(previous, bm25)
    assert [p.tolist() for p in pool] == [[1, 3, 4], [2, 5]]
    doc_index = np.array([1, 2, 3, 4, 5])
    docs = np.eye(5, dtype=np.float32)
    queries = np.array([[0.1, 0, 0.9, 0.5, 0], [0, 0.2, 0, 0, 0.7]], dtype=np.float32)
    ranked = rank_pool(queries, docs, doc_index, pool)
    assert ranked.indices.tolist() == [[3, 4, 1], [5, 2, -1]]
    # the pool as a candidate source for the mining rule: queries by their data index, searched no deeper than the pool
    search = PoolSearch([7, 9], queries, pool, doc_index, docs)
    found = search.search(np.array([9, 7]), 4)
    assert found.indices.tolist() == [[5, 2, -1, -1], [3, 4, 1, -1]]
    assert np.allclose(found.scores[0, :2], [0.7, 0.2]) and np.isneginf(found.scores[0, 2:]).all()
    scores = search.score(np.array([7, 9]), np.array([[3, 2, -1], [5, 6, 1]]))
    assert np.allclose(scores[0, :2], [0.9, 0.0]) and np.isclose(scores[1, 0], 0.7)
    assert np.isneginf(scores[0, 2]) and np.isneginf(scores[1, 1])  # no document, or one outside every pool
    assert np.isclose(scores[1, 2], 0.0)
    with pytest.raises(ValueError, match="no pool"):
        search.search(np.array([8]), 2)
    assert overlap_at_k(ranked, ranked, 2) == 1.0
