"""BEIR folders: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``."""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from pathlib import Path

from hardneg.data.corpus import read_corpus
from hardneg.data.dataset import AbsentDocuments, RetrievalData
from hardneg.errors import ConfigError, DataError
from hardneg.io import iter_text_lines, require_file
from hardneg.io.tables import OnError, Problems

logger = logging.getLogger(__name__)


def _read_queries_jsonl(path: Path, problems: Problems) -> dict[str, str]:
    queries: dict[str, str] = {}
    for line, record in problems.jsonl(path):
        qid = problems.text(record.get("_id"), "'_id'", as_id=True, path=str(path), line=line)  # stripped, as in qrels
        if qid == "":
            problems.report("missing_id", "query has no '_id' field", path=str(path), line=line)
            continue
        text = None if qid is None else problems.text(record.get("text"), f"query {qid!r}: 'text'", path=str(path), line=line)
        if text == "":
            problems.report("empty_text", f"query {qid!r} has an empty text", path=str(path), line=line)
        if not text:
            continue
        if qid in queries:
            if queries[qid] != text:
                problems.report(
                    "duplicate_id", f"query id {qid!r} appears again with a different text", path=str(path), line=line
                )
            continue
        queries[qid] = text
    return queries


HEADER_NAMES = {
    "query-id",
    "query_id",
    "qid",
    "query",
    "corpus-id",
    "corpus_id",
    "doc-id",
    "doc_id",
    "docid",
    "score",
    "relevance",
    "label",
    "rel",
    "iteration",
    "iter",
    "q0",
}
"""Column names a qrels header may use (lower-cased)."""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_qrels(path: Path, problems: Problems) -> list[tuple[str, str, float, int]]:
    """Rows ``(query_id, doc_id, score, line)`` of a qrels file, BEIR (3 fields) or TREC (4), header optional.

    Lines are split on tabs literally (an id may hold quotes). A file that mixes 3 and 4 fields is refused, since
    a 4-field line could as well be an id holding a tab. The format, header and id rules: ``docs/reliability.md``
    (Input: parsed exactly, or refused).
    """
    lines: list[tuple[int, list[str]]] = []
    for number, text in enumerate(iter_text_lines(path), start=1):
        text = text.rstrip()  # trailing tabs or spaces are not an empty fourth field
        if text:
            lines.append((number, [f.strip() for f in text.split("\t")]))
    if not lines:
        return []
    first_line, first = lines[0]
    if len(first) in (3, 4) and not _is_number(first[-1]):
        named = {f.lower() for f in first} & HEADER_NAMES
        others_parse = all(len(f) == len(first) and _is_number(f[-1]) for _, f in lines[1:])
        if named or (others_parse and not any(ch.isdigit() for ch in first[-1])):
            lines = lines[1:]
    counts = {len(f) for _, f in lines}
    if counts == {3, 4}:
        three = next(n for n, f in lines if len(f) == 3)
        four = next(n for n, f in lines if len(f) == 4)
        raise DataError(
            f"line {four} has 4 tab-separated fields and line {three} has 3: a qrels file is either BEIR "
            "(query-id, corpus-id, score) or TREC (query-id, iteration, corpus-id, score), not both; "
            "or an id holds a tab",
            path=str(path),
            line=four,
        )
    trec = 4 in counts and 3 not in counts
    width = 4 if trec else 3
    rows = []
    for line, fields in lines:
        if len(fields) != width:
            expected = "4 (TREC: query-id, iteration, corpus-id, score)" if trec else "3 (query-id, corpus-id, score)"
            problems.report(
                "malformed_line",
                f"expected {expected} tab-separated fields, got {len(fields)}; does an id hold a tab?",
                path=str(path),
                line=line,
            )
            continue
        if trec:
            if not (fields[1].upper() == "Q0" or fields[1].lstrip("-").isdigit()):
                problems.report(
                    "malformed_line",
                    f"TREC qrels: the second field is the iteration (0 or Q0), got {fields[1]!r}; does an id hold a tab?",
                    path=str(path),
                    line=line,
                )
                continue
            fields = [fields[0], fields[2], fields[3]]
        qid, did, score = fields
        if not (_is_number(score) and math.isfinite(float(score))):  # nan or inf is no relevance
            kind = "a finite number" if _is_number(score) else "a number"
            problems.report("malformed_line", f"score {score!r} is not {kind}", path=str(path), line=line)
            continue
        if not qid or not did:
            problems.report("missing_id", "empty query-id or corpus-id", path=str(path), line=line)
            continue
        rows.append((qid, did, float(score), line))
    return _without_conflicts(rows, path, problems)


def _without_conflicts(
    rows: list[tuple[str, str, float, int]], path: Path, problems: Problems
) -> list[tuple[str, str, float, int]]:
    """``rows`` less every (query, document) judged more than once with different scores: an error naming the
    lines, or (skipping) none of that pair's lines is kept and each is counted as ``conflicting_judgement``."""
    scores: dict[tuple[str, str], dict[float, int]] = defaultdict(dict)  # first line of each score, in file order
    for qid, did, score, line in rows:
        scores[qid, did].setdefault(score, line)
    conflicts = [pair for pair, seen in scores.items() if len(seen) > 1]
    lines = Counter((qid, did) for qid, did, _, _ in rows)
    for qid, did in conflicts:
        seen = sorted(scores[qid, did].items(), key=lambda item: item[1])
        problems.report(
            "conflicting_judgement",
            f"query {qid!r} and document {did!r} are judged with different scores: "
            + ", ".join(f"{score:g} at line {line}" for score, line in seen),
            path=str(path),
            line=seen[1][1],
        )
        problems.count("conflicting_judgement", lines[qid, did] - 1)
    refused = set(conflicts)
    return [row for row in rows if (row[0], row[1]) not in refused]


def load_beir(
    path: str | Path, *, split: str = "train", on_error: OnError = "raise", absent_documents: AbsentDocuments = "refuse"
) -> RetrievalData:
    """Load a BEIR folder; the queries are those the split's qrels judge relevant to something.

    Some official BEIR releases judge documents their ``corpus.jsonl`` lacks. ``absent_documents="refuse"``
    (mining: a training pair needs the document's text) treats such a line as bad input, an error or, with
    ``on_error="skip"``, a counted skip. ``"judge"`` (evaluation) keeps it in
    :attr:`~hardneg.data.RetrievalData.absent_positives`, with one warning naming the lines and their
    count: BEIR and MTEB score such a document as relevant and never retrieved, so it counts in the ideal
    DCG and in recall's denominator, and a query whose every relevant document is absent scores 0.
    """
    if absent_documents not in ("refuse", "judge"):
        raise ConfigError(f"absent_documents must be 'refuse' or 'judge', got {absent_documents!r}")
    root = Path(path)
    problems = Problems(on_error)
    corpus_path = require_file(root / "corpus.jsonl", "BEIR corpus file")
    queries_path = require_file(root / "queries.jsonl", "BEIR queries file")
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        available = sorted(p.stem for p in (root / "qrels").glob("*.tsv")) if (root / "qrels").is_dir() else []
        raise DataError(f"no qrels for split {split!r}; available splits: {available or 'none'}", path=str(qrels_path))

    corpus_ids, corpus_texts, corpus_index = read_corpus(corpus_path, problems, require_id=True)
    queries = _read_queries_jsonl(queries_path, problems)

    positives: dict[str, list[int]] = {}
    absent: dict[str, dict[str, float]] = {}
    absent_lines: list[int] = []
    judged: dict[str, int] = {}  # query id -> first qrels line, for queries without positives
    for qid, did, score, line in read_qrels(qrels_path, problems):
        if qid not in queries:
            problems.report("unknown_query", f"query id {qid!r} is not in {queries_path.name}", path=str(qrels_path), line=line)
            continue
        if did not in corpus_index:
            if absent_documents == "judge":
                absent_lines.append(line)
                if score > 0:
                    absent.setdefault(qid, {})[did] = score
                    positives.setdefault(qid, [])
                continue
            hint = (
                "; --on-error skip leaves such lines out (hardneg eval, audit and tune accept them, as BEIR does)"
                if on_error == "raise"
                else ""
            )
            problems.report(
                "unknown_document", f"corpus id {did!r} is not in {corpus_path.name}{hint}", path=str(qrels_path), line=line
            )
            continue
        judged.setdefault(qid, line)
        if score > 0:
            bucket = positives.setdefault(qid, [])
            if corpus_index[did] not in bucket:
                bucket.append(corpus_index[did])
    if absent_lines:
        logger.warning("%s", absent_warning(qrels_path, corpus_path.name, absent_lines))
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
        absent_positives=absent,
    )


def absent_warning(qrels_path: Path, corpus_name: str, lines: list[int], shown: int = 10) -> str:
    """The one warning about judgements of documents absent from the corpus: how many, and on which lines."""
    listed = ", ".join(map(str, lines[:shown])) + (f" and {len(lines) - shown} more" if len(lines) > shown else "")
    return (
        f"{qrels_path}: {len(lines)} judgement{'s' if len(lines) != 1 else ''} of documents absent from {corpus_name} "
        f"(line{'s' if len(lines) != 1 else ''} {listed}); each counts as relevant and never retrieved, as BEIR and MTEB count it"
    )
