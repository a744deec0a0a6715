"""Union of dense and BM25 candidates, ordered by reciprocal-rank fusion."""

from __future__ import annotations

import numpy as np

from hardneg.candidates.base import Candidates, CandidateSource, pad_to


class HybridSearch:
    """Dense ∪ BM25, ranked by RRF (Cormack et al. 2009): ``Σ 1 / (rrf_k + rank)``.

    Scores are those of ``scorer`` (normally the dense model), so score filters mean the same as
    for dense candidates; only the order comes from fusion.
    """

    name = "hybrid"

    def __init__(self, dense: CandidateSource, bm25: CandidateSource, scorer, *, rrf_k: int = 60):
        self.dense, self.bm25, self.scorer, self.rrf_k = dense, bm25, scorer, rrf_k

    def search(self, query_indices: np.ndarray, k: int) -> Candidates:
        a = self.dense.search(query_indices, k)
        b = self.bm25.search(query_indices, k)
        out = Candidates.empty(len(query_indices), k)
        for row in range(len(query_indices)):
            fused: dict[int, float] = {}
            for cands in (a, b):
                for rank, doc in enumerate(cands.indices[row]):
                    if doc >= 0:
                        fused[int(doc)] = fused.get(int(doc), 0.0) + 1.0 / (self.rrf_k + rank + 1)
            ranked = sorted(fused, key=lambda d: (-fused[d], d))[:k]
            out.indices[row, : len(ranked)] = ranked
        out.scores = self.scorer.score(query_indices, out.indices)
        return pad_to(out, k)
