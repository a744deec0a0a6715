"""Exact inner-product search over normalised embeddings with FAISS, in bounded memory.

Queries are processed ``query_chunk_size`` at a time against one embedding shard at a time, with
a running top-k merge across shards. Peak extra memory is the FAISS tile (FAISS blocks
brute-force search internally) plus ``query_chunk_size × k × 2`` result arrays of 4 and 8
bytes; it never depends on the number of queries times the corpus size.
"""

from __future__ import annotations

import faiss
import numpy as np

from hardneg.candidates.base import Candidates, merge_topk, pad_to
from hardneg.encoding.encode import Embeddings


class DenseSearch:
    """Top-k documents by cosine similarity (inner product of normalised embeddings)."""

    name = "dense"

    def __init__(self, query_embeddings: np.ndarray, doc_embeddings: Embeddings, *, query_chunk_size: int = 4096):
        if query_chunk_size < 1:
            raise ValueError(f"query_chunk_size must be >= 1, got {query_chunk_size}")
        self.query_embeddings = query_embeddings
        self.docs = doc_embeddings
        self.query_chunk_size = query_chunk_size

    def search(self, query_indices: np.ndarray, k: int) -> Candidates:
        k = max(1, int(k))
        parts = []
        for start in range(0, len(query_indices), self.query_chunk_size):
            chunk = np.ascontiguousarray(self.query_embeddings[query_indices[start : start + self.query_chunk_size]])
            best = Candidates.empty(len(chunk), 0)
            for offset, shard in self.docs.iter_shards():
                kk = min(k, len(shard))
                scores, idx = faiss.knn(chunk, np.ascontiguousarray(shard), kk, metric=faiss.METRIC_INNER_PRODUCT)
                idx = np.where(idx >= 0, idx + offset, -1).astype(np.int64)
                part = Candidates(idx, scores.astype(np.float32))
                best = part if best.depth == 0 else merge_topk(best, part, k)
            parts.append(pad_to(best, k))
        if not parts:
            return Candidates.empty(0, k)
        return Candidates(np.concatenate([p.indices for p in parts]), np.concatenate([p.scores for p in parts]))
