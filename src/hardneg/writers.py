"""Writing mined rows: sentence-transformers formats, FlagEmbedding and Tevatron JSONL, and id-based candidates.

Columns follow what each trainer reads. The sentence-transformers formats are laid out as
``sentence_transformers.util.mine_hard_negatives`` lays them out: scores go in a ``scores`` column
(n-tuple, triplet), and in ``labeled-pair`` / ``labeled-list`` the score *replaces* the label
(``score`` / ``scores``), since the trainer passes that one column to the loss as its label.

Rows are built per batch of queries and streamed to a temporary file that replaces the output in
one step at the end. The container follows the output name: ``.parquet``, ``.jsonl``, or any
other name for a Hugging Face ``datasets`` folder (``Dataset.load_from_disk``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hardneg.data import RetrievalData
from hardneg.errors import ConfigError
from hardneg.filters import VERDICTS
from hardneg.io import atomic_path
from hardneg.mined import MinedBatch


def _f(x: float) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def _pad_negatives(negs: list[int], n: int) -> list[int]:
    """A short list repeated cyclically up to ``n`` (a fixed-width row needs every column)."""
    return [negs[i % len(negs)] for i in range(n)] if negs else []


class RowBuilder:
    """Turns a :class:`~hardneg.mined.MinedBatch` into rows of one output format."""

    def __init__(
        self, data: RetrievalData, output_format: str, num_negatives: int, include_scores: bool, *, positive_sources: bool = False
    ):
        self.data, self.format, self.n, self.scores = data, output_format, num_negatives, include_scores
        self.sources = positive_sources
        """Add whether each positive is ``labelled`` or ``promoted`` (see :func:`schema_for`)."""
        self.padded_rows = 0
        self.dropped_pairs = 0

    def _positives(self, batch: MinedBatch, i: int, q: int) -> tuple[list[int], list[float], list[str]]:
        """The query's positives, their scores and sources: the labelled ones, then any promoted ones."""
        docs, scores = list(self.data.positives[q]), list(batch.positive_scores[i])
        sources = ["labelled"] * len(docs)
        if batch.promoted is not None:
            docs += batch.promoted[i].tolist()
            scores += batch.promoted_scores[i].tolist()
            sources += ["promoted"] * len(batch.promoted[i])
        return docs, scores, sources

    def rows(self, batch: MinedBatch) -> list[dict[str, Any]]:
        method = getattr(self, "_" + self.format.replace("-", "_"))
        out: list[dict[str, Any]] = []
        for i, q in enumerate(batch.queries):
            valid = batch.negatives[i] >= 0
            negs = batch.negatives[i][valid].tolist()
            neg_scores = batch.negative_scores[i][valid].tolist()
            out.extend(method(batch, i, int(q), negs, neg_scores))
        return out

    # one row per (query, positive)
    def _n_tuple(self, batch, i, q, negs, neg_scores):
        texts, query = self.data.corpus_texts, self.data.query_texts[q]
        positives, pos_scores, sources = self._positives(batch, i, q)
        if self.n and not negs:
            self.dropped_pairs += len(positives)
            return []
        if self.n and len(negs) < self.n:
            self.padded_rows += len(positives)
            order = _pad_negatives(list(range(len(negs))), self.n)
            negs, neg_scores = [negs[j] for j in order], [neg_scores[j] for j in order]
        rows = []
        for p, pos in enumerate(positives):
            row = {"anchor": query, "positive": texts[pos]}
            for j, d in enumerate(negs, start=1):
                row[f"negative_{j}"] = texts[d]
            if self.scores:
                row["scores"] = [_f(pos_scores[p])] + [_f(s) for s in neg_scores]
            if self.sources:
                row["positive_source"] = sources[p]
            rows.append(row)
        return rows

    def _triplet(self, batch, i, q, negs, neg_scores):
        texts, query = self.data.corpus_texts, self.data.query_texts[q]
        positives, pos_scores, sources = self._positives(batch, i, q)
        if not negs:
            self.dropped_pairs += len(positives)
        rows = []
        for p, pos in enumerate(positives):
            for d, s in zip(negs, neg_scores):
                row = {"anchor": query, "positive": texts[pos], "negative": texts[d]}
                if self.scores:
                    row["scores"] = [_f(pos_scores[p]), _f(s)]
                if self.sources:
                    row["positive_source"] = sources[p]
                rows.append(row)
        return rows

    def _labeled_pair(self, batch, i, q, negs, neg_scores):
        texts, query = self.data.corpus_texts, self.data.query_texts[q]
        positives, pos_scores, sources = self._positives(batch, i, q)
        items = list(zip(positives, [1] * len(positives), pos_scores, sources))
        items += [(d, 0, s, None) for d, s in zip(negs, neg_scores)]
        rows = []
        for doc, label, score, source in items:
            row = {"anchor": query, "positive": texts[doc]}
            if self.scores:
                row["score"] = _f(score)
            else:
                row["label"] = label
            if self.sources:
                row["positive_source"] = source
            rows.append(row)
        return rows

    def _labeled_list(self, batch, i, q, negs, neg_scores):
        texts, query = self.data.corpus_texts, self.data.query_texts[q]
        positives, pos_scores, sources = self._positives(batch, i, q)
        rows = []
        for p, pos in enumerate(positives):
            row = {"anchor": query, "positive": [texts[pos]] + [texts[d] for d in negs]}
            if self.scores:
                row["scores"] = [_f(pos_scores[p])] + [_f(s) for s in neg_scores]
            else:
                row["labels"] = [1] + [0] * len(negs)
            if self.sources:
                row["positive_source"] = sources[p]
            rows.append(row)
        return rows

    # one row per query
    def _flagembedding(self, batch, i, q, negs, neg_scores):
        texts = self.data.corpus_texts
        positives, pos_scores, sources = self._positives(batch, i, q)
        row = {"query": self.data.query_texts[q], "pos": [texts[d] for d in positives], "neg": [texts[d] for d in negs]}
        if self.scores:
            row["pos_scores"] = [_f(s) for s in pos_scores]
            row["neg_scores"] = [_f(s) for s in neg_scores]
        if self.data.query_fields is not None:
            row.update(self.data.query_fields[q])
        if self.sources:
            row["pos_sources"] = sources
        return [row]

    def _tevatron(self, batch, i, q, negs, neg_scores):
        ids, texts = self.data.corpus_ids, self.data.corpus_texts
        positives, _, _ = self._positives(batch, i, q)
        row = {
            "query_id": self.data.query_ids[q],
            "query": self.data.query_texts[q],
            "positive_passages": [{"docid": ids[d], "title": "", "text": texts[d]} for d in positives],
            "negative_passages": [{"docid": ids[d], "title": "", "text": texts[d]} for d in negs],
        }
        if self.sources:
            row["positive_sources"] = self._positives(batch, i, q)[2]
        return [row]

    def _candidates(self, batch, i, q, negs, neg_scores):
        ids = self.data.corpus_ids
        valid = batch.candidates[i] >= 0
        row = {
            "query_id": self.data.query_ids[q],
            "query": self.data.query_texts[q],
            "positive_ids": [ids[d] for d in self.data.positives[q]],
            "positive_scores": [_f(s) for s in batch.positive_scores[i]],
            "candidate_ids": [ids[d] for d in batch.candidates[i][valid]],
            "candidate_scores": [_f(s) for s in batch.candidate_scores[i][valid]],
            "candidate_kept": batch.candidate_kept[i][valid].tolist(),
            "negative_ids": [ids[d] for d in negs],
        }
        row.update(_verdict_columns(batch, i, ids, valid))
        if self.sources:
            row["promoted_ids"] = [ids[d] for d in batch.promoted[i]]
            row["promoted_scores"] = [_f(s) for s in batch.promoted_scores[i]]
        return [row]


def _verdict_columns(batch: MinedBatch, i: int, ids: list[str], valid: np.ndarray) -> dict[str, list]:
    """Why each candidate was kept, chosen or dropped (see :data:`hardneg.filters.VERDICTS`), the
    teacher's score of each when a teacher rescored them, and the searched candidates that never entered
    the rank window (known positives, near duplicates, beyond the window) with their scores and reasons."""
    if batch.verdicts is None:  # a batch mined without verdicts: only kept / dropped is known
        kept = batch.candidate_kept[i][valid].tolist()
        return {"candidate_verdicts": ["kept" if k else "dropped" for k in kept], **_no_excluded()}
    codes = batch.verdicts[i]
    out: dict[str, list] = {"candidate_verdicts": [VERDICTS[c] for c in codes[valid]]}
    if batch.teacher_scores is not None:
        out["candidate_teacher_scores"] = [_f(s) for s in batch.teacher_scores[i][valid]]
    excluded = batch.excluded[i] >= 0
    out["excluded_ids"] = [ids[d] for d in batch.excluded[i][excluded]]
    out["excluded_scores"] = [_f(s) for s in batch.candidate_scores[i][excluded]]
    out["excluded_verdicts"] = [VERDICTS[c] for c in codes[excluded]]
    return out


def _no_excluded() -> dict[str, list]:
    return {"excluded_ids": [], "excluded_scores": [], "excluded_verdicts": []}


def schema_for(
    output_format: str,
    num_negatives: int,
    include_scores: bool,
    *,
    positive_sources: bool = False,
    teacher_scores: bool = False,
    data: RetrievalData | None = None,
) -> pa.Schema:
    """Columns of a format. ``positive_sources`` adds where each positive came from (``labelled`` or
    ``promoted``): a ``positive_source`` column, ``pos_sources`` for FlagEmbedding, ``positive_sources``
    for Tevatron, and ``promoted_ids`` / ``promoted_scores`` for candidates. ``teacher_scores`` adds the
    teacher's score of each candidate (``candidate_teacher_scores``) to candidates. ``data``'s
    :attr:`~hardneg.data.RetrievalData.query_fields` become FlagEmbedding columns."""
    s, ls, li = pa.string(), pa.list_(pa.string()), pa.list_(pa.float32())
    if output_format == "n-tuple":
        fields = [("anchor", s), ("positive", s)] + [(f"negative_{j}", s) for j in range(1, num_negatives + 1)]
        if include_scores:
            fields.append(("scores", li))
    elif output_format == "triplet":
        fields = [("anchor", s), ("positive", s), ("negative", s)] + ([("scores", li)] if include_scores else [])
    elif output_format == "labeled-pair":
        fields = [("anchor", s), ("positive", s), ("score", pa.float32()) if include_scores else ("label", pa.int8())]
    elif output_format == "labeled-list":
        fields = [("anchor", s), ("positive", ls), ("scores", li) if include_scores else ("labels", pa.list_(pa.int8()))]
    elif output_format == "flagembedding":
        fields = [("query", s), ("pos", ls), ("neg", ls)] + ([("pos_scores", li), ("neg_scores", li)] if include_scores else [])
        fields += _query_field_types(data)
    elif output_format == "tevatron":
        passage = pa.list_(pa.struct([("docid", s), ("title", s), ("text", s)]))
        fields = [("query_id", s), ("query", s), ("positive_passages", passage), ("negative_passages", passage)]
    elif output_format == "candidates":
        fields = [
            ("query_id", s),
            ("query", s),
            ("positive_ids", ls),
            ("positive_scores", li),
            ("candidate_ids", ls),
            ("candidate_scores", li),
            ("candidate_kept", pa.list_(pa.bool_())),
            ("negative_ids", ls),
            ("candidate_verdicts", ls),
            *([("candidate_teacher_scores", li)] if teacher_scores else []),
            ("excluded_ids", ls),
            ("excluded_scores", li),
            ("excluded_verdicts", ls),
        ]
    else:
        raise ConfigError(f"unknown output_format {output_format!r}")
    if positive_sources:
        if output_format == "flagembedding":
            fields.append(("pos_sources", ls))
        elif output_format == "tevatron":
            fields.append(("positive_sources", ls))
        elif output_format == "candidates":
            fields += [("promoted_ids", ls), ("promoted_scores", li)]
        else:
            fields.append(("positive_source", s))
    return pa.schema(fields)


def _query_field_types(data: RetrievalData | None) -> list[tuple[str, pa.DataType]]:
    """Columns for the input fields carried through (their types as pyarrow infers them)."""
    if data is None or data.query_fields is None:
        return []
    names = list(dict.fromkeys(k for f in data.query_fields for k in f))
    return [(name, pa.array([f.get(name) for f in data.query_fields]).type) for name in names]


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
