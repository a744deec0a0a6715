"""The mining pipeline: data → candidates → scores → filters → selection → writer.

:func:`mine` is the public entry point (``hardneg mine`` calls it with the same parameters).
Queries are processed in batches of ``query_chunk_size``: each batch is searched, filtered,
searched deeper for the queries short of survivors, sampled and written before the next one,
so memory is bounded by the batch, never by queries × corpus.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hardneg.batches import MinedBatches
from hardneg.candidates import BM25Search, Candidates, HybridSearch, RandomCandidates
from hardneg.candidates.approximate import build_dense_search
from hardneg.candidates.base import pad_to
from hardneg.config import MineConfig
from hardneg.data import RetrievalData, load_data
from hardneg.defence import Defence
from hardneg.encode import Encoder, default_cache_dir
from hardneg.engines import BatchResult, make_engine
from hardneg.filters import FilterContext, build_filters
from hardneg.io import write_json_atomic
from hardneg.manifest import build_manifest
from hardneg.model import fingerprint_model, load_model, resolve_model_name
from hardneg.precomputed import PrecomputedEmbeddings
from hardneg.presets import make_config
from hardneg.scoring import BM25Scorer, DenseScorer, NoScorer
from hardneg.selection import SelectionContext, build_selection, id_hashes
from hardneg.summary import format_summary, quantiles
from hardneg.text import normalize_text
from hardneg.writers import MinedBatch, RowBuilder, StreamingWriter, schema_for

logger = logging.getLogger(__name__)


@dataclass
class MineResult:
    config: MineConfig
    summary: dict[str, Any]
    manifest: dict[str, Any]
    out: Path | None = None
    manifest_path: Path | None = None
    table: pa.Table | None = None
    """The rows, when no ``out`` was given."""

    def to_dataset(self):
        """The rows as a ``datasets.Dataset`` (only when mined without ``out``)."""
        import datasets

        if self.table is None:
            raise ValueError("rows were written to a file; load it with datasets.load_dataset or Dataset.from_parquet")
        return datasets.Dataset(self.table)


def mine(
    data: str | Path = "demo",
    out: str | Path | None = None,
    *,
    preset: str | None = None,
    embeddings: PrecomputedEmbeddings | None = None,
    **params: Any,
) -> MineResult:
    """Mine hard negatives for the (query, positive) pairs of ``data``.

    Args:
        data: ``"demo"``, a BEIR folder or a pair file.
        out: ``FILE.parquet``, ``FILE.jsonl`` or a folder (Hugging Face dataset). ``None`` returns
            the rows in :attr:`MineResult.table`.
        preset: a named method from :data:`hardneg.presets.PRESETS` (default ``"default"``).
        embeddings: vectors made elsewhere (:class:`~hardneg.precomputed.PrecomputedEmbeddings`);
            no model is loaded.
        **params: any :class:`~hardneg.config.MineConfig` field; overrides the preset.

    Example:
        >>> result = hardneg.mine("demo", "train.parquet", preset="nv-retriever", seed=1)
        >>> result.summary["queries_short"]
        0
    """
    config = make_config(preset, data=str(data), out=None if out is None else str(out), **params)
    return Miner(config, embeddings=embeddings).run()


@dataclass
class _Timer:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@dataclass
class _Batch:
    """Candidates of a batch of queries and what the filters made of them."""

    queries: np.ndarray
    cands: Candidates
    depth: np.ndarray
    """(queries,) depth each row was searched to."""


class Miner:
    """Runs one mining configuration. Build with a :class:`MineConfig`, then :meth:`run`."""

    def __init__(self, config: MineConfig, *, teacher: Any = None, embeddings: PrecomputedEmbeddings | None = None):
        """``teacher``: an already built :class:`~hardneg.teachers.Teacher` to use instead of ``config.teacher``
        (several runs over the same data can then share its scores). ``embeddings``: precomputed query and
        document embeddings to search instead of encoding with a model."""
        self.config = config
        self.teacher = teacher
        self.embeddings = embeddings
        self.engine = make_engine(config.engine, address=config.ray_address, num_cpus=config.num_cpus)
        self.timer = _Timer()
        self.encoder: Encoder | None = None
        self.model_info: dict[str, Any] | None = None
        self.index_report: dict[str, Any] | None = None
        self.defence: Defence | None = None
        self.observers: list[Any] = []
        """Objects with ``observe(queries, cands, masks, chosen)``, called for every mined batch (the audit uses it)."""

    # --- set-up -----------------------------------------------------------------------------

    def _needs_dense(self) -> bool:
        c = self.config
        if c.sampler in ("dense", "hybrid"):
            return True
        # Random candidates have no scores of their own: score filters and SimANS need the model's.
        return c.sampler == "random" and (c.uses_score_filters or c.selection == "simans")

    def _encode(self, data: RetrievalData) -> tuple[np.ndarray, Any]:
        c = self.config
        if self.embeddings is not None:
            self.embeddings.check(len(data.query_ids), len(data.corpus_ids))
            self.model_info = self.embeddings.model_info()
            return self.embeddings.queries.to_array(), self.embeddings.documents
        with self.timer("load_model"):
            model = load_model(
                c.model,
                device=c.device,
                max_seq_length=c.max_seq_length,
                trust_remote_code=c.trust_remote_code,
                show_progress=c.show_progress,
            )
            fingerprint = fingerprint_model(model)
        self.model_info = {
            "model": resolve_model_name(c.model),
            "fingerprint": fingerprint,
            "max_seq_length": model.max_seq_length,
            "query_prompt": c.query_prompt,
            "document_prompt": c.document_prompt,
            "precision": c.precision,
        }
        cache = Path(c.cache_dir) if c.cache_dir else default_cache_dir()
        self.encoder = Encoder(
            model,
            fingerprint,
            batch_size=c.batch_size,
            query_prompt=c.query_prompt,
            document_prompt=c.document_prompt,
            cache_dir=cache if c.use_cache else None,
            shard_size=c.shard_size,
            show_progress=c.show_progress,
            precision=c.precision,
        )
        with self.timer("encode"):
            queries = self.engine.encode(self.encoder, data.query_texts, "query").to_array()
            docs = self.engine.encode(self.encoder, data.corpus_texts, "document")
        return queries, docs

    def _build_source(self, data: RetrievalData, query_hashes: np.ndarray):
        c = self.config
        queries = docs = None
        if self._needs_dense():
            queries, docs = self._encode(data)
        bm25 = None
        if c.sampler in ("bm25", "hybrid"):
            with self.timer("index"):
                bm25 = BM25Search(
                    data.corpus_texts,
                    data.query_texts,
                    k1=c.bm25_k1,
                    b=c.bm25_b,
                    stemmer=c.bm25_stemmer or None,
                    show_progress=c.show_progress,
                )
        dense, self.index_report = self._dense_search(queries, docs) if queries is not None else (None, None)
        dense_scorer = DenseScorer(queries, docs) if queries is not None else None
        if c.sampler == "dense":
            return dense, dense_scorer
        if c.sampler == "bm25":
            return bm25, BM25Scorer(bm25)
        if c.sampler == "hybrid":
            return HybridSearch(dense, bm25, dense_scorer, rrf_k=c.rrf_k), dense_scorer
        if c.sampler == "random":
            return RandomCandidates(len(data.corpus_ids), query_hashes, seed=c.seed), dense_scorer or NoScorer()
        return None, NoScorer()

    def _dense_search(self, queries: np.ndarray, docs: Any):
        """Exact search, or the configured approximate index with its recall measured (hardneg.candidates.approximate)."""
        c = self.config
        cache = (Path(c.cache_dir) if c.cache_dir else default_cache_dir()) if c.use_cache else None
        with self.timer("index"):
            return build_dense_search(
                queries,
                docs,
                index=c.index,
                nprobe=c.nprobe,
                ef_search=c.ef_search,
                query_chunk_size=c.query_chunk_size,
                cache_dir=cache,
                recall_sample=c.recall_sample,
                recall_k=c.effective_range_max or 100,
                seed=c.seed,
            )

    # --- the run ----------------------------------------------------------------------------

    def run(self, data: RetrievalData | None = None) -> MineResult:
        """Mine ``data`` (default: load ``config.data``)."""
        c = self.config
        start = time.perf_counter()
        with self.timer("load_data"):
            if data is None:
                data = load_configured_data(c)
            self.data = data
            self.query_hashes = id_hashes(data.query_ids)
            self.doc_hashes = id_hashes(data.corpus_ids)
            groups: dict[str, int] = {}
            self.group = np.array([groups.setdefault(normalize_text(t), len(groups)) for t in data.corpus_texts], dtype=np.int64)
            self.n_groups = max(1, len(groups))
            group_sizes = np.bincount(self.group, minlength=self.n_groups)
            # A query's known positives include those of every query with the same normalised text:
            # one query's positive must never be a negative of its textual twin.
            by_text: dict[str, list[int]] = {}
            for q, text in enumerate(data.query_texts):
                by_text.setdefault(normalize_text(text), []).append(q)
            self.known_positives = [list(p) for p in data.positives]
            for twins in (t for t in by_text.values() if len(t) > 1):
                union = list(dict.fromkeys(d for q in twins for d in data.positives[q]))
                for q in twins:
                    self.known_positives[q] = union
            self.text_positive_count = np.array(
                [int(group_sizes[np.unique(self.group[p])].sum()) for p in self.known_positives], dtype=np.int64
            )
        self.source, self.scorer = self._build_source(data, self.query_hashes)
        # --- false-negative defence: teacher, near duplicates, leakage guard, RocketQA filters ---
        with self.timer("defence"):
            cache = Path(c.cache_dir) if c.cache_dir else default_cache_dir()
            self.defence = Defence.from_config(c, data, cache_dir=cache, teacher=self.teacher)
        self.filters = (self.defence.filters if self.defence else []) + build_filters(
            range_min=c.range_min,
            max_score=c.max_score,
            min_score=c.min_score,
            absolute_margin=c.absolute_margin,
            relative_margin=c.relative_margin,
        )
        self.selection = build_selection(
            c.selection, seed=c.seed, simans_a=c.simans_a, simans_b=c.simans_b, simans_normalize=c.simans_normalize
        )
        n = c.num_negatives if c.sampler != "none" else 0
        sources = self.defence is not None and self.defence.promotes
        builder = RowBuilder(data, c.output_format, n, c.include_scores, positive_sources=sources)
        schema = schema_for(c.output_format, n, c.include_scores, positive_sources=sources)
        stats = self._new_stats()

        batches = MinedBatches(self, n, stats, self.engine)  # resumes a killed run
        progress = _progress(batches, c.show_progress and len(batches) > 1, "mining")
        writer = StreamingWriter(c.out, schema) if c.out else None
        tables: list[pa.Table] = []
        if writer:
            writer.__enter__()
        try:
            for mined in progress:
                with self.timer("write"):
                    rows = builder.rows(mined)
                    if writer:
                        writer.write(rows)
                    elif rows:
                        tables.append(pa.Table.from_pylist(rows, schema=schema))
        except BaseException as exc:
            if writer:
                writer.__exit__(type(exc), exc, exc.__traceback__)
            raise
        if writer:
            with self.timer("write"):
                writer.__exit__(None, None, None)
        batches.finish()
        rows_written = writer.rows_written if writer else sum(t.num_rows for t in tables)

        seconds = {k: round(v, 3) for k, v in self.timer.seconds.items()}
        seconds["total"] = round(time.perf_counter() - start, 3)
        summary = stats.summary(data, n, rows_written, builder, self.encoder, seconds)
        model_info = self.model_info
        # --- false-negative defence: what it did, the teacher in the manifest, the audit ---
        summary["score_space"] = (
            self.defence.score_space(self.scorer.name, c.teacher_score_filters) if self.defence else self.scorer.name
        )
        if self.defence is not None:
            summary.update(self.defence.summary())
            if self.defence.teacher is not None:
                model_info = {**(model_info or {}), "teacher": self.defence.teacher_info()}
        if c.audit:
            from hardneg.audit import audit_config

            summary["audit"] = audit_config(c, data).to_dict()
        summary["batches_resumed"] = batches.reused
        if self.index_report:
            summary["index"] = self.index_report
        manifest = build_manifest(
            command="mine",
            parameters=c.to_dict(),
            inputs=data.inputs,
            model=model_info,
            outputs={"out": c.out} if c.out else {},
            summary=summary,
        )
        result = MineResult(config=c, summary=summary, manifest=manifest)
        if c.out:
            result.out = Path(c.out)
            result.manifest_path = manifest_path_for(c.out)
            write_json_atomic(result.manifest_path, manifest)
        else:
            result.table = pa.concat_tables(tables) if tables else schema.empty_table()
        if c.show_progress:
            print(format_summary(summary), file=sys.stderr)
        return result

    # --- one batch --------------------------------------------------------------------------

    def mine_queries(self, queries: np.ndarray, n: int) -> BatchResult:
        """Mine one batch of queries on its own, with its own counters and timings.

        Every engine runs this for each batch (the Ray engine in its workers), so a batch's rows
        are the same wherever it was mined.
        """
        timer, self.timer = self.timer, _Timer()
        try:
            stats = self._new_stats()
            mined = self._mine_batch(queries, n, stats)
            return BatchResult(mined, stats, self.timer.seconds)
        finally:
            self.timer = timer

    def _new_stats(self) -> _Stats:
        return _Stats([*(self.defence.mask_names if self.defence else []), *(f.name for f in self.filters)])

    def _mine_batch(self, queries: np.ndarray, n: int, stats: _Stats) -> MinedBatch:
        data, c = self.data, self.config
        positives = np.full((len(queries), max(len(data.positives[q]) for q in queries)), -1, dtype=np.int64)
        for row, q in enumerate(queries):
            positives[row, : len(data.positives[q])] = data.positives[q]
        with self.timer("score"):
            pos_scores = self.scorer.score(queries, positives)
        reference = np.where(positives >= 0, pos_scores, np.inf).min(axis=1)
        positive_scores = [pos_scores[row, : len(data.positives[q])] for row, q in enumerate(queries)]
        if self.source is None:  # pairs only
            empty = np.zeros((len(queries), 0))
            return MinedBatch(
                queries,
                positive_scores,
                empty.astype(np.int64),
                empty.astype(np.float32),
                empty.astype(np.int64),
                empty.astype(np.float32),
                empty.astype(bool),
            )

        window_end = c.effective_range_max
        limit = len(data.corpus_ids) if c.max_depth is None else min(c.max_depth, len(data.corpus_ids))
        extra = int(self.text_positive_count[queries].max())
        if window_end is not None:
            depth = window_end + extra
        else:
            depth = c.range_min + extra + n * (10 if c.uses_score_filters else 1)
        depth = min(depth, limit)

        cands = self._search(queries, depth)
        searched = np.full(len(queries), depth)
        # Each query's rank window; widened (doubled) for a query whose full window holds too few survivors.
        window = None if window_end is None else np.full(len(queries), window_end, dtype=np.int64)
        masks = self._evaluate(queries, cands, reference, window)
        while True:
            pending, widen = self._pending(masks, searched, n, window, limit)
            if not pending.any():
                break
            if widen.any():
                window[widen] *= 2
                stats.widened.extend(int(q) for q in queries[widen])
            depth = min(depth * 2, limit)
            rows = np.nonzero(pending)[0]
            deeper = self._search(queries[rows], depth)
            cands = pad_to(cands, depth)
            cands.indices[rows], cands.scores[rows] = deeper.indices, deeper.scores
            searched[rows] = depth
            masks = self._evaluate(queries, cands, reference, window)

        scores = masks["scores"]  # the teacher's when there is one
        if masks["positive_scores"] is not None:
            positive_scores = [masks["positive_scores"][row, : len(data.positives[q])] for row, q in enumerate(queries)]
        with self.timer("select"):
            ctx = SelectionContext(
                keep=masks["keep"],
                scores=scores,
                positive_score=masks["reference"],
                query_hash=self.query_hashes[queries],
                doc_hash=self.doc_hashes[np.maximum(cands.indices, 0)],
            )
            chosen = self.selection.select(ctx, n)
            ok = chosen >= 0
            safe = np.where(ok, chosen, 0)
            negatives = np.where(ok, np.take_along_axis(cands.indices, safe, 1), -1)
            negative_scores = np.where(ok, np.take_along_axis(scores, safe, 1), np.nan).astype(np.float32)
        stats.add(queries, data, masks, positive_scores, negative_scores[ok], ok.sum(1), n)
        for observer in self.observers:
            observer.observe(queries, cands, masks, negatives)
        promoted, promoted_scores = (
            self.defence.promoted_of(cands.indices, masks["teacher_scores"], masks["dropped"]) if self.defence else (None, None)
        )
        in_window = masks["in_window"]
        return MinedBatch(
            queries,
            positive_scores,
            negatives,
            negative_scores,
            np.where(in_window, cands.indices, -1),
            scores,
            masks["keep"],
            promoted=promoted,
            promoted_scores=promoted_scores,
        )

    def _search(self, queries: np.ndarray, depth: int) -> Candidates:
        with self.timer("search"):
            cands = self.source.search(queries, depth)
        if self.config.sampler == "random" and not isinstance(self.scorer, NoScorer):
            with self.timer("score"):
                cands.scores = self.scorer.score(queries, cands.indices)
        return cands

    def _evaluate(self, queries: np.ndarray, cands: Candidates, reference: np.ndarray, window: np.ndarray | None) -> dict:
        """Masks over the candidates: known positives, the rank window, and each filter's verdict."""
        with self.timer("filter"):
            data = self.data
            idx = cands.indices
            valid = idx >= 0
            safe = np.maximum(idx, 0)
            n_docs = len(data.corpus_ids)
            q_col = queries[:, None].astype(np.int64)
            pos_rows = [(q, d) for q in queries for d in self.known_positives[q]]
            pos_q = np.array([p[0] for p in pos_rows], dtype=np.int64)
            pos_d = np.array([p[1] for p in pos_rows], dtype=np.int64)
            is_pos_id = valid & np.isin(q_col * n_docs + safe, pos_q * n_docs + pos_d)
            is_pos_text = (
                valid & ~is_pos_id & np.isin(q_col * self.n_groups + self.group[safe], pos_q * self.n_groups + self.group[pos_d])
            )
            # --- false-negative defence: near duplicates of a positive count as positives ---
            dropped = {}
            near_dup = np.zeros_like(valid)
            if self.defence is not None and self.defence.near_duplicates is not None:
                near_dup = dropped["near_duplicate"] = self.defence.near_duplicate_mask(
                    queries, idx, valid & ~is_pos_id & ~is_pos_text
                )
            nonpos = valid & ~is_pos_id & ~is_pos_text & ~near_dup
            ranks = np.cumsum(nonpos, axis=1) - 1
            in_window = nonpos & (ranks < window[:, None]) if window is not None else nonpos
            # --- false-negative defence: the teacher rescores the window; filters use its scores ---
            scores, positive_scores, teacher_scores = cands.scores, None, None
            if self.defence is not None and self.defence.teacher is not None:
                with self.timer("teacher"):
                    teacher_scores, teacher_positive_scores = self.defence.rescore(queries, idx, in_window)
                if self.config.teacher_score_filters:
                    scores, positive_scores = teacher_scores, teacher_positive_scores
                    reference = np.where(np.isfinite(positive_scores), positive_scores, np.inf).min(axis=1)
            ctx = FilterContext(scores=scores, ranks=ranks, positive_score=reference, indices=idx, teacher_scores=teacher_scores)
            keep = in_window.copy()
            for f in self.filters:
                verdict = f.keep(ctx)
                dropped[f.name] = keep & ~verdict
                keep &= verdict
            return {
                "valid": valid,
                "is_pos_id": is_pos_id,
                "is_pos_text": is_pos_text,
                "nonpos": nonpos,
                "in_window": in_window,
                "keep": keep,
                "dropped": dropped,
                "scores": scores,
                "positive_scores": positive_scores,
                "reference": reference,
                "teacher_scores": teacher_scores,
            }

    def _pending(
        self, masks: dict, searched: np.ndarray, n: int, window: np.ndarray | None, limit: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows to search deeper, and among them those whose rank window must widen.

        A row is done when it has ``n`` survivors (``top`` needs no more; ``random``/``simans`` also
        need their whole window, the pool they draw from), or when nothing deeper can be found. A
        full window with fewer than ``n`` survivors widens, unless ``extend_window`` is off.
        """
        exhausted = (masks["valid"].sum(1) < searched) | (searched >= limit)
        enough = masks["keep"].sum(1) >= n
        if window is None:
            return ~(exhausted | enough), np.zeros(len(searched), bool)
        window_full = masks["nonpos"].sum(1) >= window
        widen = window_full & ~enough & ~exhausted & self.config.extend_window
        if self.config.selection == "top":
            done = exhausted | enough | (window_full & ~widen)
        else:
            done = exhausted | (window_full & ~widen)
        return ~done, widen


class _Stats:
    def __init__(self, filter_names: list[str]):
        self.dropped = {"known_positive_id": 0, "known_positive_text": 0, **{name: 0 for name in filter_names}}
        self.pos_scores: list[np.ndarray] = []
        self.neg_scores: list[np.ndarray] = []
        self.short_ids: list[str] = []
        self.widened: list[int] = []  # query indices whose window widened (a query may repeat)
        self.negatives_found = 0

    def add(self, queries, data, masks, positive_scores, negative_scores, found, n) -> None:
        self.dropped["known_positive_id"] += int(masks["is_pos_id"].sum())
        self.dropped["known_positive_text"] += int(masks["is_pos_text"].sum())
        for name, mask in masks["dropped"].items():
            self.dropped[name] += int(mask.sum())
        self.pos_scores.extend(positive_scores)
        self.neg_scores.append(negative_scores)
        self.negatives_found += int(found.sum())
        self.short_ids.extend(data.query_ids[q] for q, f in zip(queries, found) if f < n)

    def summary(
        self, data: RetrievalData, n: int, rows: int, builder: RowBuilder, encoder: Encoder | None, seconds: dict[str, float]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "queries": len(data.query_ids),
            "pairs": data.num_pairs,
            "documents": len(data.corpus_ids),
            "rows": rows,
            "negatives_per_query": n,
            "negatives_found": self.negatives_found,
            "queries_short": len(self.short_ids),
            "queries_window_widened": len(set(self.widened)),
            "short_query_ids": self.short_ids,
            "pairs_dropped": builder.dropped_pairs,
            "rows_padded": builder.padded_rows,
            "skipped_input": data.skipped,
            "positive_scores": quantiles(np.concatenate(self.pos_scores)) if self.pos_scores else None,
            "negative_scores": quantiles(np.concatenate(self.neg_scores)) if self.neg_scores else None,
            "dropped": self.dropped if n else {},
            "seconds": seconds,
        }
        if encoder is not None:
            out["texts_encoded"] = encoder.stats.encoded
            out["texts_from_cache"] = encoder.stats.cached
        return out


def load_configured_data(c: MineConfig) -> RetrievalData:
    """The data a mining configuration names (its ``data``, ``split``, columns and ``on_error``)."""
    return load_data(
        c.data,
        split=c.split,
        anchor_column=c.anchor_column,
        positive_column=c.positive_column,
        corpus=c.corpus,
        on_error=c.on_error,
    )


def manifest_path_for(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".manifest.json")


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, unit="batch")
