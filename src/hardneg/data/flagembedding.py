"""FlagEmbedding training files as input: one JSON object per line with ``query``, ``pos`` and ``neg``.

Each line becomes one query (lines are never merged, so a line's ``prompt`` and ``type`` stay with
it). Its ``pos`` texts are its positives; every ``pos`` and ``neg`` text of the file is a document,
so the negatives the file already had remain candidates. Any field other than ``query``, ``pos``,
``neg``, ``pos_scores`` and ``neg_scores`` is carried to a ``flagembedding`` output unchanged
(:attr:`RetrievalData.query_fields`); the input's scores belong to its old negatives and are not
carried. The format as the user sees it: ``docs/flagembedding-tevatron.md``.
"""

from __future__ import annotations

from pathlib import Path

from hardneg.data.dataset import RetrievalData
from hardneg.errors import DataError
from hardneg.formats import FORMATS, Layout
from hardneg.io import iter_jsonl, require_file
from hardneg.io.tables import OnError, Problems

TEXT_FIELDS = tuple(FORMATS["flagembedding"].names())
"""``query``, ``pos``, ``neg``: the format's own columns (:data:`hardneg.formats.FORMATS`)."""
SCORE_FIELDS = tuple(name for name in FORMATS["flagembedding"].names(Layout(include_scores=True)) if name not in TEXT_FIELDS)


def is_flagembedding(path: Path) -> bool:
    """Whether ``path`` is a JSONL file whose first record has a text ``query`` and a list ``pos``."""
    if path.suffix.lower() not in (".jsonl", ".json") or not path.is_file():
        return False
    for _, record, error in iter_jsonl(path):  # the first record decides (a bad first line is the reader's to report)
        if error:
            return False
        return isinstance(record.get("query"), str) and isinstance(record.get("pos"), list)
    return False


def _texts(record: dict, key: str, path: Path, line: int, problems: Problems) -> list[str] | None:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        problems.report("bad_field", f"field {key!r} must be a list of texts", path=str(path), line=line)
        return None
    return [t.strip() for t in value if t.strip()]


def load_flagembedding(path: str | Path, *, on_error: OnError = "raise") -> RetrievalData:
    """Read a FlagEmbedding JSONL file (see the module docstring); query ids are ``q<line>``."""
    path = require_file(path, "FlagEmbedding file")
    problems = Problems(on_error)
    corpus_ids: list[str] = []
    corpus_texts: list[str] = []
    doc_by_text: dict[str, int] = {}
    query_ids: list[str] = []
    query_texts: list[str] = []
    positives: list[list[int]] = []
    fields: list[dict] = []

    def doc(text: str) -> int:
        if text not in doc_by_text:
            doc_by_text[text] = len(corpus_ids)
            corpus_ids.append(f"d{len(corpus_ids)}")
            corpus_texts.append(text)
        return doc_by_text[text]

    for line, record in problems.jsonl(path):
        query = problems.text(record.get("query"), "field 'query'", path=str(path), line=line)
        if query == "":
            problems.report("empty_text", "field 'query' must be a non-empty text", path=str(path), line=line)
        if not query:
            continue
        pos = _texts(record, "pos", path, line, problems)
        neg = _texts(record, "neg", path, line, problems)
        if pos is None or neg is None:
            continue
        if not pos:
            problems.report("no_positive", "field 'pos' has no non-empty text", path=str(path), line=line)
            continue
        query_ids.append(f"q{line}")
        query_texts.append(query)
        positives.append(list(dict.fromkeys(doc(t) for t in pos)))
        for t in neg:
            doc(t)
        fields.append({k: v for k, v in record.items() if k not in TEXT_FIELDS + SCORE_FIELDS})
    if not query_ids:
        raise DataError("no usable line (each needs a 'query' text and a 'pos' list)", path=str(path))
    return RetrievalData(
        corpus_ids=corpus_ids,
        corpus_texts=corpus_texts,
        query_ids=query_ids,
        query_texts=query_texts,
        positives=positives,
        inputs={"flagembedding": str(path)},
        skipped=problems.counts,
        query_fields=fields if any(fields) else None,
    )
