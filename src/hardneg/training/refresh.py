"""Cheaper refresh: re-rank a candidate pool with a new checkpoint instead of the whole corpus.

ANCE (Xiong et al. 2020) refreshes negatives by re-encoding the entire corpus with the newest
checkpoint and searching it again; on MS MARCO that re-encoding took about 10 hours per refresh
and dominated the cost. But a model that moved a little since the last refresh ranks mostly the
same documents near the top. So re-encode only a *pool* per query — the union of the candidates
earlier rounds retrieved and BM25's top k — and rank that pool with the new model. The cost is
the number of distinct pool documents, not the corpus size.

The price is recall: a document that no earlier model and not BM25 put in the pool cannot come
back. ``benchmarks/refresh.py`` measures, on SciFact and on a corpus ten times larger, which share
of the full-search top-k the pool recovers and how much time it saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hardneg.candidates import Candidates
from hardneg.encoding.retriever import DenseRetriever
from hardneg.filters import FilterContext, build_filters, member_mask, rank_window


def build_pool(*sources: Sequence[Sequence[int]] | Candidates) -> list[np.ndarray]:
    """Per query, the sorted union of the corpus indices of every source (``-1`` entries skipped).

    A source is a :class:`~hardneg.candidates.Candidates` or a per-query list of index lists;
    all sources list the same queries in the same order.
    """
    rows = [s.indices if isinstance(s, Candidates) else s for s in sources]
    if not rows:
        raise ValueError("build_pool needs at least one source")
    n = len(rows[0])
    if any(len(r) != n for r in rows):
        raise ValueError("every pool source must list the same number of queries")
    out = []
    for q in range(n):
        docs = np.concatenate([np.asarray(r[q], dtype=np.int64).reshape(-1) for r in rows])
        out.append(np.unique(docs[docs >= 0]))
    return out


def rank_pool(
    query_embeddings: np.ndarray, doc_embeddings: np.ndarray, doc_index: np.ndarray, pool: Sequence[np.ndarray]
) -> Candidates:
    """Each query's pool ranked by cosine, best first.

    Args:
        query_embeddings: (queries, dim) normalised.
        doc_embeddings: (len(doc_index), dim) normalised vectors of the documents ``doc_index``.
        doc_index: sorted corpus indices whose vectors ``doc_embeddings`` holds.
        pool: per query, corpus indices (all of them in ``doc_index``).
    """
    width = max((len(p) for p in pool), default=0)
    out = Candidates.empty(len(pool), max(width, 1))
    for q, docs in enumerate(pool):
        if len(docs) == 0:
            continue
        rows = np.searchsorted(doc_index, docs)
        scores = doc_embeddings[rows] @ query_embeddings[q]
        order = np.argsort(-scores, kind="stable")
        out.indices[q, : len(docs)] = docs[order]
        out.scores[q, : len(docs)] = scores[order]
    return out


def rescore_pool(
    retriever: DenseRetriever, query_texts: Sequence[str], corpus_texts: Sequence[str], pool: Sequence[np.ndarray]
) -> Candidates:
    """Encode the queries and only the distinct pool documents with ``retriever``; rank each pool."""
    doc_index = np.unique(np.concatenate([np.asarray(p, dtype=np.int64) for p in pool])) if pool else np.zeros(0, np.int64)
    queries = retriever.encode_queries(list(query_texts))
    docs = retriever.encode_documents([corpus_texts[d] for d in doc_index]).to_array()
    return rank_pool(queries, docs, doc_index, pool)


def window_candidates(
    ranked: Candidates,
    positives: Sequence[Sequence[int]],
    positive_score: np.ndarray,
    *,
    range_min: int = 0,
    range_max: int | None = None,
    max_score: float | None = None,
    min_score: float | None = None,
    absolute_margin: float | None = None,
    relative_margin: float | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per query, the ranked non-positive candidates inside the rank window, and which of them every filter keeps.

    The same window and filters as mining (:func:`hardneg.filters.rank_window`, :func:`hardneg.filters.build_filters`),
    applied to a re-ranked pool: the two lists are what a candidates file's ``candidate_ids`` and
    ``candidate_kept`` would hold. Known positives are recognised by index.
    """
    idx = ranked.indices
    nonpos = (idx >= 0) & ~member_mask(idx, positives)
    ranks, in_window = rank_window(nonpos, range_max)
    ctx = FilterContext(scores=ranked.scores, ranks=ranks, positive_score=np.asarray(positive_score))
    filters = build_filters(
        range_min=range_min,
        max_score=max_score,
        min_score=min_score,
        absolute_margin=absolute_margin,
        relative_margin=relative_margin,
    )
    keep = in_window.copy()
    for f in filters:
        keep &= f.keep(ctx)
    return [row[w] for row, w in zip(idx, in_window)], [k[w] for k, w in zip(keep, in_window)]


def kept_candidates(
    ranked: Candidates, positives: Sequence[Sequence[int]], positive_score: np.ndarray, **window: Any
) -> list[np.ndarray]:
    """Per query, the ranked candidates of :func:`window_candidates` that every filter keeps."""
    candidates, kept = window_candidates(ranked, positives, positive_score, **window)
    return [c[k] for c, k in zip(candidates, kept)]


def overlap_at_k(reference: Candidates, other: Candidates, k: int) -> float:
    """Mean over queries of ``|top-k(reference) ∩ top-k(other)| / |top-k(reference)|``."""
    shares = []
    for a, b in zip(reference.indices[:, :k], other.indices[:, :k]):
        a = a[a >= 0]
        if len(a):
            shares.append(len(np.intersect1d(a, b[b >= 0])) / len(a))
    return float(np.mean(shares)) if shares else float("nan")
