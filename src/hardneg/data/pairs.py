"""Pair files: (anchor, positive) rows in JSONL, CSV, TSV or parquet."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hardneg.data.corpus import Corpus, corpus_documents
from hardneg.data.dataset import RetrievalData
from hardneg.errors import DataError
from hardneg.io import require_file
from hardneg.io.tables import OnError, Problems, read_table


def pick_column(columns: list[str], wanted: str | None, position: int, role: str, path: Path) -> str:
    """The column named ``wanted``, else the one at ``position``; an error names a missing one."""
    if wanted is not None:
        if wanted not in columns:
            raise DataError(f"{role} column {wanted!r} not found; columns are {columns}", path=str(path))
        return wanted
    if len(columns) < 2:
        raise DataError(f"a pair file needs at least two columns (anchor, positive); found {columns}", path=str(path))
    return columns[position]


def load_pairs(
    path: str | Path,
    *,
    anchor_column: str | None = None,
    positive_column: str | None = None,
    corpus: Corpus = None,
    on_error: OnError = "raise",
    tsv_quotes: bool = False,
) -> RetrievalData:
    """Load (anchor, positive) pairs; a repeated anchor means several positives.

    Columns default to the first two, as sentence-transformers datasets are laid out. Documents
    are the distinct positive texts plus, when given, the documents of ``corpus`` (a BEIR-style
    corpus.jsonl, or a table with a ``text`` column), which are extra negative candidates.
    Query ids are ``q<n>`` in order of first appearance; documents keep a corpus file's ``_id``,
    and otherwise get ``d<n>``.

    Every row is accounted for: it becomes a pair, or it is counted in ``skipped`` (a bad row under
    ``on_error="skip"``, or ``duplicate_pair`` for a row that repeats an earlier (anchor, positive)).
    TSV is read literally unless ``tsv_quotes`` (see :mod:`hardneg.io.tables`).
    """
    path = require_file(path, "pair file")
    problems = Problems(on_error)
    columns, rows = read_table(path, problems, tsv_quotes=tsv_quotes)
    return pairs_from_records(
        columns, rows, anchor_column=anchor_column, positive_column=positive_column, corpus=corpus, problems=problems,
        source=str(path), pairs_input=str(path),
    )  # fmt: skip


def pairs_from_records(
    columns: list[str],
    rows: Iterable[tuple[int, dict]],
    *,
    anchor_column: str | None,
    positive_column: str | None,
    corpus: Corpus,
    problems: Problems,
    source: str,
    pairs_input: str,
) -> RetrievalData:
    """(anchor, positive) records -> :class:`RetrievalData`; shared by pair files and in-memory datasets.

    ``rows`` are ``(line_or_row, record)``; the documents of an extra ``corpus`` (a file or a list of texts)
    come first in the corpus, in their order. ``source`` names the input in error messages, ``pairs_input``
    in the manifest.
    """
    documents, corpus_inputs = corpus_documents(corpus, problems)
    inputs = {"pairs": pairs_input, **corpus_inputs}
    path = Path(source)
    anchor_col = pick_column(columns, anchor_column, 0, "anchor", path)
    positive_col = pick_column(columns, positive_column, 1, "positive", path)

    corpus_ids: list[str] = []
    corpus_texts: list[str] = []
    doc_by_text: dict[str, int] = {}
    for doc_id, text in zip(*(documents or ([], []))):
        if text not in doc_by_text:
            doc_by_text[text] = len(corpus_ids)
            corpus_ids.append(doc_id)
            corpus_texts.append(text)

    query_index: dict[str, int] = {}
    query_texts: list[str] = []
    positives: list[list[int]] = []
    used_ids = set(corpus_ids)
    for line, record in rows:
        anchor = problems.text(record.get(anchor_col), f"column {anchor_col!r}", path=source, line=line)
        positive = (
            None
            if anchor is None
            else problems.text(record.get(positive_col), f"column {positive_col!r}", path=source, line=line)
        )
        if positive is None:
            continue
        if not anchor:
            problems.report("empty_text", f"empty or missing anchor in column {anchor_col!r}", path=source, line=line)
            continue
        if not positive:
            problems.report(
                "no_positive", f"anchor has an empty or missing positive in column {positive_col!r}", path=source, line=line
            )
            continue
        if positive not in doc_by_text:
            doc_id = f"d{len(corpus_ids)}"
            while doc_id in used_ids:
                doc_id = "_" + doc_id
            used_ids.add(doc_id)
            doc_by_text[positive] = len(corpus_ids)
            corpus_ids.append(doc_id)
            corpus_texts.append(positive)
        q = query_index.get(anchor)
        if q is None:
            q = query_index[anchor] = len(query_texts)
            query_texts.append(anchor)
            positives.append([])
        if doc_by_text[positive] in positives[q]:
            problems.count("duplicate_pair")
        else:
            positives[q].append(doc_by_text[positive])
    if not query_texts:
        raise DataError("no usable (anchor, positive) pair", path=source)
    return RetrievalData(
        corpus_ids=corpus_ids,
        corpus_texts=corpus_texts,
        query_ids=[f"q{i}" for i in range(len(query_texts))],
        query_texts=query_texts,
        positives=positives,
        inputs=inputs,
        skipped=problems.counts,
    )
