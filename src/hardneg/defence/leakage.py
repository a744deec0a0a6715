"""Leakage guard: documents judged relevant for evaluation queries are never training negatives.

A document that a dev or test qrels file marks relevant is exactly what the evaluation will ask the
model to rank high. Training the model to push it away from (similar) training queries biases the
evaluation, and such documents are disproportionately likely to be relevant to training queries
too. This filter drops them from the candidates, by document id, and the summary counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hardneg.data import Problems, RetrievalData, read_qrels
from hardneg.io import require_file


@dataclass
class ExcludedDocuments:
    """Drops candidates whose document is in ``excluded`` (a boolean per corpus document)."""

    excluded: np.ndarray
    name: str = "exclude_qrels"
    sources: dict[str, int] = field(default_factory=dict)
    """Per qrels file, how many of its relevant documents are in the corpus."""
    unknown: int = 0
    """Relevant documents of the qrels files that are not in the corpus."""

    def keep(self, ctx) -> np.ndarray:
        idx = ctx.indices
        return (idx < 0) | ~self.excluded[np.maximum(idx, 0)]

    @property
    def count(self) -> int:
        return int(self.excluded.sum())


def excluded_documents(paths: Sequence[str], data: RetrievalData) -> ExcludedDocuments:
    """Documents of ``data``'s corpus judged relevant (score > 0) in any of the qrels ``paths``."""
    index = {doc_id: i for i, doc_id in enumerate(data.corpus_ids)}
    excluded = np.zeros(len(data.corpus_ids), dtype=bool)
    sources: dict[str, int] = {}
    unknown = 0
    for path in paths:
        rows = read_qrels(require_file(path, "exclude_qrels file"), Problems("raise"))
        found = 0
        for _qid, doc_id, score, _line in rows:
            if score <= 0:
                continue
            i = index.get(doc_id)
            if i is None:
                unknown += 1
                continue
            found += not excluded[i]
            excluded[i] = True
        sources[str(path)] = found
    return ExcludedDocuments(excluded, sources=sources, unknown=unknown)
