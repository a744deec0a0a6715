"""Candidate sources: each turns queries into a ranked list of corpus indices with scores."""

from hardneg.candidates.base import Candidates, CandidateSource, merge_topk
from hardneg.candidates.bm25 import BM25Search
from hardneg.candidates.dense import DenseSearch
from hardneg.candidates.hybrid import HybridSearch
from hardneg.candidates.random import RandomCandidates

__all__ = ["Candidates", "CandidateSource", "merge_topk", "BM25Search", "DenseSearch", "HybridSearch", "RandomCandidates"]
