"""Approximate inner-product search with any FAISS index, built once and kept beside the cache.

The index is chosen by a FAISS index factory string (Johnson, Douze & Jégou 2019, "Billion-scale
similarity search with GPUs"): IVF (Jégou et al. 2011, "Product quantization for nearest neighbor
search"), HNSW (Malkov & Yashunin 2018), or cells with compressed vectors (PQ, SQ). The metric is always
inner product, i.e. cosine on the normalised embeddings. The index is saved as
``<cache>/indexes/<key>.faiss`` (its SHA-256 beside it, checked on every read: a damaged index is built
again), keyed by the factory string and the shards' own cache keys. Candidates found by the index
are re-scored exactly from the embeddings, so the score filters see true cosine similarities
whatever compression the index uses; only *which* documents are found is approximate, and
:func:`recall_at_k` measures that against exact search. Which index to take, and what each cost and
found at a million documents: ``docs/scale.md`` (Approximate indexes).
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import faiss
import numpy as np

from hardneg.candidates.base import Candidates, pad_to
from hardneg.candidates.scoring import DenseScorer
from hardneg.encoding.encode import Embeddings
from hardneg.errors import ConfigError
from hardneg.io import atomic_path, verify_checksum

logger = logging.getLogger(__name__)

ADD_ROWS = 65_536
"""Rows added to an index at once: bounds the copy made while building."""


def index_key(factory: str, docs: Embeddings) -> str:
    """Cache key of an index: the factory string and the keys of the embedding shards it holds."""
    if not docs.keys:
        raise ValueError("embeddings without shard keys cannot name a cached index")
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{factory}|inner_product|{docs.dim}|".encode())
    for key, (_, shard) in zip(docs.keys, docs.iter_shards()):
        h.update(f"{key}:{len(shard)};".encode())
    return h.hexdigest()


def _training_rows(index: faiss.Index, n: int) -> int:
    """Vectors to train on: FAISS wants about 40 per IVF cell (and ~10k for 256-centroid PQ/SQ codebooks)."""
    ivf = faiss.try_extract_index_ivf(index)
    wanted = 10_000 if ivf is None else max(10_000, 50 * ivf.nlist)
    return min(n, wanted)


def _skip_polysemous_training(index: faiss.Index) -> None:
    """PQ indexes from the factory train polysemous codes by default (~50 s, whatever the data size);
    they only serve Hamming pre-filtering, which is never switched on here."""
    top = faiss.downcast_index(index)
    for part in (top, faiss.try_extract_index_ivf(index), getattr(top, "storage", None)):
        if part is not None:
            part = faiss.downcast_index(part)
            if hasattr(part, "do_polysemous_training"):
                part.do_polysemous_training = False


def build_index(factory: str, docs: Embeddings, *, seed: int = 0) -> faiss.Index:
    """A FAISS index of ``factory`` type over ``docs`` (inner-product metric), trained and filled."""
    try:
        index = faiss.index_factory(docs.dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ConfigError(f"index {factory!r} is not a FAISS index factory string: {str(exc).splitlines()[0]}") from exc
    _skip_polysemous_training(index)
    if not index.is_trained:
        n = _training_rows(index, len(docs))
        rows = np.sort(np.random.default_rng(seed).choice(len(docs), size=n, replace=False))
        logger.info("training %s on %d of %d vectors", factory, n, len(docs))
        index.train(docs.rows(rows))
    for shard in docs.shards:
        for start in range(0, len(shard), ADD_ROWS):
            index.add(np.ascontiguousarray(shard[start : start + ADD_ROWS], dtype=np.float32))
    return index


def load_or_build_index(factory: str, docs: Embeddings, cache_dir: Path | None, *, seed: int = 0) -> tuple[faiss.Index, bool]:
    """The index from ``<cache_dir>/indexes`` when one was saved for these embeddings, else a new one (saved).

    Returns ``(index, reused)``.
    """
    path = Path(cache_dir) / "indexes" / f"{index_key(factory, docs)}.faiss" if cache_dir and docs.keys else None
    if path is not None and path.is_file() and verify_checksum(path):
        try:
            index = faiss.read_index(str(path))
            if index.ntotal == len(docs):
                return index, True
        except RuntimeError:
            pass
        logger.warning("ignoring unreadable index file %s", path)
    index = build_index(factory, docs, seed=seed)
    if path is not None:
        with atomic_path(path, checksum=True) as tmp:
            faiss.write_index(index, str(tmp))
    return index, False


def set_search_parameters(index: faiss.Index, factory: str, *, nprobe: int | None, ef_search: int | None) -> None:
    """Set ``nprobe`` (IVF) and ``efSearch`` (HNSW); naming one the index does not have is an error."""
    space = faiss.ParameterSpace()
    for name, value in (("nprobe", nprobe), ("efSearch", ef_search)):
        if value is None:
            continue
        try:
            space.set_index_parameter(index, name, int(value))
        except RuntimeError as exc:
            flag = "nprobe" if name == "nprobe" else "ef_search"
            raise ConfigError(f"{flag}={value} has no effect on index {factory!r}: it has no {name} parameter") from exc


class ApproximateSearch:
    """Top-k documents from an approximate FAISS index, re-scored exactly.

    Args:
        query_embeddings: (queries, dim) normalised query vectors.
        doc_embeddings: the corpus's embedding shards.
        factory: FAISS index factory string, e.g. ``"IVF4096,Flat"`` or ``"HNSW32"``.
        cache_dir: where ``indexes/<key>.faiss`` is kept; ``None`` builds in memory every time.
        nprobe / ef_search: search-time parameters of IVF / HNSW indexes (FAISS defaults otherwise).
        seed: seed of the training sample.
    """

    name = "dense"

    def __init__(
        self,
        query_embeddings: np.ndarray,
        doc_embeddings: Embeddings,
        factory: str,
        *,
        cache_dir: Path | None = None,
        nprobe: int | None = None,
        ef_search: int | None = None,
        query_chunk_size: int = 4096,
        seed: int = 0,
    ):
        self.query_embeddings, self.docs, self.factory = query_embeddings, doc_embeddings, factory
        self.query_chunk_size = query_chunk_size
        start = time.perf_counter()
        self.index, self.reused = load_or_build_index(factory, doc_embeddings, cache_dir, seed=seed)
        self.build_seconds = time.perf_counter() - start
        set_search_parameters(self.index, factory, nprobe=nprobe, ef_search=ef_search)
        self.scorer = DenseScorer(query_embeddings, doc_embeddings)

    def search(self, query_indices: np.ndarray, k: int) -> Candidates:
        k = max(1, int(k))
        kk = min(k, len(self.docs))
        parts = []
        for start in range(0, len(query_indices), self.query_chunk_size):
            rows = query_indices[start : start + self.query_chunk_size]
            chunk = np.ascontiguousarray(self.query_embeddings[rows], dtype=np.float32)
            _, idx = self.index.search(chunk, kk)
            idx = idx.astype(np.int64)
            scores = self.scorer.score(rows, idx)  # exact cosine; -inf where the index found nothing
            order = np.argsort(-scores, axis=1, kind="stable")
            parts.append(pad_to(Candidates(np.take_along_axis(idx, order, 1), np.take_along_axis(scores, order, 1)), k))
        if not parts:
            return Candidates.empty(0, k)
        return Candidates(np.concatenate([p.indices for p in parts]), np.concatenate([p.scores for p in parts]))


def recall_at_k(approximate: Candidates, exact: Candidates) -> float:
    """Mean over queries of |approximate top-k ∩ exact top-k| / |exact top-k| (k = the exact lists' depth)."""
    hits, total = 0, 0
    for a, e in zip(approximate.indices, exact.indices):
        e = e[e >= 0]
        hits += len(np.intersect1d(a[: exact.depth], e))
        total += len(e)
    return hits / total if total else 1.0


def build_dense_search(
    query_embeddings: np.ndarray,
    doc_embeddings: Embeddings,
    *,
    index: str = "Flat",
    nprobe: int | None = None,
    ef_search: int | None = None,
    query_chunk_size: int = 4096,
    cache_dir: Path | None = None,
    recall_sample: int = 200,
    recall_k: int = 100,
    seed: int = 0,
):
    """Exact :class:`~hardneg.candidates.DenseSearch` for ``"Flat"``, else an :class:`ApproximateSearch`.

    For an approximate index, also returns a report: build time, whether a saved index was reused,
    and its recall@k against exact search on ``recall_sample`` queries drawn with ``seed``.
    Returns ``(source, report or None)``.
    """
    from hardneg.candidates.dense import DenseSearch

    exact = DenseSearch(query_embeddings, doc_embeddings, query_chunk_size=query_chunk_size)
    if index.replace(" ", "") == "Flat":
        for name, value in (("nprobe", nprobe), ("ef_search", ef_search)):
            if value is not None:
                logger.warning("%s=%s has no effect on exact ('Flat') search", name, value)
        return exact, None
    approximate = ApproximateSearch(
        query_embeddings,
        doc_embeddings,
        index,
        cache_dir=cache_dir,
        nprobe=nprobe,
        ef_search=ef_search,
        query_chunk_size=query_chunk_size,
        seed=seed,
    )
    report = {
        "factory": index,
        "nprobe": nprobe,
        "ef_search": ef_search,
        "reused": approximate.reused,
        "build_seconds": round(approximate.build_seconds, 3),
    }
    n = min(recall_sample, len(query_embeddings))
    k = min(recall_k, len(doc_embeddings))
    if n and k:
        sample = np.sort(np.random.default_rng(seed).choice(len(query_embeddings), size=n, replace=False))
        start = time.perf_counter()
        found = approximate.search(sample, k)
        approximate_seconds = time.perf_counter() - start
        start = time.perf_counter()
        truth = exact.search(sample, k)
        exact_seconds = time.perf_counter() - start
        report.update(
            recall_at_k=round(recall_at_k(found, truth), 4),
            k=k,
            sample_queries=n,
            speedup=round(exact_seconds / max(approximate_seconds, 1e-9), 2),
        )
        logger.info("index %s: recall@%d %.4f on %d queries", index, k, report["recall_at_k"], n)
    return approximate, report
