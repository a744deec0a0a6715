"""Candidate sources: each turns queries into a ranked list of corpus indices with scores.

The sources are imported on first use (PEP 562): ``hardneg.candidates.options``, which every mining
configuration reads, must not pull FAISS or bm25s into a command that only shows its flags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hardneg._lazy import lazy_exports

_WHERE = {
    "Candidates": "hardneg.candidates.base",
    "CandidateSource": "hardneg.candidates.base",
    "merge_topk": "hardneg.candidates.base",
    "BM25Search": "hardneg.candidates.bm25",
    "DenseSearch": "hardneg.candidates.dense",
    "HybridSearch": "hardneg.candidates.hybrid",
    "RandomCandidates": "hardneg.candidates.random",
}

if TYPE_CHECKING:
    from hardneg.candidates.base import Candidates, CandidateSource, merge_topk
    from hardneg.candidates.bm25 import BM25Search
    from hardneg.candidates.dense import DenseSearch
    from hardneg.candidates.hybrid import HybridSearch
    from hardneg.candidates.random import RandomCandidates


__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

__all__ = ["Candidates", "CandidateSource", "merge_topk", "BM25Search", "DenseSearch", "HybridSearch", "RandomCandidates"]
