"""Writing mined rows: sentence-transformers formats, FlagEmbedding and Tevatron JSONL, and id-based candidates.

Each format's columns and row builder are its entry in :data:`hardneg.formats.FORMATS`; this module
runs the builder over each mined batch and writes the rows. Rows are built per batch of queries and
streamed to a temporary file that replaces the output in one step at the end. The container follows the output name: ``.parquet``, ``.jsonl``, or any
other name for a Hugging Face ``datasets`` folder (``Dataset.load_from_disk``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hardneg.data import RetrievalData
from hardneg.errors import ConfigError
from hardneg.formats import Layout, format_named
from hardneg.io import atomic_path
from hardneg.mined import MinedBatch


class RowBuilder:
    """Turns a :class:`~hardneg.mined.MinedBatch` into rows of one output format (its builder in
    :data:`hardneg.formats.FORMATS`), counting the rows padded and the pairs left without a row.

    ``positive_sources`` adds where each positive came from (``labelled`` or ``promoted``): a ``positive_source``
    column, ``pos_sources`` for FlagEmbedding, ``positive_sources`` for Tevatron, and ``promoted_ids`` /
    ``promoted_scores`` for candidates. ``teacher_scores`` adds the teacher's score of each candidate
    (``candidate_teacher_scores``) to candidates. :attr:`schema` holds the columns
    (:meth:`hardneg.formats.Format.schema`), with ``data``'s :attr:`~hardneg.data.RetrievalData.query_fields` as
    FlagEmbedding columns (their types as pyarrow infers them).
    """

    def __init__(
        self,
        data: RetrievalData,
        output_format: str,
        num_negatives: int,
        include_scores: bool,
        *,
        positive_sources: bool = False,
        teacher_scores: bool = False,
    ):
        self.data, self.format, self.n, self.scores = data, output_format, num_negatives, include_scores
        self.sources = positive_sources
        self.padded_rows = 0
        self.dropped_pairs = 0
        fmt = format_named(output_format)
        self._build = fmt.build
        fields = data.query_fields or []
        names = list(dict.fromkeys(k for f in fields for k in f))
        types = tuple((name, pa.array([f.get(name) for f in fields]).type) for name in names)
        self.schema: pa.Schema = fmt.schema(Layout(num_negatives, include_scores, positive_sources, teacher_scores, types))

    def rows(self, batch: MinedBatch) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i, q in enumerate(batch.queries):
            valid = batch.negatives[i] >= 0
            negs = batch.negatives[i][valid].tolist()
            neg_scores = batch.negative_scores[i][valid].tolist()
            out.extend(self._build(self, batch, i, int(q), negs, neg_scores))
        return out


def container_of(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix in ("", ".hf", ".arrow", ".dataset"):
        return "hf"
    raise ConfigError(
        f"output {str(path)!r}: use a .parquet or .jsonl file, or a folder name (no suffix) for a Hugging Face dataset"
    )


class StreamingWriter:
    """Writes row batches to ``path`` atomically; use as a context manager."""

    def __init__(self, path: str | os.PathLike, schema: pa.Schema):
        self.path, self.schema = Path(path), schema
        self.container = container_of(path)
        self.rows_written = 0

    def __enter__(self) -> StreamingWriter:
        self._ctx = atomic_path(self.path, directory=self.container == "hf")
        self._tmp = self._ctx.__enter__()
        self._parquet_path = self._tmp / "data.parquet" if self.container == "hf" else self._tmp
        if self.container == "jsonl":
            self._fh = open(self._tmp, "w", encoding="utf-8")
        else:
            self._pq = pq.ParquetWriter(self._parquet_path, self.schema)
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.container == "jsonl":
            self._fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        else:
            self._pq.write_table(pa.Table.from_pylist(rows, schema=self.schema))
        self.rows_written += len(rows)

    def write_table(self, table: pa.Table) -> None:
        """Write a table of rows in this writer's columns (a chunk mined and shaped elsewhere)."""
        if self.container == "jsonl":
            self.write(table.to_pylist())
            return
        self._pq.write_table(table.select(self.schema.names).cast(self.schema))
        self.rows_written += table.num_rows

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._close(finished=exc_type is None)
        except BaseException:  # closing flushes the last rows: a full disk shows here too
            self._ctx.__exit__(*sys.exc_info())  # removes the partial output (and names it on a full disk)
            raise
        self._ctx.__exit__(exc_type, exc, tb)

    def _close(self, *, finished: bool) -> None:
        if self.container == "jsonl":
            self._fh.close()
            return
        self._pq.close()
        if self.container == "hf" and finished:
            import datasets

            table = pq.read_table(self._parquet_path)
            staging = self._tmp.with_name(self._tmp.name + "-ds")
            try:
                datasets.Dataset(table).save_to_disk(str(staging))
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            self._parquet_path.unlink()
            self._tmp.rmdir()
            os.replace(staging, self._tmp)
