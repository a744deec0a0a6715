"""The live negative cache: negatives re-mined every step from a table of corpus embeddings that training keeps fresh.

Lindgren et al., "Efficient Training of Retrieval Models using Negative Cache", NeurIPS 2021. The parts:
:class:`EmbeddingTable` (the vectors and the step each was encoded at), :class:`LiveNegativeCache` (the
mining, with the candidates file's own rule), :func:`cached_negatives_loss` (re-mines, and writes the step's
vectors back) and :class:`CacheRefresh` (re-encodes the stalest rows after each step). What each does and
what the manifest records: ``docs/evolve.md`` (The live negative cache).

Rows reach the loss with their row index in the ``label`` column (MultipleNegativesRankingLoss
ignores labels); :class:`~hardneg.training.negative_pool.NegativePool` knows each row's query and
positive, and the cache writes the negatives it mined back into the pool, so the next epoch's
pool is the cache's too.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from transformers import TrainerCallback

from hardneg.candidates import Candidates
from hardneg.candidates.base import pad_to
from hardneg.data import RetrievalData
from hardneg.filters import BatchPositives
from hardneg.options import values_of
from hardneg.selection import Selection, SelectionOptions
from hardneg.training.negative_pool import NegativePool
from hardneg.training.refresh import RefreshRule, pools_of

CACHE_DTYPES = ("float16", "bfloat16", "float32")
"""float32 costs twice the memory and reproduces the mining run's scores exactly; the 16-bit types may swap near ties."""


def _to_bfloat16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), rounded to nearest even."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
    return (rounded >> np.uint32(16)).astype(np.uint16)


def _from_bfloat16_bits(b: np.ndarray) -> np.ndarray:
    return (np.asarray(b, dtype=np.uint32) << np.uint32(16)).view(np.float32)


class EmbeddingTable:
    """Unit vectors of every corpus document (16 bits by default), and the step each row was last encoded at.

    Args:
        vectors: (documents, dim) float32 unit vectors to start from.
        dtype: ``"float16"``, ``"bfloat16"`` (stored as its 16-bit pattern) or ``"float32"``.
        memmap_dir: where to put the table when it exceeds ``memmap_bytes`` (a file this class
            creates and deletes in :meth:`close`); ``None`` keeps it in memory whatever its size.
        memmap_bytes: size above which the table is memory-mapped.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        *,
        dtype: str = "float16",
        memmap_dir: str | Path | None = None,
        memmap_bytes: int = 512 << 20,
    ):
        if dtype not in CACHE_DTYPES:
            raise ValueError(f"dtype must be one of {CACHE_DTYPES}, got {dtype!r}")
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be (documents, dim), got shape {vectors.shape}")
        self.dtype = dtype
        storage = {"float16": np.float16, "bfloat16": np.uint16, "float32": np.float32}[dtype]
        self.path: Path | None = None
        if memmap_dir is not None and vectors.size * np.dtype(storage).itemsize > memmap_bytes:
            fd, name = tempfile.mkstemp(prefix="hardneg-negative-cache-", suffix=".bin", dir=str(memmap_dir))
            os.close(fd)
            self.path = Path(name)
            self.data = np.memmap(self.path, dtype=storage, mode="w+", shape=vectors.shape)
        else:
            self.data = np.empty(vectors.shape, dtype=storage)
        for start in range(0, len(vectors), 65536):
            self.data[start : start + 65536] = self._pack(vectors[start : start + 65536])
        self.encoded_at = np.zeros(len(vectors), dtype=np.int64)  # step 0: the model before training

    def __len__(self) -> int:
        return int(self.data.shape[0])

    @property
    def memory_mapped(self) -> bool:
        return self.path is not None

    def _pack(self, x: np.ndarray) -> np.ndarray:
        return _to_bfloat16_bits(x) if self.dtype == "bfloat16" else x.astype(self.data.dtype)

    def _unpack(self, x: np.ndarray) -> np.ndarray:
        return _from_bfloat16_bits(x) if self.dtype == "bfloat16" else x.astype(np.float32)

    def write(self, indices: np.ndarray, vectors: np.ndarray, step: int) -> None:
        """Store fresh unit vectors for ``indices`` (``-1`` entries skipped), encoded at ``step``."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(indices), -1)
        ok = indices >= 0
        if ok.any():
            norms = np.linalg.norm(vectors[ok], axis=1, keepdims=True)
            self.data[indices[ok]] = self._pack(vectors[ok] / np.maximum(norms, 1e-12))
            self.encoded_at[indices[ok]] = step

    def read(self, indices: np.ndarray) -> np.ndarray:
        """float32 vectors of ``indices``."""
        return self._unpack(self.data[np.asarray(indices, dtype=np.int64)])

    def top(self, queries: np.ndarray, k: int, *, chunk: int = 65536) -> Candidates:
        """Exact cosine top ``k`` of every query (unit vectors), best first, scanning the table in chunks."""
        queries = np.asarray(queries, dtype=np.float32)
        k = min(k, len(self))
        best_idx = np.zeros((len(queries), 0), dtype=np.int64)
        best_sc = np.zeros((len(queries), 0), dtype=np.float32)
        for start in range(0, len(self), chunk):
            scores = queries @ self._unpack(self.data[start : start + chunk]).T
            kk = min(k, scores.shape[1])
            part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
            best_idx = np.concatenate([best_idx, part + start], axis=1)
            best_sc = np.concatenate([best_sc, np.take_along_axis(scores, part, 1)], axis=1)
            if best_idx.shape[1] > k:
                keep = np.argpartition(-best_sc, k - 1, axis=1)[:, :k]
                best_idx, best_sc = np.take_along_axis(best_idx, keep, 1), np.take_along_axis(best_sc, keep, 1)
        order = np.lexsort((best_idx, -best_sc), axis=1) if best_idx.size else best_idx
        return Candidates(np.take_along_axis(best_idx, order, 1), np.take_along_axis(best_sc, order, 1))

    def stalest(self, count: int) -> np.ndarray:
        """The ``count`` rows encoded longest ago (lowest index first among equals)."""
        count = min(count, len(self))
        if count <= 0:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.argsort(self.encoded_at, kind="stable")[:count])

    def ages(self, step: int) -> dict[str, float]:
        """The age distribution, in steps since each row was encoded."""
        age = step - self.encoded_at
        return {
            "mean": round(float(age.mean()), 2),
            "p50": float(np.percentile(age, 50)),
            "p90": float(np.percentile(age, 90)),
            "max": int(age.max()),
            "fresh_share": round(float((age == 0).mean()), 4),
        }

    def close(self) -> None:
        """Delete the memory-mapped file this table created (an in-memory table has nothing to delete)."""
        if self.path is not None:
            del self.data
            self.path.unlink(missing_ok=True)
            self.path = None


class TableSearch:
    """An :class:`EmbeddingTable` as the candidate source and scorer of one batch of queries, searched with the
    vectors the training step computed for them (the current weights)."""

    name = "dense"

    def __init__(self, table: EmbeddingTable, queries: np.ndarray, vectors: np.ndarray):
        self.table = table
        self.row = {int(q): i for i, q in enumerate(queries)}
        self.vectors = np.asarray(vectors, dtype=np.float32)

    def _vectors(self, query_indices: np.ndarray) -> np.ndarray:
        return self.vectors[[self.row[int(q)] for q in query_indices]]

    def search(self, query_indices: np.ndarray, k: int) -> Candidates:
        return pad_to(self.table.top(self._vectors(query_indices), k), k)

    def score(self, query_indices: np.ndarray, doc_indices: np.ndarray) -> np.ndarray:
        doc_indices = np.asarray(doc_indices, dtype=np.int64)
        docs = self.table.read(np.maximum(doc_indices, 0))
        scores = np.einsum("qd,qkd->qk", self._vectors(query_indices), docs).astype(np.float32)
        scores[doc_indices < 0] = -np.inf
        return scores


class LiveNegativeCache:
    """Mines negatives for a batch of queries from an :class:`EmbeddingTable`, with a candidates file's own rule.

    The rule is the one ``hardneg mine`` applied (:class:`~hardneg.training.refresh.RefreshRule`); the table only
    replaces the index. The batch's other positives are dropped too (``batch_positive``).

    Args:
        pool: the training pool (queries, positives, current negatives); mined negatives and
            pools are written back into it.
        document_ids: corpus ids, one per table row.
        mine_parameters: the parameters the candidates file was mined with (filters, window, selection).
        pool_mode: ``kept`` or ``all`` (see :func:`hardneg.candidates_file.order_pool`).
        every_steps: re-mine at steps divisible by this; in between, rows keep their negatives.
        data: the data the file was mined from (default: loaded from ``mine_parameters``).

    In the first epoch the selection draws with the file's seed, so an unchanged model chooses what mining
    chose; later epochs draw with a seed of (the file's seed, the training seed, the epoch).
    """

    def __init__(
        self,
        pool: NegativePool,
        table: EmbeddingTable,
        document_ids: Sequence[str],
        mine_parameters: dict[str, Any],
        *,
        pool_mode: str = "kept",
        every_steps: int = 1,
        data: RetrievalData | None = None,
    ):
        if every_steps < 1:
            raise ValueError(f"every_steps must be >= 1, got {every_steps}")
        if len(document_ids) != len(table):
            raise ValueError(f"{len(document_ids)} document ids for a table of {len(table)} rows")
        self.pool, self.table, self.pool_mode, self.every_steps = pool, table, pool_mode, every_steps
        self.rule = RefreshRule(pool, mine_parameters, data)
        if list(self.rule.data.corpus_ids) != list(document_ids):
            raise ValueError("the table's document ids are not the corpus the candidates file was mined from")
        self.config = self.rule.config
        # Known positives as mining counts them: the query's, its textual twins', and every copy of their text.
        miner = self.rule.miner
        self.known = [miner.tables.known_positives[q] for q in self.rule.queries]
        self.group = miner.tables.group
        order = np.argsort(self.group, kind="stable")
        starts = np.searchsorted(self.group[order], np.arange(int(self.group.max(initial=-1)) + 2))
        self._group_docs = (order, starts)
        self._positive_docs: dict[int, np.ndarray] = {}
        self.step = 0
        self.last: dict[str, Any] | None = None
        """The latest mined batch: queries, their vectors, the negatives chosen (for the agreement check)."""
        self.mined_queries = 0
        self.written_back = 0

    def positive_documents(self, query: int) -> np.ndarray:
        """Every document that counts as a positive of ``query`` (never a negative, not ranked)."""
        if query not in self._positive_docs:
            order, starts = self._group_docs
            groups = np.unique(self.group[np.asarray(self.known[query], dtype=np.int64)])
            self._positive_docs[query] = np.sort(np.concatenate([order[starts[g] : starts[g + 1]] for g in groups]))
        return self._positive_docs[query]

    def selection(self) -> Selection | None:
        """The selection of the pool's current epoch (``None``: the file's own, in the first epoch)."""
        epoch = max(self.pool.epoch, 0)
        if epoch == 0:
            return None
        c = self.config
        seed = int(np.random.SeedSequence([c.seed, int(self.pool.seed), epoch]).generate_state(1)[0])
        return SelectionOptions(**values_of(c, SelectionOptions)).build(seed)

    def choose(
        self, table: EmbeddingTable, queries: np.ndarray, vectors: np.ndarray, exclude: Sequence[Sequence[int]] = ()
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Mine ``queries`` (pool query indices) from ``table`` without changing anything.

        Returns the (queries, n) chosen negatives (``-1`` when a query has too few survivors) and
        each query's new pool. ``exclude``: per query, documents that may not be chosen (the
        batch's other positives: a duplicate would be a false in-batch negative).
        """
        queries = np.asarray(queries, dtype=np.int64)
        search = TableSearch(table, self.rule.queries[queries], vectors)
        extra = [BatchPositives([np.asarray(e, dtype=np.int64) for e in exclude])] if len(exclude) else []
        mined = self.rule.mine(queries, search, selection=self.selection(), extra_filters=extra)
        return mined.negatives, pools_of(mined, pool=self.pool_mode, sampling=self.pool.sampling)

    def negatives_for(self, rows: np.ndarray, query_vectors: np.ndarray) -> np.ndarray:
        """The (rows, n) negatives to train ``rows`` on at the current step, re-mined when the step is due."""
        queries = self.pool.rows.query[rows]
        if self.step % self.every_steps == 0:
            batch_positives = self.pool.rows.positive[rows]
            exclude = [batch_positives[batch_positives >= 0] for _ in queries]
            chosen, pools = self.choose(self.table, queries, query_vectors, exclude)
            n = self.pool.num_negatives
            for q, picked, pool in zip(queries, chosen, pools):
                picked = picked[picked >= 0]
                if len(picked) == 0:
                    continue  # nothing survived: the row keeps the negatives it had
                self.pool.negatives[q] = [picked[i % len(picked)] for i in range(n)]
                self.pool.candidates[q] = pool
            self.mined_queries += len(queries)
            self.last = {"queries": queries, "vectors": query_vectors, "chosen": chosen, "step": self.step}
        return self.pool.negatives[queries]

    def write_back(self, indices: np.ndarray, vectors: np.ndarray) -> None:
        """Store the document vectors a training step computed (current weights) in the table."""
        self.table.write(indices, vectors, self.step)
        self.written_back += int((np.asarray(indices) >= 0).sum())


def cached_negatives_loss(model: Any, cache: LiveNegativeCache, *, scale: float = 20.0, mask_known_positives: bool = False):
    """A MultipleNegativesRankingLoss that mines each batch's negatives from ``cache`` and writes back
    the positives' and negatives' embeddings. The batch's ``label`` column must hold pool row indices.

    The class is made here, on first use, so importing this module does not import sentence-transformers.
    The negative texts the data collator already tokenized are replaced by the freshly mined ones
    (re-tokenized here): the cost of a re-mine is one table search and that tokenization.

    ``mask_known_positives``: leave every document of the batch that counts as a positive of a query
    (:meth:`LiveNegativeCache.positive_documents`: its positives, its textual twins' and every copy of
    their text) out of that query's softmax, as :class:`hardneg.training.known_positives.KnownPositivesMNRL`
    does for plain training; here documents are known by their corpus index, so no tokenization is needed.
    """
    import torch
    from sentence_transformers.base.losses.merged_forward import embed_columns
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.util.tensor import batch_to_device

    from hardneg.training.known_positives import MaskedSoftmax

    class CachedNegativesLoss(MaskedSoftmax, MultipleNegativesRankingLoss):
        def __init__(self, model: Any, cache: LiveNegativeCache, scale: float, masking: bool):
            super().__init__(model, scale=scale)
            self.cache = cache
            self.masking = masking

        def mask(self, rows: np.ndarray, documents: np.ndarray) -> torch.Tensor:
            """``mask[i, j]``: batch document ``j`` (positives first, then each negative column) counts as a
            positive of row ``i``'s query, other than its own positive ``j == i``."""
            mask = np.zeros((len(rows), len(documents)), dtype=bool)
            for i, query in enumerate(self.cache.pool.rows.query[rows]):
                mask[i] = np.isin(documents, self.cache.positive_documents(int(query))) & (documents >= 0)
                mask[i, i] = False
            return self.count(torch.from_numpy(mask))

        def forward(self, sentence_features, labels):
            features = list(sentence_features)
            if labels is None:
                raise ValueError("the live negative cache needs each row's pool index in the 'label' column")
            rows = labels.detach().cpu().numpy().astype(np.int64).reshape(-1)
            anchors = embed_columns(self.model, features[:1])[0]
            query_vectors = torch.nn.functional.normalize(anchors.detach().float(), dim=-1).cpu().numpy()
            negatives = self.cache.negatives_for(rows, query_vectors)
            texts = self.cache.pool.corpus_texts
            device = anchors.device
            negative_features = [
                batch_to_device(self.model.preprocess([texts[d] for d in negatives[:, j]]), device)
                for j in range(negatives.shape[1])
            ]
            documents = embed_columns(self.model, [features[1], *negative_features], separate_first=False)
            with torch.no_grad():
                fresh = torch.nn.functional.normalize(torch.cat(documents).detach().float(), dim=-1).cpu().numpy()
            indices = np.concatenate([self.cache.pool.rows.positive[rows], *[negatives[:, j] for j in range(negatives.shape[1])]])
            self.cache.write_back(indices, fresh)
            if not self.masking:
                return self.compute_loss_from_embeddings([anchors, *documents], labels)
            return self.masked_loss(anchors, documents, self.mask(rows, indices))

    return CachedNegativesLoss(model, cache, scale, mask_known_positives)


class CacheRefresh(TrainerCallback):
    """Keeps the step counter, re-encodes the ``budget`` stalest rows after every step, and logs the cache.

    Args:
        budget: documents re-encoded per step by the refresher (0: only the write-back refreshes).
        check_steps: every this many steps, re-encode the whole corpus with the current weights
            and record the share of the cache's latest negatives a full refresh would have chosen
            (expensive: a full corpus encode; ``None`` never).
    """

    def __init__(self, cache: LiveNegativeCache, *, budget: int = 0, check_steps: int | None = None):
        if budget < 0:
            raise ValueError(f"budget must be >= 0, got {budget}")
        self.cache, self.budget, self.check_steps = cache, budget, check_steps
        self.history: list[dict[str, Any]] = []
        self.agreement: list[dict[str, Any]] = []
        self._step_start = 0.0
        self._written = 0

    def on_step_begin(self, args, state, control, **kwargs):
        self.cache.step = int(state.global_step)
        self._step_start = time.perf_counter()
        self._written = self.cache.written_back
        return control

    def on_step_end(self, args, state, control, model=None, **kwargs):
        import torch

        step_seconds = time.perf_counter() - self._step_start
        self.cache.step = int(state.global_step)
        texts = self.cache.pool.corpus_texts
        start = time.perf_counter()
        stale = self.cache.table.stalest(self.budget)
        was_training = model.training
        try:
            with torch.no_grad():
                if len(stale):
                    self.cache.table.write(stale, _encode_float32(model, [texts[d] for d in stale]), self.cache.step)
                if self.check_steps and state.global_step % self.check_steps == 0 and self.cache.last is not None:
                    self.agreement.append(self._agreement(model))
        finally:
            model.train(was_training)
        self.history.append(
            {
                "step": int(state.global_step),
                "step_seconds": round(step_seconds, 3),
                "refresh_seconds": round(time.perf_counter() - start, 3),
                "written_back": int(self.cache.written_back - self._written),
                "refreshed": len(stale),
                "age": self.cache.table.ages(self.cache.step),
            }
        )
        return control

    def _agreement(self, model: Any) -> dict[str, Any]:
        """Mine the latest batch's queries again from a table of freshly encoded vectors; compare."""
        last = self.cache.last
        start = time.perf_counter()
        full = EmbeddingTable(_encode_float32(model, list(self.cache.pool.corpus_texts)), dtype=self.cache.table.dtype)
        chosen, _ = self.cache.choose(full, last["queries"], last["vectors"])
        shares = []
        for mine, ref in zip(last["chosen"], chosen):
            ref = ref[ref >= 0]
            if len(ref):
                shares.append(len(np.intersect1d(mine[mine >= 0], ref)) / len(ref))
        return {
            "step": int(last["step"]),
            "queries": len(shares),
            "share_full_refresh_would_choose": round(float(np.mean(shares)), 4) if shares else None,
            "seconds": round(time.perf_counter() - start, 3),
        }

    def summary(self) -> dict[str, Any]:
        """What the training manifest records about the cache."""
        steps = [h["step_seconds"] for h in self.history]
        refresh = [h["refresh_seconds"] for h in self.history]
        return {
            "table_dtype": self.cache.table.dtype,
            "memory_mapped": self.cache.table.memory_mapped,
            "documents": len(self.cache.table),
            "budget": self.budget,
            "every_steps": self.cache.every_steps,
            "mined_queries": self.cache.mined_queries,
            "mean_step_seconds": round(float(np.mean(steps)), 3) if steps else None,
            "mean_refresh_seconds": round(float(np.mean(refresh)), 3) if refresh else None,
            "final_age": self.cache.table.ages(self.cache.step),
            "per_step": self.history,
            "agreement": self.agreement,
        }


def _encode_float32(model: Any, texts: Sequence[str]) -> np.ndarray:
    """Corpus texts as documents (a ``Router`` model takes its document path, as mining encoded them)."""
    from hardneg.encoding.model import task_argument
    from hardneg.encoding.precision import encode_normalised

    return encode_normalised(model, texts, "float32", batch_size=64, show_progress_bar=False, **task_argument(model, "document"))
