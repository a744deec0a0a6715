"""Uniformly random candidates: the easy-negative baseline."""

from __future__ import annotations

import numpy as np

from hardneg.candidates.base import Candidates, pad_to


class RandomCandidates:
    """``k`` distinct documents per query, drawn uniformly with a per-query seeded generator.

    The draw for a query depends only on the seed and the query's id hash, so it does not
    change with batching or sharding.
    """

    name = "random"

    def __init__(self, n_docs: int, query_hashes: np.ndarray, *, seed: int):
        self.n_docs = n_docs
        self.query_hashes = query_hashes
        self.seed = seed

    def search(self, query_indices: np.ndarray, k: int) -> Candidates:
        kk = min(max(1, int(k)), self.n_docs)
        out = Candidates.empty(len(query_indices), kk)
        for row, q in enumerate(query_indices):
            rng = np.random.default_rng([self.seed, int(self.query_hashes[q])])
            out.indices[row] = rng.choice(self.n_docs, size=kk, replace=False)
        out.scores[:] = np.nan
        return pad_to(out, k)
