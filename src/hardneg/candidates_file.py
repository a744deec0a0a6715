"""The candidates file (``hardneg mine --output-format candidates``): its one reader, and the one rule
that turns a query's candidates into the pool training draws negatives from.

A candidates file has one row per query, ids only (its columns are :data:`hardneg.formats.CANDIDATES`',
told in ``docs/mining.md``, Output); texts come from the corpus the file was mined from, named in its manifest.
The file is opened by :func:`open_candidates` and each row read by :class:`hardneg.formats.CandidateRecord`, which
lives beside the candidates format's writer.
Training (:mod:`hardneg.training.data`), its in-run refreshers (:mod:`hardneg.training.inline_refresh`),
the co-evolution measures and batch hygiene read it through :func:`read_candidates` (rows as corpus
indices); the inspect page (:mod:`hardneg.inspect`) shows each :class:`CandidateRecord` as it is. Every
pool is ordered by :func:`order_pool`, so a refreshed pool follows the same rule as the mined one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hardneg.data import DEMO_NAME, RetrievalData, load_data
from hardneg.errors import DataError
from hardneg.formats import CANDIDATE_COLUMNS, CANDIDATES, CandidateRecord, FormatFile
from hardneg.outputs import manifest_of, manifest_path_for

WHAT = "candidates file (write one with hardneg mine --output-format candidates)"
POOLS = ("kept", "all")
"""``kept``: draw from the candidates every filter kept; ``all``: from every candidate of the rank window."""


@dataclass
class CandidateRow:
    """One query of a candidates file, as corpus indices."""

    where: str
    """``"line N"`` or ``"row N"``, for error messages."""
    query_id: str
    query: str
    positives: list[int]
    candidates: list[int]
    """The rank window's non-positive candidates, best first."""
    kept: list[bool]
    negatives: list[int]
    """The negatives mining chose."""
    promoted: list[int] = field(default_factory=list)


@dataclass
class CandidatesFile:
    path: Path
    rows: list[CandidateRow]
    data: RetrievalData
    """The corpus (and queries) the ids refer to."""
    mined_with: dict[str, Any] | None
    """The mining parameters from the file's manifest, when it has one."""


def open_candidates(path: str | Path) -> FormatFile:
    """The candidates file at ``path``, opened (parquet, JSONL or a dataset folder); its rows are read as
    asked, a parquet file one row group at a time, so a large run is served without loading it whole."""
    return CANDIDATES.read(path, WHAT)


def manifest_parameters(path: Path) -> dict[str, Any] | None:
    """The ``parameters`` of ``<path>.manifest.json``, or ``None`` without a manifest."""
    manifest = manifest_of(path)
    return None if manifest is None else manifest.get("parameters") or {}


def mined_data(
    path: Path, *, split: str = "train", corpus: str | None = None, extra_positives: str | None = None
) -> RetrievalData:
    """The corpus a candidates file refers to: ``corpus`` when given, else the data its manifest names
    (with the extra positives it was mined with, or ``extra_positives`` when given)."""
    if corpus is not None:
        return load_data(corpus, split=split, extra_positives=extra_positives)
    params = manifest_parameters(path)
    if params is None:
        manifest = manifest_path_for(path)
        raise DataError(
            "a candidates file holds ids only: pass corpus= (the BEIR folder or 'demo' it was mined from); "
            f"its manifest {manifest.name} is missing",
            path=str(path),
        )
    return load_data(
        params.get("data", DEMO_NAME),
        split=params.get("split", split),
        anchor_column=params.get("anchor_column"),
        positive_column=params.get("positive_column"),
        corpus=params.get("corpus"),
        on_error=params.get("on_error", "raise"),
        extra_positives=extra_positives or params.get("extra_positives"),
        tsv_quotes=params.get("tsv_quotes", False),
    )


def read_candidates(
    path: str | Path,
    *,
    data: RetrievalData | None = None,
    split: str = "train",
    corpus: str | None = None,
    table: tuple[list[str], Iterable[tuple[str, dict]]] | None = None,
    extra_positives: str | None = None,
) -> CandidatesFile:
    """Read a candidates file (parquet, JSONL or dataset folder); ids become corpus indices of ``data``
    (default: the data :func:`mined_data` finds). An unknown id is an error naming the row and column.
    ``table``: the file's columns and ``(where, row)`` pairs when the caller has already opened it
    (:func:`open_candidates`). ``extra_positives``:
    a qrels-style TSV of documents found relevant after mining (:mod:`hardneg.data.extra_positives`); they
    join their query's positives and leave its candidates and chosen negatives."""
    path = Path(path)
    if table is None:
        file = open_candidates(path)
        table = file.columns, file.located_rows()
    columns, records = table
    missing = [c for c in CANDIDATE_COLUMNS if c not in columns]
    if missing:
        raise DataError(f"candidates file lacks columns {missing}", path=str(path))
    if data is None:
        data = mined_data(path, split=split, corpus=corpus, extra_positives=extra_positives)
    # with extra positives, a query's positives are the data's (its own plus the extra ones)
    data_positives = dict(zip(data.query_ids, data.positives)) if extra_positives else {}
    doc_index = {d: i for i, d in enumerate(data.corpus_ids)}

    def lookup(row: CandidateRecord, column: Callable[[CandidateRecord], list[str]]) -> list[int]:
        """The corpus indices of the ids ``column`` (a :class:`CandidateRecord` reader, named as its column) reads."""
        out = []
        for d in column(row):
            if d not in doc_index:
                raise DataError(f"{row.where}: {column.__name__} has id {d!r}, which is not in the corpus", path=str(path))
            out.append(doc_index[d])
        return out

    rows = []
    for where, record in records:
        row = CandidateRecord(record, where, path)
        text = row.query
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: column 'query' must be a non-empty string", path=str(path))
        positives = lookup(row, CandidateRecord.positive_ids)
        if not positives:
            raise DataError(f"{where}: positive_ids is empty", path=str(path))
        candidates = lookup(row, CandidateRecord.candidate_ids)
        kept = row.kept()
        negatives = lookup(row, CandidateRecord.negative_ids)
        query_id = row.query_id
        extra = [d for d in data_positives.get(query_id, []) if d not in positives]
        if extra:
            positives = positives + extra
            kept = [k for d, k in zip(candidates, kept) if d not in extra]
            candidates = [d for d in candidates if d not in extra]
            negatives = [d for d in negatives if d not in extra]
        rows.append(
            CandidateRow(
                where=where,
                query_id=query_id,
                query=text,
                positives=positives,
                candidates=candidates,
                kept=kept,
                negatives=negatives,
                promoted=lookup(row, CandidateRecord.promoted_ids),
            )
        )
    return CandidatesFile(path, rows, data, manifest_parameters(path))


def chosen_negatives(candidates: Path, data: RetrievalData, width: int | None = None) -> np.ndarray:
    """(queries, width) corpus indices of each query's chosen negatives, ``-1`` padded.

    ``width`` defaults to the longest list in the file; longer lists are cut to it.
    """
    rows = {r.query_id: r.negatives for r in read_candidates(candidates, data=data).rows}
    width = width or max((len(v) for v in rows.values()), default=1) or 1
    out = np.full((len(data.query_ids), width), -1, dtype=np.int64)
    for q, qid in enumerate(data.query_ids):
        found = rows.get(qid, [])[:width]
        out[q, : len(found)] = found
    return out


def order_pool(
    candidates: Sequence[int], kept: Sequence[bool], negatives: Sequence[int], *, pool: str, sampling: str
) -> list[int]:
    """A query's pool of negatives for training, in the order ``sampling`` reads it.

    ``pool="kept"`` keeps the candidates every filter kept, ``"all"`` every candidate of the rank
    window. With ``sampling="top"`` (a static set: the first ``n`` are the negatives) the mined
    choice comes first, because it honours what the pool does not say by itself (``range_min``,
    the selection); the rest of the pool follows in rank order. ``"random"`` draws from the pool,
    so its order does not matter and stays the rank order.
    """
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
    chosen = list(candidates) if pool == "all" else [d for d, k in zip(candidates, kept) if k]
    if sampling == "top":
        chosen = list(dict.fromkeys([*negatives, *chosen]))
    return chosen
