"""Candidate sources: each turns queries into a ranked list of corpus indices with scores.

The sources are imported on first use (PEP 562): ``hardneg.candidates.options``, which every mining
configuration reads, must not pull FAISS or bm25s into a command that only shows its flags.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'hardneg.candidates' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = ["Candidates", "CandidateSource", "merge_topk", "BM25Search", "DenseSearch", "HybridSearch", "RandomCandidates"]
