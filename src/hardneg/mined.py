"""What mining found for a batch of queries: the record the miner produces and the writers, the resume
store, the refreshers and the inspect page read. It lives below all of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hardneg.filters import VERDICTS

VERDICT_CODE = {name: code for code, name in enumerate(VERDICTS)}
"""Each verdict's int8 code in :attr:`MinedBatch.verdicts` and the candidates file."""


@dataclass
class MinedBatch:
    """What mining found for a batch of queries (indices into the data's queries and corpus)."""

    queries: np.ndarray
    positive_scores: list[np.ndarray]
    """Per query, the score of each of its positives (same order as ``data.positives``)."""
    negatives: np.ndarray
    """(queries, n) chosen negatives in rank order, ``-1`` where a query is short."""
    negative_scores: np.ndarray
    candidates: np.ndarray
    """(queries, depth) non-positive candidates in rank order, ``-1`` padded."""
    candidate_scores: np.ndarray
    candidate_kept: np.ndarray
    promoted: list[np.ndarray] | None = None
    """Per query, candidates promoted to positives by the teacher (RocketQA t_pos); ``None`` without promotion."""
    promoted_scores: list[np.ndarray] | None = None
    verdicts: np.ndarray | None = None
    """(queries, depth) int8 codes into :data:`VERDICTS`: what became of each searched candidate."""
    excluded: np.ndarray | None = None
    """(queries, depth) the searched candidates that never entered the rank window (known positives,
    near duplicates, candidates beyond the window), at their search positions; ``-1`` elsewhere."""
    teacher_scores: np.ndarray | None = None
    """(queries, depth) the teacher's score of each candidate (NaN where it scored none); ``None`` without a teacher."""
