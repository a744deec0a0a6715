"""One place that turns a mining configuration into a candidate source and its scorer.

``sampler`` picks the source: ``dense`` (exact FAISS search, or an approximate index), ``bm25``,
``hybrid`` (reciprocal-rank fusion of the two), ``random``, or ``none`` (pairs only). The scorer
gives every (query, document) pair a score in the space the filters compare: the encoder's cosine
for dense, hybrid and random candidates (random ones have no scores of their own), BM25's for
``bm25``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hardneg.candidates.approximate import build_dense_search
from hardneg.candidates.base import CandidateSource
from hardneg.candidates.bm25 import BM25Search
from hardneg.candidates.hybrid import HybridSearch
from hardneg.candidates.options import SAMPLERS, CandidateOptions
from hardneg.candidates.random import RandomCandidates
from hardneg.candidates.scoring import BM25Scorer, DenseScorer, NoScorer, Scorer

if TYPE_CHECKING:
    from hardneg.data import RetrievalData


def needs_dense(sampler: str, *, score_filters: bool, selection: str) -> bool:
    """Whether ``sampler`` needs query and document embeddings, with score filters on or not and ``selection``."""
    about = SAMPLERS[sampler]
    if about.dense:
        return True
    # Candidates without scores of their own (random): score filters and SimANS need the model's.
    return about.mines and not about.own_scores and (score_filters or selection == "simans")


def build_source(
    options: CandidateOptions,
    data: RetrievalData,
    *,
    seed: int,
    query_hashes: np.ndarray,
    dense: tuple[np.ndarray, Any] | None = None,
    recall_k: int = 100,
    query_chunk_size: int = 4096,
    show_progress: bool = False,
    cache_dir: Path | None = None,
    timer: Any,
) -> tuple[CandidateSource | None, Scorer, dict[str, Any] | None]:
    """The candidate source ``options.sampler`` names (``None`` for pairs only), its scorer, and what building an index
    measured (``None`` without an approximate index).

    Args:
        options: the sampler and its BM25, fusion and index settings.
        seed: seeds the random sampler and the recall sample of an approximate index.
        query_hashes: per-query id hashes (seed the random sampler).
        dense: ``(query embeddings, document embeddings)`` when :func:`needs_dense` says so.
        recall_k: the depth at which an approximate index's recall is measured.
        cache_dir: where an approximate index is cached (``None``: not cached).
        timer: a ``timer("index")`` context manager factory.
    """
    c, sampler = options, SAMPLERS[options.sampler]
    bm25 = None
    if sampler.bm25:
        with timer("index"):
            bm25 = BM25Search(
                data.corpus_texts,
                data.query_texts,
                k1=c.bm25_k1,
                b=c.bm25_b,
                stemmer=c.bm25_stemmer or None,
                show_progress=show_progress,
            )
    search = index_report = dense_scorer = None
    if dense is not None:
        queries, docs = dense
        dense_scorer = DenseScorer(queries, docs)
    if dense is not None and sampler.dense:
        with timer("index"):
            # Exact search, or the configured approximate index with its recall measured.
            search, index_report = build_dense_search(
                queries,
                docs,
                index=c.index,
                nprobe=c.nprobe,
                ef_search=c.ef_search,
                query_chunk_size=query_chunk_size,
                cache_dir=cache_dir,
                recall_sample=c.recall_sample,
                recall_k=recall_k,
                seed=seed,
            )
    if c.sampler == "dense":
        return search, dense_scorer, index_report
    if c.sampler == "bm25":
        return bm25, BM25Scorer(bm25), None
    if c.sampler == "hybrid":
        return HybridSearch(search, bm25, dense_scorer, rrf_k=c.rrf_k), dense_scorer, index_report
    if c.sampler == "random":
        return RandomCandidates(len(data.corpus_ids), query_hashes, seed=seed), dense_scorer or NoScorer(), None
    return None, NoScorer(), None
