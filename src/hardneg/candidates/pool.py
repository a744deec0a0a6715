"""Candidates from a fixed pool per query, ranked by the cosine of given vectors.

A refresh inside training re-ranks each query's pool (the candidates mining found, BM25's top k and the
query's positives) with the weights being trained instead of searching the whole corpus again
(:class:`~hardneg.training.inline_refresh.PoolRefresher`). :class:`PoolSearch` is that pool as a candidate
source, and as the scorer of its own documents, so the mining rule runs over it unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hardneg.candidates.base import Candidates, pad_to


class PoolSearch:
    """Each query's own pool of documents, ranked by cosine with unit vectors, best first.

    A search never goes beyond the pool: deeper ranks are empty (``-1``), which the miner reads as a search
    that reached the end. Scores of documents outside every pool are ``-inf``.

    Args:
        queries: the (data) query indices the pools belong to.
        query_vectors: (len(queries), dim) unit vectors.
        pools: per query, corpus indices.
        doc_index: sorted corpus indices whose vectors ``doc_vectors`` holds (every pooled document).
        doc_vectors: (len(doc_index), dim) unit vectors.
    """

    name = "dense"

    def __init__(
        self,
        queries: Sequence[int],
        query_vectors: np.ndarray,
        pools: Sequence[np.ndarray],
        doc_index: np.ndarray,
        doc_vectors: np.ndarray,
    ):
        if not (len(queries) == len(query_vectors) == len(pools)):
            raise ValueError("queries, query_vectors and pools differ in length")
        self.row = {int(q): i for i, q in enumerate(queries)}
        self.query_vectors = np.asarray(query_vectors, dtype=np.float32)
        self.doc_index = np.asarray(doc_index, dtype=np.int64)
        self.doc_vectors = np.asarray(doc_vectors, dtype=np.float32)
        self.ranked = self._rank(pools)

    def _rows(self, query_indices: np.ndarray) -> np.ndarray:
        try:
            return np.array([self.row[int(q)] for q in query_indices], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"query {exc.args[0]} has no pool") from None

    def _rank(self, pools: Sequence[np.ndarray]) -> Candidates:
        width = max((len(p) for p in pools), default=0)
        out = Candidates.empty(len(pools), max(width, 1))
        for i, docs in enumerate(pools):
            docs = np.unique(np.asarray(docs, dtype=np.int64))
            if len(docs) == 0:
                continue
            scores = self.doc_vectors[np.searchsorted(self.doc_index, docs)] @ self.query_vectors[i]
            order = np.lexsort((docs, -scores))  # best first; equal scores by corpus index
            out.indices[i, : len(docs)] = docs[order]
            out.scores[i, : len(docs)] = scores[order]
        return out

    def search(self, query_indices: np.ndarray, k: int) -> Candidates:
        rows = self._rows(query_indices)
        found = Candidates(self.ranked.indices[rows, :k], self.ranked.scores[rows, :k])
        return pad_to(found, k)

    def score(self, query_indices: np.ndarray, doc_indices: np.ndarray) -> np.ndarray:
        doc_indices = np.asarray(doc_indices, dtype=np.int64)
        out = np.full(doc_indices.shape, -np.inf, dtype=np.float32)
        if len(self.doc_index) == 0:
            return out
        at = np.minimum(np.searchsorted(self.doc_index, doc_indices), len(self.doc_index) - 1)
        known = (doc_indices >= 0) & (self.doc_index[at] == doc_indices)
        scores = np.einsum("qd,qkd->qk", self.query_vectors[self._rows(query_indices)], self.doc_vectors[at])
        out[known] = scores[known]
        return out
