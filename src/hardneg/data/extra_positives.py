"""Extra positives: relevance labels added on top of the data's own, from a qrels-style TSV.

The file is what ``hardneg inspect``'s page downloads when a reader marks mined candidates as
"actually relevant" (``query-id``, ``corpus-id``, ``score`` with a header line; TREC's four-column
``qid 0 docid score`` also reads). Every row with a score above 0 makes the document a positive of
the query, so ``hardneg mine`` never picks it as a negative again, and trains on it as a positive.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hardneg.data.beir import read_qrels
from hardneg.data.dataset import RetrievalData
from hardneg.errors import DataError
from hardneg.io.tables import OnError, Problems


def add_extra_positives(
    data: RetrievalData, path: str | Path, *, on_error: OnError = "raise", other_queries: bool = False
) -> RetrievalData:
    """``data`` with the positives of the qrels file ``path`` added (a new object; ``data`` is unchanged).

    A query or document id the data does not hold is a :class:`~hardneg.errors.DataError` naming the
    file and line (or, with ``on_error="skip"``, a warning and the row is skipped): a mark for another
    split or another corpus must not be silently lost. ``other_queries=True`` passes over rows of
    queries the data lacks, for a caller that splits one set of queries in parts (``hardneg evolve``'s
    train and dev) and checks the rows' queries itself.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("extra positives file not found (a qrels-style TSV: query-id, corpus-id, score)", path=str(path))
    problems = Problems(on_error)
    query_index = {q: i for i, q in enumerate(data.query_ids)}
    doc_index = {d: i for i, d in enumerate(data.corpus_ids)}
    positives = [list(p) for p in data.positives]
    added = 0
    for qid, did, score, line in read_qrels(path, problems):
        if score <= 0:
            continue
        if qid not in query_index:
            if other_queries:
                continue
            problems.report("unknown_query", f"query-id {qid!r} is not a query of the data", path=str(path), line=line)
            continue
        if did not in doc_index:
            problems.report("unknown_document", f"corpus-id {did!r} is not in the corpus", path=str(path), line=line)
            continue
        q, d = query_index[qid], doc_index[did]
        if d not in positives[q]:
            positives[q].append(d)
            added += 1
    skipped = dict(data.skipped)
    for kind, count in problems.counts.items():
        skipped[f"extra_positives_{kind}"] = skipped.get(f"extra_positives_{kind}", 0) + count
    return dataclasses.replace(
        data, positives=positives, inputs={**data.inputs, "extra_positives": str(path)}, skipped=skipped, extra_positives=added
    )
