"""Cheaper refresh: re-rank a candidate pool with a new checkpoint instead of the whole corpus.

ANCE (Xiong et al. 2020) refreshes negatives by re-encoding the entire corpus; a model that moved a little
since the last refresh ranks mostly the same documents near the top, so here only a *pool* per query (the
candidates earlier rounds retrieved and BM25's top k) is re-encoded and ranked. The cost is the number of
distinct pool documents; the price is recall (a document outside the pool cannot come back), measured by
``benchmarks/refresh.py``: ``docs/research-notes.md`` (Cheaper refresh).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hardneg.candidates import Candidates
from hardneg.candidates.pool import PoolSearch
from hardneg.candidates.retriever import DenseRetriever
from hardneg.candidates.scoring import NoScorer
from hardneg.candidates_file import order_pool
from hardneg.data import RetrievalData
from hardneg.errors import DataError
from hardneg.filters import CandidateFilter
from hardneg.mined import MinedBatch
from hardneg.mining.config import config_of
from hardneg.mining.rule import build_miner
from hardneg.selection import Selection
from hardneg.training.negative_pool import NegativePool


def build_pool(*sources: Sequence[Sequence[int]] | Candidates) -> list[np.ndarray]:
    """Per query, the sorted union of the corpus indices of every source (``-1`` entries skipped).

    A source is a :class:`~hardneg.candidates.Candidates` or a per-query list of index lists;
    all sources list the same queries in the same order.
    """
    rows = [s.indices if isinstance(s, Candidates) else s for s in sources]
    if not rows:
        raise ValueError("build_pool needs at least one source")
    n = len(rows[0])
    if any(len(r) != n for r in rows):
        raise ValueError("every pool source must list the same number of queries")
    out = []
    for q in range(n):
        docs = np.concatenate([np.asarray(r[q], dtype=np.int64).reshape(-1) for r in rows])
        out.append(np.unique(docs[docs >= 0]))
    return out


class RefreshRule:
    """The mining rule a candidates file was mined with, over the queries of a training pool.

    Every refresh inside training chooses negatives with it (:mod:`hardneg.training.inline_refresh`'s pool
    refresh, the live cache of :mod:`hardneg.training.negative_cache`): the same known positives by id and
    normalised text, near duplicates, leakage guard, teacher, filters, widening and selection as
    ``hardneg mine`` (:func:`hardneg.mining.rule.build_miner`); only the candidates come from elsewhere.

    Args:
        pool: the training pool (its queries are a candidates file's rows).
        mine_parameters: the parameters the file was mined with (its manifest's ``parameters``).
        data: the queries and corpus the file was mined from (default: loaded from ``mine_parameters``).
    """

    def __init__(self, pool: NegativePool, mine_parameters: dict[str, Any], data: RetrievalData | None = None):
        self.pool = pool
        self.config = config_of(mine_parameters)
        self.data = data if data is not None else self.config.load_data()
        index = {query_id: q for q, query_id in enumerate(self.data.query_ids)}
        missing = [query_id for query_id in pool.query_ids if query_id not in index]
        if missing:
            raise DataError(f"{len(missing)} training queries (first {missing[0]!r}) are not in the data the file was mined from")
        self.queries = np.array([index[query_id] for query_id in pool.query_ids], dtype=np.int64)
        """Per pool query, its index in :attr:`data`."""
        c = self.config
        self.miner = build_miner(c, self.data, source=None, scorer=NoScorer(), cache_dir=c.cache_root)

    def mine(
        self,
        pool_queries: np.ndarray,
        search: Any,
        *,
        selection: Selection | None = None,
        extra_filters: Sequence[CandidateFilter] = (),
    ) -> MinedBatch:
        """Mine ``pool_queries`` (indices into the pool) from ``search``, which also scores them."""
        miner = self.miner.with_parts(source=search, scorer=search, selection=selection, extra_filters=list(extra_filters))
        return miner.mine_queries(self.queries[np.asarray(pool_queries, dtype=np.int64)], self.pool.num_negatives).mined


def rank_pool(
    query_embeddings: np.ndarray, doc_embeddings: np.ndarray, doc_index: np.ndarray, pool: Sequence[np.ndarray]
) -> Candidates:
    """Each query's pool ranked by cosine, best first (arguments as in :class:`~hardneg.candidates.pool.PoolSearch`)."""
    return PoolSearch(range(len(pool)), query_embeddings, pool, doc_index, doc_embeddings).ranked


def encode_pool(
    retriever: DenseRetriever, query_texts: Sequence[str], corpus_texts: Sequence[str], pool: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode the queries and only the distinct pool documents with ``retriever``:
    ``(query vectors, sorted document indices, their vectors)``."""
    doc_index = np.unique(np.concatenate([np.asarray(p, dtype=np.int64) for p in pool])) if pool else np.zeros(0, np.int64)
    queries = retriever.encode_queries(list(query_texts))
    docs = retriever.encode_documents([corpus_texts[d] for d in doc_index]).to_array()
    return queries, doc_index, docs


def rescore_pool(
    retriever: DenseRetriever, query_texts: Sequence[str], corpus_texts: Sequence[str], pool: Sequence[np.ndarray]
) -> Candidates:
    """Encode the queries and only the distinct pool documents with ``retriever``; rank each pool."""
    queries, doc_index, docs = encode_pool(retriever, query_texts, corpus_texts, pool)
    return rank_pool(queries, docs, doc_index, pool)


def pools_of(mined: MinedBatch, *, pool: str, sampling: str) -> list[np.ndarray]:
    """Per query of a mined batch, its training pool, by the rule a candidates file's rows follow
    (the window's candidates, which every filter kept, the chosen negatives: :func:`~hardneg.candidates_file.order_pool`)."""
    out = []
    for candidates, kept, negatives in zip(mined.candidates, mined.candidate_kept, mined.negatives):
        in_window = candidates >= 0
        chosen = order_pool(candidates[in_window], kept[in_window], negatives[negatives >= 0], pool=pool, sampling=sampling)
        out.append(np.asarray(chosen, dtype=np.int64))
    return out


def overlap_at_k(reference: Candidates, other: Candidates, k: int) -> float:
    """Mean over queries of ``|top-k(reference) ∩ top-k(other)| / |top-k(reference)|``."""
    shares = []
    for a, b in zip(reference.indices[:, :k], other.indices[:, :k]):
        a = a[a >= 0]
        if len(a):
            shares.append(len(np.intersect1d(a, b[b >= 0])) / len(a))
    return float(np.mean(shares)) if shares else float("nan")
