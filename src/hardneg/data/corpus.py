"""Reading a corpus: BEIR ``corpus.jsonl``, or a table (CSV, TSV, parquet, JSONL) with a ``text`` column."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hardneg.data.dataset import document_text
from hardneg.errors import DataError
from hardneg.io import memory_input, require_file
from hardneg.io.tables import Problems, read_table

Corpus = str | Path | Sequence[str] | None
"""Extra negative candidates: a corpus file, or a list of texts."""


def read_corpus(path: Path, problems: Problems, *, require_id: bool = False) -> tuple[list[str], list[str], dict[str, int]]:
    """Ids, texts and each id's position of a corpus file: a BEIR ``corpus.jsonl``, or a table with a ``text`` (and
    optional ``title`` and ``_id``) column. Without ``require_id`` documents without an id are numbered ``c<n>``."""
    ids: list[str] = []
    texts: list[str] = []
    index: dict[str, int] = {}
    if path.suffix.lower() in (".jsonl", ".json"):
        rows = problems.jsonl(path)
    else:
        columns, rows = read_table(path, problems)
        if "text" not in columns:
            raise DataError(f"a corpus table needs a 'text' column; columns are {columns}", path=str(path))
    for line, record in rows:
        _add_document(record, line, path, problems, ids, texts, index, require_id=require_id)
    return ids, texts, index


def _add_document(
    record: dict,
    line: int,
    path: Path,
    problems: Problems,
    ids: list[str],
    texts: list[str],
    index: dict[str, int],
    *,
    require_id: bool,
) -> None:
    """Check one corpus record and add it, unless it repeats an id with the same text."""
    doc_id = problems.text(record.get("_id"), "'_id'", as_id=True, path=str(path), line=line)  # stripped, as in qrels
    if doc_id is None:
        return
    if doc_id == "" and not require_id:  # a CSV cell cannot be None: empty is absent
        doc_id = f"c{len(ids)}"
    if doc_id == "":
        problems.report("missing_id", "document has no '_id' field", path=str(path), line=line)
        return
    fields = [problems.text(record.get(k), f"document {doc_id!r}: {k!r}", path=str(path), line=line) for k in ("title", "text")]
    if None in fields:
        return
    text = document_text(*fields)
    if not text:
        problems.report("empty_text", f"document {doc_id!r} has an empty title and text", path=str(path), line=line)
        return
    if doc_id in index:
        if texts[index[doc_id]] != text:
            problems.report(
                "duplicate_id",
                f"document id {doc_id!r} appears again with a different text (first seen earlier in the file)",
                path=str(path),
                line=line,
            )
        return
    index[doc_id] = len(ids)
    ids.append(doc_id)
    texts.append(text)


def corpus_documents(corpus: Corpus, problems: Problems) -> tuple[tuple[list[str], list[str]] | None, dict[str, str]]:
    """``(ids, texts)`` of an extra corpus given as a file or as a list of texts, and the manifest inputs."""
    if corpus is None:
        return None, {}
    if isinstance(corpus, str | Path):
        path = require_file(corpus, "corpus file")
        return read_corpus(path, problems)[:2], {"corpus": str(path)}
    texts: list[str] = []
    for i, text in enumerate(corpus, start=1):
        if not isinstance(text, str):
            problems.report("bad_field", f"corpus entries must be texts, got {type(text).__name__}", path="corpus", line=i)
            continue
        if text.strip():
            texts.append(text.strip())
    return ([f"c{i}" for i in range(len(texts))], texts), {"corpus": memory_input(texts)}
