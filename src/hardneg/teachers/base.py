"""What every teacher shares: the scorer protocol with a description, and a cache of pair scores."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class Teacher(Protocol):
    """A :class:`~hardneg.candidates.scoring.Scorer` that also says what it is.

    ``is_probability`` is True when scores are probabilities in [0, 1] (a cross-encoder with a
    sigmoid): only then do RocketQA's thresholds have their meaning.
    """

    name: str
    is_probability: bool

    def score(self, query_indices: np.ndarray, doc_indices: np.ndarray) -> np.ndarray: ...

    def info(self) -> dict[str, Any]:
        """What the manifest records about the teacher (path, weights fingerprint, activation, ...)."""


class PairCache:
    """Scores of (query, document) pairs already computed, so deeper searches rescore nothing twice.

    Holds at most 2,000,000 pairs; when full it is emptied (mining visits queries in
    batches and never returns to an old batch, so the recent pairs are the ones worth keeping).
    """

    def __init__(self):
        self._scores: dict[tuple[int, int], float] = {}

    def lookup(self, queries: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, missing)`` for flat arrays of pairs; ``missing`` marks pairs not cached."""
        scores = np.full(len(queries), np.nan, dtype=np.float32)
        missing = np.ones(len(queries), dtype=bool)
        for i, key in enumerate(zip(queries.tolist(), docs.tolist())):
            value = self._scores.get(key)
            if value is not None:
                scores[i], missing[i] = value, False
        return scores, missing

    def store(self, queries: np.ndarray, docs: np.ndarray, scores: np.ndarray) -> None:
        if len(self._scores) + len(queries) > 2_000_000:
            self._scores.clear()
        self._scores.update(zip(zip(queries.tolist(), docs.tolist()), scores.tolist()))


def score_pairs(cache: PairCache, query_indices: np.ndarray, doc_indices: np.ndarray, compute) -> np.ndarray:
    """Fill a ``doc_indices``-shaped score matrix, computing only distinct pairs not in ``cache``.

    ``compute(queries, docs)`` scores flat arrays of distinct pairs. ``-1`` entries score ``-inf``.
    """
    doc_indices = np.asarray(doc_indices)
    rows = np.broadcast_to(np.asarray(query_indices)[:, None], doc_indices.shape)
    valid = doc_indices >= 0
    out = np.full(doc_indices.shape, -np.inf, dtype=np.float32)
    if not valid.any():
        return out
    pairs = np.unique(np.stack([rows[valid], doc_indices[valid]], axis=1), axis=0)
    scores, missing = cache.lookup(pairs[:, 0], pairs[:, 1])
    if missing.any():
        fresh = np.asarray(compute(pairs[missing, 0], pairs[missing, 1]), dtype=np.float32)
        scores[missing] = fresh
        cache.store(pairs[missing, 0], pairs[missing, 1], fresh)
    # Map every valid entry to its distinct pair: pairs are sorted, so search by a combined key.
    n_docs = int(max(pairs[:, 1].max(), doc_indices.max())) + 1
    keys = pairs[:, 0] * n_docs + pairs[:, 1]
    where = np.searchsorted(keys, rows[valid].astype(np.int64) * n_docs + doc_indices[valid])
    out[valid] = scores[where]
    return out
