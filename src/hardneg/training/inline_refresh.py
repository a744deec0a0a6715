"""Refreshing negatives inside a training run, every N steps (ANCE-style).

ANCE (Xiong et al. 2020) re-encodes the corpus with the newest checkpoint asynchronously; here the
refresh is synchronous: training pauses, the current weights re-mine, the negative pool is swapped,
training goes on. ``"full"`` runs :func:`hardneg.mining.run` again with the candidates file's parameters;
``"pool"`` (:mod:`hardneg.training.refresh`) re-ranks only each query's candidate pool. Both choose with the
rule the file was mined with, defence included (:class:`~hardneg.training.refresh.RefreshRule`). What each
costs, and what :attr:`InlineRefresh.history` (written to the manifest) records: ``docs/evolve.md``
(Refreshing inside a run).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from transformers import TrainerCallback

from hardneg.candidates import BM25Search
from hardneg.candidates.pool import PoolSearch
from hardneg.candidates.retriever import DenseRetriever
from hardneg.candidates_file import order_pool, read_candidates
from hardneg.data import RetrievalData
from hardneg.mined import MinedBatch
from hardneg.options import EncodingOptions
from hardneg.training.negative_pool import NegativePool
from hardneg.training.refresh import RefreshRule, build_pool, encode_pool, pools_of

REFRESH_MODES = ("full", "pool", "cache")
"""``cache`` is :mod:`hardneg.training.negative_cache`; ``full`` and ``pool`` are refreshed here."""


class Refresher(Protocol):
    """Computes new per-query candidate lists with the given (training) model."""

    def candidates(self, model: Any) -> tuple[list[np.ndarray], int]:
        """Per-query kept candidates (pool order) and the number of documents encoded."""


class FullRefresher:
    """Re-mine with :func:`hardneg.drivers.mine.mine` and the current weights (the whole corpus is re-encoded).

    The re-mined candidates become each query's pool by the same rule as the mined file's
    (:func:`hardneg.candidates_file.order_pool` with the run's ``pool`` and sampling).
    """

    def __init__(self, pool: NegativePool, mine_parameters: dict[str, Any], data: RetrievalData, *, pool_mode: str = "kept"):
        self.pool, self.data, self.pool_mode = pool, data, pool_mode
        self.parameters = {k: v for k, v in mine_parameters.items() if k not in ("out", "model", "use_cache", "show_progress")}

    def candidates(self, model: Any) -> tuple[list[np.ndarray], int]:
        from hardneg.drivers.mine import mine

        with tempfile.TemporaryDirectory(prefix="hardneg-refresh-") as tmp:
            model.save(str(Path(tmp) / "model"))
            params = {**self.parameters, "output_format": "candidates", "model": str(Path(tmp) / "model")}
            preset, data = params.pop("preset", None), params.pop("data")
            result = mine(data, Path(tmp) / "c.parquet", preset=preset, use_cache=False, show_progress=False, **params)
            rows = read_candidates(Path(tmp) / "c.parquet", data=self.data).rows
        by_query = {
            r.query_id: order_pool(r.candidates, r.kept, r.negatives, pool=self.pool_mode, sampling=self.pool.sampling)
            for r in rows
        }
        out = [np.asarray(by_query.get(q, []), dtype=np.int64) for q in self.pool.query_ids]
        return out, int(result.summary.get("texts_encoded", 0))


class PoolRefresher:
    """Re-rank each query's pool (file candidates ∪ BM25 top k ∪ its positives) with the current weights, and mine
    it with the file's own rule (:class:`~hardneg.training.refresh.RefreshRule`), widening within the pool.

    The mined window and its verdicts become each query's pool by the same rule as the mined file's
    (:func:`hardneg.candidates_file.order_pool`).

    Args:
        file_candidates: per pool query, the candidates the file holds (corpus indices).
        mine_parameters: the parameters the file was mined with.
        bm25_k: BM25 documents per query added to each pool (0: none).
        pool_mode: ``kept`` or ``all`` (:func:`~hardneg.candidates_file.order_pool`).
        data: the data the file was mined from (default: loaded from ``mine_parameters``).
    """

    def __init__(
        self,
        pool: NegativePool,
        file_candidates: Sequence[Sequence[int]],
        mine_parameters: dict[str, Any],
        *,
        bm25_k: int = 100,
        pool_mode: str = "kept",
        data: RetrievalData | None = None,
    ):
        self.pool, self.pool_mode = pool, pool_mode
        self.rule = RefreshRule(pool, mine_parameters, data)
        self.config = self.rule.config
        positives = [self.rule.data.positives[q] for q in self.rule.queries]  # scored too: the filters compare with them
        sources: list[Any] = [file_candidates, positives]
        if bm25_k > 0:
            bm25 = BM25Search(pool.corpus_texts, pool.query_texts, show_progress=False)
            sources.append(bm25.search(np.arange(len(pool.query_texts)), bm25_k))
        self.docs = build_pool(*sources)
        # encoded as the file was mined: same precision and backend (the weights change, so nothing is cached)
        self.options = EncodingOptions(
            use_cache=False, show_progress=False, precision=self.config.precision, backend=self.config.backend
        )

    def mine(self, model: Any) -> tuple[list[MinedBatch], int]:
        """Mine every pool query from its re-ranked pool: the mined batches, and the number of texts encoded."""
        retriever = DenseRetriever(model, self.options, fingerprint="training")
        queries, doc_index, docs = encode_pool(retriever, self.pool.query_texts, self.pool.corpus_texts, self.docs)
        search = PoolSearch(self.rule.queries, queries, self.docs, doc_index, docs)
        chunk, total = self.config.query_chunk_size, len(self.docs)
        mined = [self.rule.mine(np.arange(start, min(start + chunk, total)), search) for start in range(0, total, chunk)]
        return mined, retriever.encoder.stats.encoded

    def candidates(self, model: Any) -> tuple[list[np.ndarray], int]:
        mined, encoded = self.mine(model)
        return [p for batch in mined for p in pools_of(batch, pool=self.pool_mode, sampling=self.pool.sampling)], encoded


class InlineRefresh(TrainerCallback):
    """Every ``every_steps`` optimiser steps, replace the pool's candidates with ``refresher``'s."""

    def __init__(self, pool: NegativePool, refresher: Refresher, every_steps: int):
        if every_steps < 1:
            raise ValueError(f"every_steps must be >= 1, got {every_steps}")
        self.pool, self.refresher, self.every_steps = pool, refresher, every_steps
        self.history: list[dict[str, Any]] = []

    def on_step_end(self, args, state, control, model=None, **kwargs):
        step = state.global_step
        if step % self.every_steps or (state.max_steps and step >= state.max_steps):
            return control
        import torch

        start = time.perf_counter()
        previous = self.pool.negatives.copy()
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                candidates, encoded = self.refresher.candidates(model)
        finally:
            model.train(was_training)
        self.pool.set_candidates(candidates)
        self.pool.resample(max(self.pool.epoch, 0))
        still = [
            np.isin(prev[prev >= 0], cands).mean() for prev, cands in zip(previous, self.pool.candidates) if (prev >= 0).any()
        ]
        self.history.append(
            {
                "step": step,
                "seconds": round(time.perf_counter() - start, 3),
                "documents_encoded": int(encoded),
                "previous_negatives_still_in_pool": round(float(np.mean(still)), 4) if still else None,
            }
        )
        return control
