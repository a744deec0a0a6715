"""The output formats: for each one, its columns (names and types), how its rows are built, and how a
file of it is read back.

:data:`FORMATS` holds one :class:`Format` per ``--output-format``. Everything that writes or reads a
format asks it: the writers (:mod:`hardneg.writers`) build rows with :attr:`Format.build` and stream
them under :meth:`Format.schema`; training, the teacher and :mod:`hardneg.candidates_file` (the one
reader of candidates files) read files through :meth:`Format.read`. Adding a format is one entry in
:data:`FORMATS` (``docs/architecture.md``, Records).

The sentence-transformers formats are laid out as ``sentence_transformers.util.mine_hard_negatives``
lays them out (every format's columns: ``docs/mining.md``, Output); in the labeled formats the score
*replaces* the label, since the trainer passes that one column to the loss as its label.

This module sits below the data loaders (the FlagEmbedding reader takes its columns from here), the writers,
training, the candidates file and the inspect page: it imports the mined record (:mod:`hardneg.mined`) and, when a
file is read, the table reader (:mod:`hardneg.io.tables`), nothing that loads data or drives a stage.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from hardneg.errors import ConfigError, DataError
from hardneg.filters import VERDICTS
from hardneg.mined import MinedBatch

if TYPE_CHECKING:
    import pyarrow as pa

    from hardneg.io.tables import Records

# Column types by name; :func:`arrow_type` makes the pyarrow type, so listing the formats (the CLI's
# --output-format choices) imports no pyarrow.
TEXT, TEXTS = "string", "list<string>"
SCORE, SCORES = "float32", "list<float32>"
LABEL, LABELS = "int8", "list<int8>"
FLAGS = "list<bool>"
PASSAGES = "list<passage>"
ColumnType = Any
"""A type name above, or a pyarrow type (an input field carried through, typed as pyarrow infers it)."""


def arrow_type(kind: ColumnType) -> pa.DataType:
    """The pyarrow type of a column type."""
    import pyarrow as pa

    if not isinstance(kind, str):
        return kind
    if kind.startswith("list<"):
        return pa.list_(arrow_type(kind[len("list<") : -1]))
    if kind == "passage":
        return pa.struct([("docid", pa.string()), ("title", pa.string()), ("text", pa.string())])
    return pa.type_for_alias(kind)


NEGATIVE_COLUMN = re.compile(r"^negative(_\d+)?$")
"""The negative columns of an n-tuple (``negative_1`` …) or triplet (``negative``) file."""
_NTH_NEGATIVE = re.compile(r"^negative_\d+$")
NOT_TEXT_COLUMNS = frozenset({"label", "labels", "score", "scores", "positive_source"})
"""The sentence-transformers formats' columns that hold no text of the row: labels, scores, where a positive came from."""
PEER_TYPE_NAMES = {"label": "int64", "score": "float64", "labels": "list<int64>", "scores": "list<float64>"}
"""The types (:func:`arrow_type`) ``sentence_transformers.util.mine_hard_negatives`` gives the label and score columns (those
``Dataset.from_dict`` gives Python ints and floats): the drop-in's rows carry them, so the two libraries' rows concatenate."""

CANDIDATE_COLUMNS = ("query_id", "query", "positive_ids", "candidate_ids", "candidate_kept", "negative_ids")
"""What a candidates file's rows are read from as corpus indices (training, the co-evolution loop):
every candidates file hardneg wrote has them."""
SHOWN_CANDIDATE_COLUMNS = (
    "query_id",
    "query",
    "positive_ids",
    "positive_scores",
    "candidate_ids",
    "candidate_scores",
    "negative_ids",
)
"""What the inspect page needs of a candidates file's row: the ids and their scores."""


@dataclass(frozen=True)
class Layout:
    """What decides a format's columns besides the format: the options a run was mined with."""

    num_negatives: int = 1
    include_scores: bool = False
    positive_sources: bool = False
    """Where each positive came from (``labelled`` or ``promoted``): ``positive_source`` (``pos_sources`` for
    FlagEmbedding, ``positive_sources`` for Tevatron, ``promoted_ids`` / ``promoted_scores`` for candidates)."""
    teacher_scores: bool = False
    """The teacher's score of each candidate (``candidate_teacher_scores``, candidates only)."""
    extra: tuple[tuple[str, ColumnType], ...] = ()
    """Input fields carried through to the output (FlagEmbedding), with their types."""


class RowData(Protocol):
    """What a row builder reads of the data (:class:`~hardneg.data.RetrievalData` is one)."""

    corpus_ids: list[str]
    corpus_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    positives: list[list[int]]
    query_fields: list[dict[str, Any]] | None


class RowState(Protocol):
    """What a row builder reads and counts (:class:`hardneg.writers.RowBuilder`)."""

    data: RowData
    n: int
    """Negatives per row of a fixed-width format."""
    scores: bool
    sources: bool
    padded_rows: int
    dropped_pairs: int


Builder = Callable[[RowState, MinedBatch, int, int, list[int], list[float]], list[dict[str, Any]]]
"""``(state, batch, i, q, negatives, negative_scores)`` -> the rows of query ``q`` (the batch's ``i``-th):
``negatives`` are its chosen negatives (corpus indices), without the padding."""


@dataclass(frozen=True)
class Format:
    """One output format."""

    name: str
    fields: Callable[[Layout], list[tuple[str, ColumnType]]]
    """Its columns, in order, for a layout."""
    build: Builder
    """Its rows of one query."""
    required: tuple[str, ...]
    """The columns a file of it cannot be read without."""
    marker: str | None = None
    """A column that no other format has: a file holding it is of this format, whatever else it holds or lacks."""
    carries_fields: bool = False
    """Input fields (:attr:`~hardneg.data.RetrievalData.query_fields`) become columns of it."""

    def schema(self, layout: Layout = Layout()) -> pa.Schema:
        import pyarrow as pa

        return pa.schema([(name, arrow_type(kind)) for name, kind in self.fields(layout)])

    def names(self, layout: Layout = Layout()) -> list[str]:
        return [name for name, _ in self.fields(layout)]

    def layout_of(self, columns: Sequence[str] | pa.Schema) -> Layout:
        """The layout a file with these columns (names, or a schema that also gives the types of carried fields)
        was written with: the one whose columns it holds most of."""
        names = list(getattr(columns, "names", columns))
        n = sum(1 for name in names if _NTH_NEGATIVE.match(name))
        layouts = [Layout(n, *flags) for flags in itertools.product((False, True), repeat=3)]
        layout = max(layouts, key=lambda lay: _fit(self.names(lay), names))  # the first of equals: the fewest options
        if self.carries_fields:
            known = set(self.names(layout))
            types = {f.name: f.type for f in columns} if hasattr(columns, "names") else {}
            layout = replace(layout, extra=tuple((c, types.get(c)) for c in names if c not in known))
        return layout

    def read(self, path: str | Path, what: str | None = None) -> FormatFile:
        """Open a file of this format (parquet, JSONL or a Hugging Face dataset folder); ``what`` names it in errors."""
        return read(path, what or f"{self.name} file", fmt=self)


class FormatFile:
    """A file of a format, opened: its rows are read when first asked for (a parquet file one row group at a time)."""

    def __init__(self, path: str | Path, fmt: Format, what: str, records: Records | None = None):
        self.path, self.format, self.what = Path(path), fmt, what
        if records is None and not self.path.exists():
            raise DataError(f"{what} not found", path=str(path))
        self._records = records

    @property
    def records(self) -> Records:
        if self._records is None:
            from hardneg.io.tables import Records

            self._records = Records(self.path, self.what)
        return self._records

    @property
    def columns(self) -> list[str]:
        return self.records.columns

    def __len__(self) -> int:
        return len(self.records)

    def row(self, i: int) -> dict[str, Any]:
        return self.records.row(i)

    def where(self, i: int) -> str:
        """Row ``i`` (0-based) as an error message names it: ``line N`` (JSONL) or ``row N``."""
        return self.records.where(i)

    def rows(self) -> Iterator[dict[str, Any]]:
        return self.records.rows()

    def located_rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(where, row)`` for every row, in order."""
        for i, record in enumerate(self.records.rows()):
            yield self.where(i), record

    def table(self) -> pa.Table:
        """The whole file as a table: parquet and dataset folders with the types they were written with; JSONL
        (which has no types) with the format's types wherever its values fit them."""
        import pyarrow as pa

        if self.path.is_dir() or self.path.suffix.lower() == ".parquet":  # read as stored
            try:
                if self.path.is_dir():
                    import datasets

                    return datasets.load_from_disk(str(self.path)).data.table
                import pyarrow.parquet as pq

                return pq.read_table(self.path)
            except Exception as exc:  # pyarrow and datasets raise several types for a damaged file
                raise DataError(f"not a readable {self.what} ({exc})", path=str(self.path)) from exc
        rows = list(self.records.rows())
        try:
            table = pa.table({name: pa.array([r.get(name) for r in rows]) for name in self.columns})
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(f"values of one column differ in type ({exc})", path=str(self.path)) from exc
        types = {f.name: f.type for f in self.format.schema(self.format.layout_of(table.schema))}
        columns = []
        for name, column in zip(table.column_names, table.columns):
            if name in types:
                try:
                    column = column.cast(types[name])
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass  # a value the format's type cannot hold exactly (a soft label): kept as written
            columns.append(column)
        return pa.table(columns, names=table.column_names)


def read(path: str | Path, what: str = "file", *, fmt: Format | None = None) -> FormatFile:
    """Open ``path`` as a file of ``fmt`` (default: the format its columns say, :func:`guess`)."""
    if fmt is not None:
        return FormatFile(path, fmt, what)
    from hardneg.io.tables import Records

    records = Records(path, what)
    return FormatFile(path, guess(records.columns), what, records)


def guess(columns: Sequence[str]) -> Format:
    """The format a file with these columns is in: the one whose marker column it holds, else the one whose
    columns it holds most of (the first of equals)."""
    for fmt in FORMATS.values():
        if fmt.marker is not None and fmt.marker in columns:
            return fmt
    return max(FORMATS.values(), key=lambda fmt: _fit(fmt.names(fmt.layout_of(columns)), columns))


def _fit(names: Sequence[str], columns: Sequence[str]) -> int:
    """How well a file's ``columns`` match a format's ``names``: those it has, less those it lacks."""
    present = set(columns)
    return sum(c in present for c in names) - sum(c not in present for c in names)


def format_named(name: str) -> Format:
    if name not in FORMATS:
        raise ConfigError(f"unknown output_format {name!r}")
    return FORMATS[name]


# --- the formats: columns, then rows ---------------------------------------------------------


def _f(x: float) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def positives_of(data: RowData, batch: MinedBatch, i: int, q: int) -> tuple[list[int], list[float], list[str]]:
    """The query's positives, their scores and sources: the labelled ones, then any promoted ones."""
    docs, scores = list(data.positives[q]), list(batch.positive_scores[i])
    sources = ["labelled"] * len(docs)
    if batch.promoted is not None:
        docs += batch.promoted[i].tolist()
        scores += batch.promoted_scores[i].tolist()
        sources += ["promoted"] * len(batch.promoted[i])
    return docs, scores, sources


def _positive_source(layout: Layout) -> list[tuple[str, ColumnType]]:
    return [("positive_source", TEXT)] if layout.positive_sources else []


def _with_scores(b: RowState, row: dict[str, Any], scores: list[float], source: str) -> dict[str, Any]:
    """``row`` with its ``scores`` (the positive's, then the negatives') and its positive's source, when asked for."""
    if b.scores:
        row["scores"] = [_f(s) for s in scores]
    if b.sources:
        row["positive_source"] = source
    return row


# one row per (query, positive)


def _n_tuple_fields(layout: Layout) -> list[tuple[str, ColumnType]]:
    fields = [("anchor", TEXT), ("positive", TEXT)] + [(f"negative_{j}", TEXT) for j in range(1, layout.num_negatives + 1)]
    return fields + ([("scores", SCORES)] if layout.include_scores else []) + _positive_source(layout)


def _n_tuple_rows(b: RowState, batch, i, q, negs, neg_scores):
    texts, query = b.data.corpus_texts, b.data.query_texts[q]
    positives, pos_scores, sources = positives_of(b.data, batch, i, q)
    if b.n and not negs:
        b.dropped_pairs += len(positives)
        return []
    if b.n and len(negs) < b.n:
        b.padded_rows += len(positives)
        order = [j % len(negs) for j in range(b.n)]  # repeated cyclically: a fixed-width row needs every column
        negs, neg_scores = [negs[j] for j in order], [neg_scores[j] for j in order]
    rows = []
    for p, pos in enumerate(positives):
        row = {"anchor": query, "positive": texts[pos]}
        for j, d in enumerate(negs, start=1):
            row[f"negative_{j}"] = texts[d]
        rows.append(_with_scores(b, row, [pos_scores[p], *neg_scores], sources[p]))
    return rows


def _triplet_fields(layout: Layout) -> list[tuple[str, ColumnType]]:
    fields = [("anchor", TEXT), ("positive", TEXT), ("negative", TEXT)]
    return fields + ([("scores", SCORES)] if layout.include_scores else []) + _positive_source(layout)


def _triplet_rows(b: RowState, batch, i, q, negs, neg_scores):
    texts, query = b.data.corpus_texts, b.data.query_texts[q]
    positives, pos_scores, sources = positives_of(b.data, batch, i, q)
    if not negs:
        b.dropped_pairs += len(positives)
    rows = []
    for p, pos in enumerate(positives):
        for d, s in zip(negs, neg_scores):
            row = {"anchor": query, "positive": texts[pos], "negative": texts[d]}
            rows.append(_with_scores(b, row, [pos_scores[p], s], sources[p]))
    return rows


def _labeled_pair_fields(layout: Layout) -> list[tuple[str, ColumnType]]:
    label = ("score", SCORE) if layout.include_scores else ("label", LABEL)
    return [("anchor", TEXT), ("positive", TEXT), label] + _positive_source(layout)


def _labeled_pair_rows(b: RowState, batch, i, q, negs, neg_scores):
    texts, query = b.data.corpus_texts, b.data.query_texts[q]
    positives, pos_scores, sources = positives_of(b.data, batch, i, q)
    items = list(zip(positives, [1] * len(positives), pos_scores, sources))
    items += [(d, 0, s, None) for d, s in zip(negs, neg_scores)]
    rows = []
    for doc, label, score, source in items:
        row = {"anchor": query, "positive": texts[doc]}
        if b.scores:
            row["score"] = _f(score)
        else:
            row["label"] = label
        if b.sources:
            row["positive_source"] = source
        rows.append(row)
    return rows


def _labeled_list_fields(layout: Layout) -> list[tuple[str, ColumnType]]:
    labels = ("scores", SCORES) if layout.include_scores else ("labels", LABELS)
    return [("anchor", TEXT), ("positive", TEXTS), labels] + _positive_source(layout)


def _labeled_list_rows(b: RowState, batch, i, q, negs, neg_scores):
    texts, query = b.data.corpus_texts, b.data.query_texts[q]
    positives, pos_scores, sources = positives_of(b.data, batch, i, q)
    rows = []
    for p, pos in enumerate(positives):
        row = {"anchor": query, "positive": [texts[pos]] + [texts[d] for d in negs]}
        if not b.scores:  # with scores, the scores replace the labels
            row["labels"] = [1] + [0] * len(negs)
        rows.append(_with_scores(b, row, [pos_scores[p], *neg_scores], sources[p]))
    return rows


# one row per query


def _flagembedding_fields(layout: Layout) -> list[tuple[str, ColumnType]]:
    fields = [("query", TEXT), ("pos", TEXTS), ("neg", TEXTS)]
    fields += [("pos_scores", SCORES), ("neg_scores", SCORES)] if layout.include_scores else []
    return fields + list(layout.extra) + ([("pos_sources", TEXTS)] if layout.positive_sources else [])


def _flagembedding_rows(b: RowState, batch, i, q, negs, neg_scores):
    texts = b.data.corpus_texts
    positives, pos_scores, sources = positives_of(b.data, batch, i, q)
    row = {"query": b.data.query_texts[q], "pos": [texts[d] for d in positives], "neg": [texts[d] for d in negs]}
    if b.scores:
        row["pos_scores"] = [_f(s) for s in pos_scores]
        row["neg_scores"] = [_f(s) for s in neg_scores]
    if b.data.query_fields is not None:
        row.update(b.data.query_fields[q])
    if b.sources:
        row["pos_sources"] = sources
    return [row]


def _tevatron_fields(layout: Layout) -> list[tuple[str, ColumnType]]:
    fields = [("query_id", TEXT), ("query", TEXT), ("positive_passages", PASSAGES), ("negative_passages", PASSAGES)]
    return fields + ([("positive_sources", TEXTS)] if layout.positive_sources else [])


def _tevatron_rows(b: RowState, batch, i, q, negs, neg_scores):
    ids, texts = b.data.corpus_ids, b.data.corpus_texts
    positives, _, sources = positives_of(b.data, batch, i, q)
    row = {
        "query_id": b.data.query_ids[q],
        "query": b.data.query_texts[q],
        "positive_passages": [{"docid": ids[d], "title": "", "text": texts[d]} for d in positives],
        "negative_passages": [{"docid": ids[d], "title": "", "text": texts[d]} for d in negs],
    }
    if b.sources:
        row["positive_sources"] = sources
    return [row]


def _candidates_fields(layout: Layout) -> list[tuple[str, ColumnType]]:
    return [
        ("query_id", TEXT),
        ("query", TEXT),
        ("positive_ids", TEXTS),
        ("positive_scores", SCORES),
        ("candidate_ids", TEXTS),
        ("candidate_scores", SCORES),
        ("candidate_kept", FLAGS),
        ("negative_ids", TEXTS),
        ("candidate_verdicts", TEXTS),
        *([("candidate_teacher_scores", SCORES)] if layout.teacher_scores else []),
        ("excluded_ids", TEXTS),
        ("excluded_scores", SCORES),
        ("excluded_verdicts", TEXTS),
        *([("promoted_ids", TEXTS), ("promoted_scores", SCORES)] if layout.positive_sources else []),
    ]


def _candidates_rows(b: RowState, batch, i, q, negs, neg_scores):
    ids = b.data.corpus_ids
    valid = batch.candidates[i] >= 0
    row = {
        "query_id": b.data.query_ids[q],
        "query": b.data.query_texts[q],
        "positive_ids": [ids[d] for d in b.data.positives[q]],
        "positive_scores": [_f(s) for s in batch.positive_scores[i]],
        "candidate_ids": [ids[d] for d in batch.candidates[i][valid]],
        "candidate_scores": [_f(s) for s in batch.candidate_scores[i][valid]],
        "candidate_kept": batch.candidate_kept[i][valid].tolist(),
        "negative_ids": [ids[d] for d in negs],
    }
    row.update(_verdict_columns(batch, i, ids, valid))
    if b.sources:
        row["promoted_ids"] = [ids[d] for d in batch.promoted[i]]
        row["promoted_scores"] = [_f(s) for s in batch.promoted_scores[i]]
    return [row]


def _verdict_columns(batch: MinedBatch, i: int, ids: list[str], valid: np.ndarray) -> dict[str, list]:
    """Why each candidate was kept, chosen or dropped (see :data:`hardneg.filters.VERDICTS`), the
    teacher's score of each when a teacher rescored them, and the searched candidates that never entered
    the rank window (known positives, near duplicates, beyond the window) with their scores and reasons."""
    if batch.verdicts is None:  # a batch mined without verdicts: only kept / dropped is known
        verdicts = ["kept" if k else "dropped" for k in batch.candidate_kept[i][valid].tolist()]
        return {"candidate_verdicts": verdicts, "excluded_ids": [], "excluded_scores": [], "excluded_verdicts": []}
    codes = batch.verdicts[i]
    out: dict[str, list] = {"candidate_verdicts": [VERDICTS[c] for c in codes[valid]]}
    if batch.teacher_scores is not None:
        out["candidate_teacher_scores"] = [_f(s) for s in batch.teacher_scores[i][valid]]
    excluded = batch.excluded[i] >= 0
    out["excluded_ids"] = [ids[d] for d in batch.excluded[i][excluded]]
    out["excluded_scores"] = [_f(s) for s in batch.candidate_scores[i][excluded]]
    out["excluded_verdicts"] = [VERDICTS[c] for c in codes[excluded]]
    return out


class CandidateRecord:
    """One row of a candidates file, each column read and checked when asked for; documents stay ids. The reader of
    the rows :func:`_candidates_rows` writes, beside it so that the column names are spelled in one module.

    ``where``: the row as errors name it (``line N`` or ``row N``); ``path``: the file."""

    def __init__(self, record: dict[str, Any], where: str, path: str | Path):
        self.record, self.where, self.path = record, where, str(path)

    def require(self, columns: Sequence[str]) -> None:
        missing = [c for c in columns if c not in self.record]
        if missing:
            raise DataError(f"{self.where}: not a candidates file row, columns {missing} are missing", path=self.path)

    @property
    def query_id(self) -> str:
        return str(self.record.get("query_id"))

    @property
    def query(self) -> Any:
        """The query's text as written (``None`` when absent)."""
        return self.record.get("query")

    def values(self, column: str) -> list[Any]:
        """A list column (ids, scores, verdicts) as written; an absent or empty one is ``[]``."""
        return list(self.record.get(column) or [])

    def positive_ids(self) -> list[str]:
        return self.values("positive_ids")

    def positive_scores(self) -> list[float | None]:
        """The positives' scores as written (``None`` where none was written)."""
        return self.values("positive_scores")

    def candidate_ids(self) -> list[str]:
        """The rank window's non-positive candidates, best first."""
        return self.values("candidate_ids")

    def negative_ids(self) -> list[str]:
        """The negatives mining chose."""
        return self.values("negative_ids")

    def excluded_ids(self) -> list[str]:
        """The searched candidates that never entered the rank window."""
        return self.values("excluded_ids")

    def promoted_ids(self) -> list[str]:
        """Candidates the teacher promoted to positives (``[]`` in a file mined without promotion)."""
        return self.values("promoted_ids")

    def candidate_scores(self, *, required: bool = False) -> list[float | None]:
        return self.scores("candidate_scores", required=required)

    def teacher_scores(self) -> list[float | None]:
        """The teacher's score of each candidate; ``[]`` in a file mined without a teacher."""
        return self.scores("candidate_teacher_scores")

    def excluded_scores(self) -> list[float | None]:
        return self.scores("excluded_scores", of="excluded_ids")

    def kept(self) -> list[bool]:
        """Whether every filter kept each candidate."""
        kept, n = [bool(k) for k in self.values("candidate_kept")], len(self.values("candidate_ids"))
        if len(kept) != n:
            raise self._error(f"candidate_kept has {len(kept)} values for {n} candidates")
        return kept

    def scores(self, column: str, *, of: str = "candidate_ids", required: bool = False) -> list[float | None]:
        """A score per document of ``of``, ``None`` where none was written (or not a finite number); ``[]`` when the
        column is absent (an error when ``required``)."""
        values = self.record.get(column)
        if values is None:
            if required:
                raise self._error(f"column {column!r} is missing")
            return []
        n = len(self.values(of))
        if len(values) != n:
            raise self._error(f"{column} has {len(values)} values for {n} candidates")
        return [None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v) for v in values]

    def verdicts(self) -> list[str]:
        """What became of each candidate (:data:`hardneg.filters.VERDICTS`); a file written before verdicts were
        recorded says only ``kept`` or ``dropped``."""
        n = len(self.values("candidate_ids"))
        verdicts = self.record.get("candidate_verdicts")
        if verdicts is None:
            return ["kept" if k else "dropped" for k in self.values("candidate_kept") or [True] * n]
        if len(verdicts) != n:
            raise self._error(f"candidate_verdicts has {len(verdicts)} values for {n} candidates")
        return list(verdicts)

    def excluded_verdicts(self) -> list[str]:
        """Why each searched candidate outside the rank window stayed out (``excluded`` where the file does not say)."""
        return self.values("excluded_verdicts") or ["excluded"] * len(self.values("excluded_ids"))

    def _error(self, message: str) -> DataError:
        return DataError(f"{self.where}: {message}", path=self.path)


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("n-tuple", _n_tuple_fields, _n_tuple_rows, required=("anchor", "positive")),
        Format("triplet", _triplet_fields, _triplet_rows, required=("anchor", "positive", "negative")),
        Format("labeled-pair", _labeled_pair_fields, _labeled_pair_rows, required=("anchor", "positive")),
        Format("labeled-list", _labeled_list_fields, _labeled_list_rows, required=("anchor", "positive")),
        Format("flagembedding", _flagembedding_fields, _flagembedding_rows, required=("query", "pos"), carries_fields=True),
        Format("tevatron", _tevatron_fields, _tevatron_rows, required=("query", "positive_passages")),
        Format("candidates", _candidates_fields, _candidates_rows, required=CANDIDATE_COLUMNS, marker="candidate_ids"),
    )
}
"""Every output format, by its ``--output-format`` name (the order the CLI lists them in)."""
CANDIDATES = FORMATS["candidates"]
