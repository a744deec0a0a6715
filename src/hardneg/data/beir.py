"""BEIR folders: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``."""

from __future__ import annotations

import csv
from pathlib import Path

from hardneg.data.corpus import read_corpus_jsonl
from hardneg.data.dataset import OnError, Problems, RetrievalData
from hardneg.errors import DataError
from hardneg.io import iter_jsonl, require_file


def _read_queries_jsonl(path: Path, problems: Problems) -> dict[str, str]:
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


def read_qrels(path: Path, problems: Problems) -> list[tuple[str, str, float, int]]:
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
    problems = Problems(on_error)
    corpus_path = require_file(root / "corpus.jsonl", "BEIR corpus file")
    queries_path = require_file(root / "queries.jsonl", "BEIR queries file")
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        available = sorted(p.stem for p in (root / "qrels").glob("*.tsv")) if (root / "qrels").is_dir() else []
        raise DataError(f"no qrels for split {split!r}; available splits: {available or 'none'}", path=str(qrels_path))

    corpus_ids: list[str] = []
    corpus_texts: list[str] = []
    corpus_index: dict[str, int] = {}
    read_corpus_jsonl(corpus_path, problems, corpus_ids, corpus_texts, corpus_index)
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
