"""Scorers put a number on (query, document) pairs: the score space filters work in. Each candidate source comes
with the scorer of its own space (built beside it by :mod:`hardneg.candidates.factory`); a teacher is another scorer."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from hardneg.encoding.encode import Embeddings


class Scorer(Protocol):
    name: str

    def score(self, query_indices: np.ndarray, doc_indices: np.ndarray) -> np.ndarray:
        """Scores of shape ``doc_indices.shape`` (rows = queries); ``-1`` entries score ``-inf``."""


class DenseScorer:
    """Cosine similarity of normalised embeddings, gathered row by row (no queries × corpus matrix)."""

    name = "dense"

    def __init__(self, query_embeddings: np.ndarray, doc_embeddings: Embeddings):
        self.queries, self.docs = query_embeddings, doc_embeddings

    def score(self, query_indices: np.ndarray, doc_indices: np.ndarray) -> np.ndarray:
        query_indices = np.asarray(query_indices)
        out = np.empty(doc_indices.shape, dtype=np.float32)
        step = max(1, (1 << 16) // max(1, doc_indices.shape[1]))  # at most 65,536 gathered document rows at once
        for start in range(0, len(query_indices), step):
            sl = slice(start, start + step)
            docs = self.docs.rows(doc_indices[sl])
            out[sl] = np.einsum("qd,qkd->qk", self.queries[query_indices[sl]], docs)
        out[doc_indices < 0] = -np.inf
        return out


class BM25Scorer:
    """BM25 scores from a :class:`~hardneg.candidates.BM25Search` index."""

    name = "bm25"

    def __init__(self, bm25):
        self.bm25 = bm25

    def score(self, query_indices: np.ndarray, doc_indices: np.ndarray) -> np.ndarray:
        out = np.full(doc_indices.shape, -np.inf, dtype=np.float32)
        for row, q in enumerate(query_indices):
            valid = doc_indices[row] >= 0
            if valid.any():
                out[row, valid] = self.bm25.score(int(q), doc_indices[row, valid])
        return out


class NoScorer:
    """For sources without scores (random): every score is ``nan``."""

    name = "none"

    def score(self, query_indices: np.ndarray, doc_indices: np.ndarray) -> np.ndarray:
        out = np.full(doc_indices.shape, np.nan, dtype=np.float32)
        out[doc_indices < 0] = -np.inf
        return out
