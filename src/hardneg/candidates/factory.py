"""One place that turns a mining configuration into a candidate source and its scorer.

``sampler`` picks the source: ``dense`` (exact FAISS search, or an approximate index), ``bm25``,
``hybrid`` (reciprocal-rank fusion of the two), ``random``, or ``none`` (pairs only). The scorer
gives every (query, document) pair a score in the space the filters compare: the encoder's cosine
for dense, hybrid and random candidates (random ones have no scores of their own), BM25's for
``bm25``.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from hardneg.candidates.approximate import build_dense_search
from hardneg.candidates.base import CandidateSource
from hardneg.candidates.bm25 import BM25Search
from hardneg.candidates.hybrid import HybridSearch
from hardneg.candidates.options import SAMPLERS
from hardneg.candidates.random import RandomCandidates
from hardneg.candidates.scoring import BM25Scorer, DenseScorer, NoScorer, Scorer

if TYPE_CHECKING:
    from hardneg.data import RetrievalData


class SourceOptions(Protocol):
    """What building a candidate source reads of a mining configuration."""

    sampler: str
    selection: str
    seed: int
    show_progress: bool
    bm25_k1: float
    bm25_b: float
    bm25_stemmer: str | None
    rrf_k: int
    index: str
    nprobe: int | None
    ef_search: int | None
    query_chunk_size: int
    recall_sample: int

    @property
    def uses_score_filters(self) -> bool: ...

    @property
    def effective_range_max(self) -> int | None: ...


def needs_dense(config: SourceOptions) -> bool:
    """Whether the configuration needs query and document embeddings."""
    sampler = SAMPLERS[config.sampler]
    if sampler.dense:
        return True
    # Candidates without scores of their own (random): score filters and SimANS need the model's.
    return sampler.mines and not sampler.own_scores and (config.uses_score_filters or config.selection == "simans")


@dataclass
class BuiltSource:
    """A candidate source (``None`` for pairs only), its scorer, and what building an index measured."""

    source: CandidateSource | None
    scorer: Scorer
    index_report: dict[str, Any] | None = None


def build_source(
    config: SourceOptions,
    data: RetrievalData,
    *,
    query_hashes: np.ndarray,
    dense: tuple[np.ndarray, Any] | None = None,
    cache_dir: Path | None = None,
    timer: Any = None,
) -> BuiltSource:
    """The candidate source and scorer ``config.sampler`` names.

    Args:
        config: the mining configuration (sampler, BM25, index and seed settings).
        data: the queries and corpus.
        query_hashes: per-query id hashes (seed the random sampler).
        dense: ``(query embeddings, document embeddings)`` when :func:`needs_dense` says so.
        cache_dir: where an approximate index is cached (``None``: not cached).
        timer: a ``timer("index")`` context manager factory, or ``None``.
    """
    c, sampler = config, SAMPLERS[config.sampler]
    timed = timer or (lambda name: nullcontext())
    bm25 = None
    if sampler.bm25:
        with timed("index"):
            bm25 = BM25Search(
                data.corpus_texts,
                data.query_texts,
                k1=c.bm25_k1,
                b=c.bm25_b,
                stemmer=c.bm25_stemmer or None,
                show_progress=c.show_progress,
            )
    search = index_report = dense_scorer = None
    if dense is not None:
        queries, docs = dense
        dense_scorer = DenseScorer(queries, docs)
    if dense is not None and sampler.dense:
        with timed("index"):
            # Exact search, or the configured approximate index with its recall measured.
            search, index_report = build_dense_search(
                queries,
                docs,
                index=c.index,
                nprobe=c.nprobe,
                ef_search=c.ef_search,
                query_chunk_size=c.query_chunk_size,
                cache_dir=cache_dir,
                recall_sample=c.recall_sample,
                recall_k=c.effective_range_max or 100,
                seed=c.seed,
            )
    if c.sampler == "dense":
        return BuiltSource(search, dense_scorer, index_report)
    if c.sampler == "bm25":
        return BuiltSource(bm25, BM25Scorer(bm25))
    if c.sampler == "hybrid":
        return BuiltSource(HybridSearch(search, bm25, dense_scorer, rrf_k=c.rrf_k), dense_scorer, index_report)
    if c.sampler == "random":
        return BuiltSource(RandomCandidates(len(data.corpus_ids), query_hashes, seed=c.seed), dense_scorer or NoScorer())
    return BuiltSource(None, NoScorer())
