"""What every candidate source returns, and the top-k merge used to combine partial results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class Candidates:
    """Ranked candidates for a batch of queries.

    ``indices[i, j]`` is the corpus index of query ``i``'s ``j``-th candidate (``-1`` = none) and
    ``scores[i, j]`` its score in the source's score space (``-inf`` for none, ``nan`` when the
    source has no scores).
    """

    indices: np.ndarray
    scores: np.ndarray

    @property
    def depth(self) -> int:
        return int(self.indices.shape[1])

    @classmethod
    def empty(cls, n: int, k: int) -> Candidates:
        return cls(np.full((n, k), -1, dtype=np.int64), np.full((n, k), -np.inf, dtype=np.float32))


class CandidateSource(Protocol):
    """Finds candidate documents for queries. ``k`` is a depth; deeper calls may be made later."""

    name: str

    def search(self, query_indices: np.ndarray, k: int) -> Candidates: ...


def merge_topk(a: Candidates, b: Candidates, k: int) -> Candidates:
    """The ``k`` best of two candidate lists per row, by score; ties keep ``a`` before ``b``."""
    indices = np.concatenate([a.indices, b.indices], axis=1)
    scores = np.concatenate([a.scores, b.scores], axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return Candidates(np.take_along_axis(indices, order, 1), np.take_along_axis(scores, order, 1))


def pad_to(c: Candidates, k: int) -> Candidates:
    """Pad (with ``-1`` / ``-inf``) to exactly ``k`` columns."""
    missing = k - c.depth
    if missing <= 0:
        return c
    n = c.indices.shape[0]
    return Candidates(
        np.concatenate([c.indices, np.full((n, missing), -1, dtype=np.int64)], axis=1),
        np.concatenate([c.scores, np.full((n, missing), -np.inf, dtype=np.float32)], axis=1),
    )
