"""Several teachers as one: the mean of their scores, put on a common scale first.

Scores of different teachers live on different scales (logits, probabilities, cosines). Each
teacher's scores are min-max normalised within each query's row of the call (the miner calls a
teacher with a query's positives and its window candidates together, so the row is that set), then
averaged. When every teacher gives probabilities they already share a scale, and are averaged as
they are, so the ensemble is a probability too and RocketQA's thresholds still apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def minmax_rows(scores: np.ndarray) -> np.ndarray:
    """Each row scaled to [0, 1] over its finite entries (a constant row becomes 0.5); ``-inf`` stays."""
    finite = np.isfinite(scores)
    lo = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
    hi = np.where(finite, scores, -np.inf).max(axis=1, keepdims=True)
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(span > 0, (scores - lo) / np.where(span > 0, span, 1), 0.5)
    return np.where(finite, scaled, scores).astype(np.float32)


class EnsembleScorer:
    """Mean of several teachers' scores, each member's rows min-max normalised first unless all give probabilities."""

    name = "ensemble"

    def __init__(self, members: Sequence):
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least two teachers, got {len(members)}")
        self.members = list(members)
        all_probabilities = all(getattr(m, "is_probability", False) for m in self.members)
        self.normalize = not all_probabilities
        self.is_probability = all_probabilities

    def score(self, query_indices: np.ndarray, doc_indices: np.ndarray) -> np.ndarray:
        parts = [m.score(query_indices, doc_indices) for m in self.members]
        if self.normalize:
            parts = [minmax_rows(p) for p in parts]
        out = np.mean(parts, axis=0).astype(np.float32)
        out[np.asarray(doc_indices) < 0] = -np.inf
        return out

    def info(self) -> dict[str, Any]:
        return {
            "type": "ensemble",
            "normalize": "minmax per query" if self.normalize else "none",
            "members": [m.info() for m in self.members],
        }
