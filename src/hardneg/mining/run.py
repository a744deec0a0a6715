"""One mining run: set up the stages, mine every query batch, write the rows, summarise.

:class:`Miner` loads the data and the model, encodes (through the engine and the embedding
cache), builds the candidate source, the false-negative defence, the filters and the selection
into a :class:`~hardneg.mining.batch.BatchMiner`, and streams the batches an engine mines
(:class:`~hardneg.mining.batches.MinedBatches`, which also resumes a killed run) into the writer.
Queries are processed in batches of ``query_chunk_size``, so memory is bounded by the batch,
never by queries × corpus.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hardneg.candidates.factory import build_source, needs_dense
from hardneg.candidates.options import SAMPLERS
from hardneg.candidates.retriever import DenseRetriever
from hardneg.data import RetrievalData
from hardneg.encoding.encode import Encoder
from hardneg.encoding.precomputed import PrecomputedEmbeddings
from hardneg.engines import make_engine
from hardneg.io import write_json_atomic
from hardneg.mining.batch import BatchMiner, Timer
from hardneg.mining.batches import MinedBatches
from hardneg.mining.config import MineConfig
from hardneg.mining.rule import build_miner
from hardneg.mining.summary import format_summary
from hardneg.options import EncodingOptions, values_of
from hardneg.outputs import OutputGuard, build_manifest, manifest_path_for
from hardneg.selection import id_hashes
from hardneg.writers import RowBuilder, StreamingWriter, container_of

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

    def record(self, key: str, value: Any) -> None:
        """Add ``key`` to the summary (and to the manifest on disk, when there is one)."""
        self.summary[key] = value
        self.manifest["summary"] = self.summary
        if self.manifest_path is not None:
            write_json_atomic(self.manifest_path, self.manifest)


__all__ = ["MineResult", "Miner", "manifest_path_for", "output_guard"]


def output_guard(config: MineConfig) -> OutputGuard:
    """The :class:`~hardneg.outputs.OutputGuard` of a run's ``out``: checked before any model loads.

    Every file and folder the run reads is an input the output may not be (or hold).
    """
    from hardneg.data import DEMO_NAME

    c = config
    container_of(c.out)  # an unsupported suffix is refused now, not after mining
    inputs: list[str | None] = [None if c.data == DEMO_NAME else c.data, c.corpus, str(c.cache_root)]
    inputs += [p for p in (c.model, *(c.teacher or "").split(","), *(c.exclude_qrels or "").split(",")) if p and Path(p).exists()]
    return OutputGuard(c.out, "mine", inputs=inputs, overwrite=c.overwrite)


class Miner:
    """Runs one mining configuration. Build with a :class:`MineConfig`, then :meth:`run`."""

    def __init__(
        self,
        config: MineConfig,
        *,
        teacher: Any = None,
        embeddings: PrecomputedEmbeddings | None = None,
        log_summary: bool = True,
        model: Any = None,
        encoded_by: Miner | None = None,
    ):
        """``teacher``: an already built :class:`~hardneg.teachers.Teacher` to use instead of ``config.teacher``
        (several runs over the same data can then share its scores). ``embeddings``: precomputed query and
        document embeddings to search instead of encoding with a model. ``log_summary``: log the end-of-run
        summary at INFO (``False``: at DEBUG, for a run inside another command, such as the audit's).
        ``model``: a loaded ``SentenceTransformer`` to encode with instead of loading ``config.model`` (which
        then only names it). ``encoded_by``: a miner that already encoded the same texts with the same model (the
        tuner of ``--preset auto``): its vectors are used, so nothing is encoded twice, cache or not."""
        self.config = config
        self.encoded_by = encoded_by
        self.dense: tuple[np.ndarray, Any] | None = None
        self.log_summary = log_summary
        self.teacher = teacher
        self.embeddings = embeddings
        self.model = model
        self.engine = make_engine(config.engine, address=config.ray_address, num_cpus=config.num_cpus)
        self.timer = Timer()
        self.encoder: Encoder | None = None
        self.model_info: dict[str, Any] | None = None
        self.observers: list[Any] = []
        """Objects with ``observe(mined)``, called with every :class:`~hardneg.mined.MinedBatch` (the audit uses it)."""
        self.batch_miner: BatchMiner | None = None

    # --- set-up -----------------------------------------------------------------------------

    def _encode(self, data: RetrievalData) -> tuple[np.ndarray, Any]:
        c = self.config
        if self.encoded_by is not None and self.encoded_by.dense is not None:
            self.encoder, self.model_info = self.encoded_by.encoder, self.encoded_by.model_info
            return self.encoded_by.dense
        if self.embeddings is not None:
            self.embeddings.check(len(data.query_ids), len(data.corpus_ids))
            self.model_info = self.embeddings.model_info()
            return self.embeddings.queries.to_array(), self.embeddings.documents
        options = EncodingOptions(**values_of(c, EncodingOptions))
        with self.timer("load_model"):
            if self.model is not None:
                if c.max_seq_length is not None:
                    self.model.max_seq_length = int(c.max_seq_length)
                retriever = DenseRetriever(self.model, options, shard_size=c.shard_size)
            else:
                retriever = DenseRetriever.load(options, shard_size=c.shard_size)
        self.encoder, self.model_info = retriever.encoder, retriever.info
        with self.timer("encode"):
            queries = self.engine.encode(self.encoder, data.query_texts, "query").to_array()
            docs = self.engine.encode(self.encoder, data.corpus_texts, "document")
        logger.debug(
            "encoded %d queries and %d documents (dimension %d) in %.2f s; %d texts encoded, %d from the cache",
            len(data.query_texts), len(data.corpus_texts), queries.shape[1], self.timer.seconds["encode"],
            self.encoder.stats.encoded, self.encoder.stats.cached,
        )  # fmt: skip
        return queries, docs

    def prepare(self, data: RetrievalData) -> BatchMiner:
        """Encode, build the candidate source, the defence, the filters and the selection for ``data``."""
        c = self.config
        dense_needed = needs_dense(c.sampler, score_filters=c.uses_score_filters, selection=c.selection)
        dense = self.dense = self._encode(data) if dense_needed else None
        source, scorer, self.index_report = build_source(
            c,
            data,
            seed=c.seed,
            query_hashes=id_hashes(data.query_ids),
            dense=dense,
            recall_k=c.effective_range_max or 100,
            query_chunk_size=c.query_chunk_size,
            show_progress=c.show_progress,
            cache_dir=c.cache_root if c.use_cache else None,
            timer=self.timer,
        )
        logger.debug("candidate source %s (scores: %s), index %s", c.sampler, scorer.name, c.index if dense_needed else "-")
        # --- false-negative defence (teacher, near duplicates, leakage guard, RocketQA filters), filters, selection ---
        miner = build_miner(c, data, source=source, scorer=scorer, teacher=self.teacher, cache_dir=c.cache_root, timer=self.timer)
        miner.observers = self.observers
        return miner

    # --- the run ----------------------------------------------------------------------------

    def run(self, data: RetrievalData | None = None) -> MineResult:
        """Mine ``data`` (default: load ``config.data``).

        With an ``out``, the target is checked, locked and claimed (:class:`~hardneg.outputs.OutputGuard`)
        before anything is loaded.
        """
        c = self.config
        with output_guard(c) if c.out else nullcontext():
            start = time.perf_counter()
            with self.timer("load_data"):
                if data is None:
                    data = c.load_data()
            logger.debug(
                "data %s: %d queries, %d documents, %d pairs, loaded in %.2f s",
                c.data, len(data.query_ids), len(data.corpus_ids), data.num_pairs, self.timer.seconds["load_data"],
            )  # fmt: skip
            c.check_against(data)
            self.batch_miner = miner = self.prepare(data)
            n = c.num_negatives if SAMPLERS[c.sampler].mines else 0
            logger.debug(
                "filters: %s; selection %s; %d negatives per query", ", ".join(miner.filter_names) or "none", c.selection, n
            )
            sources = miner.defence is not None and miner.defence.promotes
            scores = c.include_scores or (c.output_format == "flagembedding" and bool(c.teacher) and c.teacher_score_filters)
            teacher_scores = miner.defence is not None and miner.defence.teacher is not None
            builder = RowBuilder(data, c.output_format, n, scores, positive_sources=sources, teacher_scores=teacher_scores)
            stats = miner.new_stats()

            batches = MinedBatches(self, n, stats, self.engine, inputs=data.inputs)  # resumes a killed run
            rows_written, table = self._write(batches, builder)

            seconds = {k: round(v, 3) for k, v in self.timer.seconds.items()}
            seconds["total"] = round(time.perf_counter() - start, 3)
            summary = stats.summary(data, n, rows_written, builder, self.encoder, seconds)
            model_info = self.model_info
            # --- false-negative defence: what it did, the teacher in the manifest ---
            defence = miner.defence
            summary["score_space"] = (
                defence.score_space(miner.scorer.name, c.teacher_score_filters) if defence else miner.scorer.name
            )
            if defence is not None:
                summary.update(defence.summary(promoted=stats.dropped.get("promote", 0)))
                if defence.teacher is not None:
                    model_info = {**(model_info or {}), "teacher": defence.teacher.info()}
            if c.extra_positives:
                summary["extra_positives"] = data.extra_positives
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
            result = MineResult(config=c, summary=summary, manifest=manifest, table=table)
            if c.out:
                result.out = Path(c.out)
                result.manifest_path = manifest_path_for(c.out)
                write_json_atomic(result.manifest_path, manifest)
            logger.log(logging.INFO if self.log_summary else logging.DEBUG, "%s", format_summary(summary))
            return result

    def _write(self, batches: MinedBatches, builder: RowBuilder) -> tuple[int, pa.Table | None]:
        """Stream every batch's rows to ``config.out`` (or collect them in a table); the number of rows."""
        c, schema = self.config, builder.schema
        progress = _progress(batches, c.show_progress and len(batches) > 1, "mining")
        if not c.out:
            tables = []
            for mined in progress:
                with self.timer("write"):
                    rows = builder.rows(mined)
                    if rows:
                        tables.append(pa.Table.from_pylist(rows, schema=schema))
            batches.finish()
            table = pa.concat_tables(tables) if tables else schema.empty_table()
            return table.num_rows, table
        with StreamingWriter(c.out, schema) as writer:  # renamed into place only when every batch is written
            for mined in progress:
                with self.timer("write"):
                    writer.write(builder.rows(mined))
        batches.finish()
        return writer.rows_written, None


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, unit="batch")
