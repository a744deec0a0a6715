"""Loading (query, positive) data: BEIR folders, pair files, and the bundled demo dataset.

Everything becomes one :class:`RetrievalData`: parallel lists of document ids and texts, of query
ids and texts, and for each query the corpus indices of its positives. Bad input raises
:class:`~hardneg.errors.DataError` naming the file and line, or, with ``on_error="skip"``, is
skipped with a warning that says the same.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from hardneg.errors import ConfigError, DataError
from hardneg.io import iter_jsonl, require_file

logger = logging.getLogger(__name__)

OnError = Literal["raise", "skip"]
DEMO_NAME = "demo"
PAIR_SUFFIXES = {".jsonl", ".json", ".csv", ".tsv", ".parquet"}


@dataclass
class RetrievalData:
    """Queries, a corpus, and which documents are positives of which query."""

    corpus_ids: list[str]
    corpus_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    positives: list[list[int]]
    """For each query, indices into ``corpus_ids`` of its labelled positives (never empty)."""
    inputs: dict[str, str] = field(default_factory=dict)
    """Role -> path of every file read, for the manifest."""
    skipped: dict[str, int] = field(default_factory=dict)
    """What ``on_error="skip"`` skipped, by kind."""

    def __post_init__(self) -> None:
        if len(self.corpus_ids) != len(self.corpus_texts):
            raise ValueError("corpus_ids and corpus_texts differ in length")
        if not (len(self.query_ids) == len(self.query_texts) == len(self.positives)):
            raise ValueError("query_ids, query_texts and positives differ in length")

    @property
    def num_pairs(self) -> int:
        return sum(len(p) for p in self.positives)

    def subset(self, query_indices: list[int]) -> RetrievalData:
        """The same corpus with only the given queries (tests and benchmarks use it)."""
        return RetrievalData(
            corpus_ids=self.corpus_ids,
            corpus_texts=self.corpus_texts,
            query_ids=[self.query_ids[i] for i in query_indices],
            query_texts=[self.query_texts[i] for i in query_indices],
            positives=[self.positives[i] for i in query_indices],
            inputs=dict(self.inputs),
            skipped=dict(self.skipped),
        )


class _Problems:
    """Raise on the first problem, or count and warn about each one when skipping."""

    def __init__(self, on_error: OnError):
        if on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.on_error = on_error
        self.counts: dict[str, int] = {}

    def report(self, kind: str, message: str, *, path: str | None = None, line: int | None = None) -> None:
        error = DataError(message, path=path, line=line)
        if self.on_error == "raise":
            raise error
        self.counts[kind] = self.counts.get(kind, 0) + 1
        logger.warning("skipped: %s", error)


def demo_path() -> Path:
    """The folder of the demo dataset that ships with hardneg (BEIR layout)."""
    return Path(str(resources.files("hardneg") / "demo_data"))


def document_text(title: str | None, text: str | None) -> str:
    """``title + " " + text`` when there is a title, as BEIR evaluators build documents."""
    title = (title or "").strip()
    text = (text or "").strip()
    return f"{title} {text}".strip() if title else text


def load_data(
    data: str | Path,
    *,
    split: str = "train",
    anchor_column: str | None = None,
    positive_column: str | None = None,
    corpus: str | Path | None = None,
    on_error: OnError = "raise",
) -> RetrievalData:
    """Load ``data``: ``"demo"``, a BEIR folder, or a pair file (.jsonl/.csv/.tsv/.parquet)."""
    if str(data) == DEMO_NAME:
        data = demo_path()
    path = Path(data)
    if path.is_dir():
        if corpus is not None:
            raise ConfigError("corpus is for pair files; a BEIR folder brings its own corpus.jsonl")
        return load_beir(path, split=split, on_error=on_error)
    if path.is_file():
        return load_pairs(
            path,
            anchor_column=anchor_column,
            positive_column=positive_column,
            corpus=corpus,
            on_error=on_error,
        )
    raise DataError(
        "no such file or folder: data must be 'demo', a BEIR folder (corpus.jsonl, queries.jsonl, "
        "qrels/<split>.tsv) or a pair file (.jsonl, .csv, .tsv, .parquet)",
        path=str(path),
    )


# --- BEIR -------------------------------------------------------------------------------------


def _read_corpus_jsonl(
    path: Path,
    problems: _Problems,
    ids: list[str],
    texts: list[str],
    index: dict[str, int],
    *,
    require_id: bool = True,
) -> None:
    """Read a BEIR corpus.jsonl; without ``require_id`` documents lacking ``_id`` are numbered ``c<n>``."""
    for line, record, error in iter_jsonl(path):
        if error:
            problems.report("malformed_line", error, path=str(path), line=line)
            continue
        doc_id = record.get("_id")
        if doc_id is None and not require_id:
            doc_id = f"c{len(ids)}"
        if doc_id is None or str(doc_id).strip() == "":
            problems.report("missing_id", "document has no '_id' field", path=str(path), line=line)
            continue
        doc_id = str(doc_id)
        title, body = record.get("title"), record.get("text")
        if (title is not None and not isinstance(title, str)) or (body is not None and not isinstance(body, str)):
            problems.report("bad_field", f"document {doc_id!r}: 'title' and 'text' must be strings", path=str(path), line=line)
            continue
        text = document_text(title, body)
        if not text:
            problems.report("empty_text", f"document {doc_id!r} has an empty title and text", path=str(path), line=line)
            continue
        if doc_id in index:
            if texts[index[doc_id]] != text:
                problems.report(
                    "duplicate_id",
                    f"document id {doc_id!r} appears again with a different text (first seen earlier in the file)",
                    path=str(path),
                    line=line,
                )
            continue
        index[doc_id] = len(ids)
        ids.append(doc_id)
        texts.append(text)


def _read_queries_jsonl(path: Path, problems: _Problems) -> dict[str, str]:
    queries: dict[str, str] = {}
    for line, record, error in iter_jsonl(path):
        if error:
            problems.report("malformed_line", error, path=str(path), line=line)
            continue
        qid = record.get("_id")
        if qid is None or str(qid).strip() == "":
            problems.report("missing_id", "query has no '_id' field", path=str(path), line=line)
            continue
        qid = str(qid)
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            problems.report("empty_text", f"query {qid!r} has an empty text", path=str(path), line=line)
            continue
        text = text.strip()
        if qid in queries:
            if queries[qid] != text:
                problems.report(
                    "duplicate_id", f"query id {qid!r} appears again with a different text", path=str(path), line=line
                )
            continue
        queries[qid] = text
    return queries


def read_qrels(path: Path, problems: _Problems) -> list[tuple[str, str, float, int]]:
    """Rows ``(query_id, doc_id, score, line)`` of a BEIR qrels TSV, header optional."""
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for line, fields in enumerate(csv.reader(fh, delimiter="\t"), start=1):
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) == 4:  # TREC style: qid 0 docid score
                fields = [fields[0], fields[2], fields[3]]
            if len(fields) != 3:
                problems.report(
                    "malformed_line",
                    f"expected 3 tab-separated fields (query-id, corpus-id, score), got {len(fields)}",
                    path=str(path),
                    line=line,
                )
                continue
            qid, did, score = (f.strip() for f in fields)
            try:
                value = float(score)
            except ValueError:
                if line == 1:  # a header line
                    continue
                problems.report("malformed_line", f"score {score!r} is not a number", path=str(path), line=line)
                continue
            rows.append((qid, did, value, line))
    return rows


def load_beir(path: str | Path, *, split: str = "train", on_error: OnError = "raise") -> RetrievalData:
    """Load a BEIR folder; the queries are those the split's qrels judge relevant to something."""
    root = Path(path)
    problems = _Problems(on_error)
    corpus_path = require_file(root / "corpus.jsonl", "BEIR corpus file")
    queries_path = require_file(root / "queries.jsonl", "BEIR queries file")
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        available = sorted(p.stem for p in (root / "qrels").glob("*.tsv")) if (root / "qrels").is_dir() else []
        raise DataError(f"no qrels for split {split!r}; available splits: {available or 'none'}", path=str(qrels_path))

    corpus_ids: list[str] = []
    corpus_texts: list[str] = []
    corpus_index: dict[str, int] = {}
    _read_corpus_jsonl(corpus_path, problems, corpus_ids, corpus_texts, corpus_index)
    queries = _read_queries_jsonl(queries_path, problems)

    positives: dict[str, list[int]] = {}
    judged: dict[str, int] = {}  # query id -> first qrels line, for queries without positives
    for qid, did, score, line in read_qrels(qrels_path, problems):
        if qid not in queries:
            problems.report("unknown_query", f"query id {qid!r} is not in {queries_path.name}", path=str(qrels_path), line=line)
            continue
        if did not in corpus_index:
            problems.report(
                "unknown_document", f"corpus id {did!r} is not in {corpus_path.name}", path=str(qrels_path), line=line
            )
            continue
        judged.setdefault(qid, line)
        if score > 0:
            bucket = positives.setdefault(qid, [])
            if corpus_index[did] not in bucket:
                bucket.append(corpus_index[did])
    for qid, line in judged.items():
        if qid not in positives:
            problems.report(
                "no_positive", f"query {qid!r} has no judgement with score > 0 (no positive)", path=str(qrels_path), line=line
            )
    if not positives:
        raise DataError(f"split {split!r} has no query with a positive", path=str(qrels_path))

    query_ids = list(positives)
    return RetrievalData(
        corpus_ids=corpus_ids,
        corpus_texts=corpus_texts,
        query_ids=query_ids,
        query_texts=[queries[q] for q in query_ids],
        positives=[positives[q] for q in query_ids],
        inputs={"corpus": str(corpus_path), "queries": str(queries_path), "qrels": str(qrels_path)},
        skipped=problems.counts,
    )


# --- pair files -------------------------------------------------------------------------------


def _read_table(path: Path, problems: _Problems) -> tuple[list[str], list[tuple[int, dict]]]:
    """Column names and ``(line_or_row, record)`` of a JSONL, CSV/TSV or parquet file."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        rows, columns = [], []
        for line, record, error in iter_jsonl(path):
            if error:
                problems.report("malformed_line", error, path=str(path), line=line)
                continue
            for key in record:
                if key not in columns:
                    columns.append(key)
            rows.append((line, record))
        return columns, rows
    if suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            columns = list(reader.fieldnames or [])
            # DictReader counts physical lines; the header is line 1.
            return columns, [(reader.line_num, row) for row in reader]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        # Parquet has no lines: the reported number is the 1-based row.
        return table.column_names, list(enumerate(table.to_pylist(), start=1))
    raise DataError(f"unsupported file type {suffix!r}; use one of {sorted(PAIR_SUFFIXES)}", path=str(path))


def _pick_column(columns: list[str], wanted: str | None, position: int, role: str, path: Path) -> str:
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
    corpus: str | Path | None = None,
    on_error: OnError = "raise",
) -> RetrievalData:
    """Load (anchor, positive) pairs; a repeated anchor means several positives.

    Columns default to the first two, as sentence-transformers datasets are laid out. Documents
    are the distinct positive texts plus, when given, the documents of ``corpus`` (a BEIR-style
    corpus.jsonl, or a table with a ``text`` column), which are extra negative candidates.
    Query ids are ``q<n>`` in order of first appearance; documents keep a corpus file's ``_id``,
    and otherwise get ``d<n>``.
    """
    path = require_file(path, "pair file")
    problems = _Problems(on_error)
    columns, rows = _read_table(path, problems)
    anchor_col = _pick_column(columns, anchor_column, 0, "anchor", path)
    positive_col = _pick_column(columns, positive_column, 1, "positive", path)

    corpus_ids: list[str] = []
    corpus_texts: list[str] = []
    doc_by_text: dict[str, int] = {}
    inputs = {"pairs": str(path)}

    if corpus is not None:
        corpus_path = require_file(corpus, "corpus file")
        inputs["corpus"] = str(corpus_path)
        if corpus_path.suffix.lower() in (".jsonl", ".json"):
            ids: list[str] = []
            texts: list[str] = []
            index: dict[str, int] = {}
            _read_corpus_jsonl(corpus_path, problems, ids, texts, index, require_id=False)
        else:
            cols, table_rows = _read_table(corpus_path, problems)
            if "text" not in cols:
                raise DataError(f"a corpus table needs a 'text' column; columns are {cols}", path=str(corpus_path))
            ids, texts = [], []
            seen: dict[str, str] = {}
            for line, record in table_rows:
                title, body = record.get("title"), record.get("text")
                if not all(v is None or isinstance(v, str) for v in (title, body)):
                    problems.report("bad_field", "'title' and 'text' must be strings", path=str(corpus_path), line=line)
                    continue
                text = document_text(title, body)
                if not text:
                    problems.report("empty_text", "empty document text", path=str(corpus_path), line=line)
                    continue
                doc_id = str(record.get("_id") or f"c{len(ids)}")
                if doc_id in seen:
                    if seen[doc_id] != text:
                        problems.report(
                            "duplicate_id",
                            f"document id {doc_id!r} appears again with a different text",
                            path=str(corpus_path),
                            line=line,
                        )
                    continue
                seen[doc_id] = text
                ids.append(doc_id)
                texts.append(text)
        for doc_id, text in zip(ids, texts):
            if text not in doc_by_text:
                doc_by_text[text] = len(corpus_ids)
                corpus_ids.append(doc_id)
                corpus_texts.append(text)

    query_index: dict[str, int] = {}
    query_texts: list[str] = []
    positives: list[list[int]] = []
    used_ids = set(corpus_ids)
    for line, record in rows:
        anchor, positive = record.get(anchor_col), record.get(positive_col)
        bad = [
            (col, v) for col, v in ((anchor_col, anchor), (positive_col, positive)) if v is not None and not isinstance(v, str)
        ]
        if bad:
            col, value = bad[0]
            problems.report("bad_field", f"column {col!r} must hold text, got {type(value).__name__}", path=str(path), line=line)
            continue
        anchor = anchor.strip() if anchor else anchor
        positive = positive.strip() if positive else positive
        if not anchor:
            problems.report("empty_text", f"empty or missing anchor in column {anchor_col!r}", path=str(path), line=line)
            continue
        if not positive:
            problems.report(
                "no_positive", f"anchor has an empty or missing positive in column {positive_col!r}", path=str(path), line=line
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
        if doc_by_text[positive] not in positives[q]:
            positives[q].append(doc_by_text[positive])
    if not query_texts:
        raise DataError("no usable (anchor, positive) pair", path=str(path))
    return RetrievalData(
        corpus_ids=corpus_ids,
        corpus_texts=corpus_texts,
        query_ids=[f"q{i}" for i in range(len(query_texts))],
        query_texts=query_texts,
        positives=positives,
        inputs=inputs,
        skipped=problems.counts,
    )
