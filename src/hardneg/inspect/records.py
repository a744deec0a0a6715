"""What the inspect page shows about one query, read from a candidates file.

Each row becomes a :class:`QueryView`: the query, its positives (texts from the data the file was mined
from), and its ranked candidates with score, teacher score, verdict (:data:`hardneg.filters.VERDICTS`)
and whether the candidate looks like an unlabelled positive (*suspect*). :attr:`QueryView.suspicion`
orders the "most suspicious" sort; its ratio is taken to the positive the run's margins were mined
against (``positive_reference``). What the page shows and how it flags: ``docs/false_negatives.md``
(Seeing and fixing them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hardneg.filters import reference_of
from hardneg.formats import SHOWN_CANDIDATE_COLUMNS, CandidateRecord

SUSPECT_RATIO = 0.85
"""A candidate scored at or above this share of the query's reference positive score is flagged suspect."""
TEACHER_FLAGS = ("denoise", "promote")
"""Verdicts that mean a teacher judged the candidate relevant."""
TWIN_FLAGS = ("near_duplicate", "known_positive_text")
"""Verdicts that mean the candidate repeats a positive's text."""
ITSELF = "query_itself"
"""The verdict of a candidate that is the query itself (its id, its text, or a near duplicate of it)."""


@dataclass
class QueryView:
    """One query of a candidates file, ready to show."""

    query_id: str
    query: str
    positives: list[dict[str, Any]]
    """``{"id", "score"}`` per positive."""
    candidates: list[dict[str, Any]]
    """``{"id", "rank", "score", "teacher", "ratio", "verdict", "suspect"}`` in search order; ``rank`` counts
    from 1 among the non-positive candidates (the rank ``range_min``/``range_max`` refer to)."""
    excluded: list[dict[str, Any]] = field(default_factory=list)
    """Searched candidates that never entered the rank window: ``{"id", "score", "verdict", "suspect"}``."""
    suspicion: float = 0.0
    flags: list[str] = field(default_factory=list)
    """``ratio`` (a candidate at or above :data:`SUSPECT_RATIO`), ``teacher``, ``twin``, ``itself`` (the query itself
    is among the candidates: dropped as such, or, in a file mined without that filter, a candidate under its id)."""

    def doc_ids(self) -> set[str]:
        return {p["id"] for p in self.positives} | {c["id"] for c in self.candidates} | {c["id"] for c in self.excluded}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.query_id,
            "text": self.query,
            "positives": self.positives,
            "candidates": self.candidates,
            "excluded": self.excluded,
            "suspicion": _round(self.suspicion),
            "flags": self.flags,
        }


def _round(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def query_view(
    record: dict[str, Any], *, where: str, path: str, suspect_ratio: float = SUSPECT_RATIO, reference: str = "max"
) -> QueryView:
    """The :class:`QueryView` of one row of a candidates file (``where``: its row or line, for errors), read by
    :class:`hardneg.formats.CandidateRecord`.

    ``reference``: which positive score a candidate's ratio divides by (:func:`hardneg.filters.positive_reference`;
    the mining run's ``positive_reference``)."""
    row = CandidateRecord(record, where, path)
    row.require(SHOWN_CANDIDATE_COLUMNS)
    cand_ids = row.candidate_ids()
    scores = row.candidate_scores(required=True)
    teacher = row.teacher_scores()
    verdicts = row.verdicts()
    chosen = set(row.negative_ids())
    pos_scores = [s for s in row.positive_scores() if s is not None]
    ref = float(reference_of([np.asarray(pos_scores, dtype=np.float64)], reference)[0]) if pos_scores else None
    usable = ref is not None and math.isfinite(ref) and ref > 0  # a candidate's ratio divides by it
    candidates = []
    for rank, (doc, score, verdict) in enumerate(zip(cand_ids, scores, verdicts), start=1):
        if doc in chosen and verdict in ("kept", "dropped"):
            verdict = "chosen"
        r = score / ref if usable and score is not None else None
        suspect = (r is not None and r >= suspect_ratio) or verdict in TEACHER_FLAGS or verdict in TWIN_FLAGS
        candidates.append(
            {
                "id": doc,
                "rank": rank,
                "score": _round(score),
                "teacher": _round(teacher[rank - 1]) if teacher else None,
                "ratio": _round(r),
                "verdict": verdict,
                "suspect": bool(suspect),
            }
        )
    positives = [{"id": d, "score": _round(s)} for d, s in zip(row.positive_ids(), row.positive_scores())]
    positive_ids = {p["id"] for p in positives}
    excluded = []
    ex_ids = row.excluded_ids()
    ex_scores = row.excluded_scores() or [None] * len(ex_ids)
    for doc, score, verdict in zip(ex_ids, ex_scores, row.excluded_verdicts()):
        if doc in positive_ids:
            continue  # the labelled positives are shown as such
        excluded.append({"id": doc, "score": _round(score), "verdict": verdict, "suspect": verdict in TWIN_FLAGS})
    best = max((c["ratio"] for c in candidates if c["ratio"] is not None), default=0.0)
    flags = []
    if best >= suspect_ratio:
        flags.append("ratio")
    if any(c["verdict"] in TEACHER_FLAGS for c in candidates):
        flags.append("teacher")
    if any(c["verdict"] in TWIN_FLAGS for c in candidates + excluded):
        flags.append("twin")
    if any(c["verdict"] == ITSELF or c["id"] == row.query_id for c in candidates + excluded):
        flags.append("itself")
    suspicion = best + ("teacher" in flags) + ("twin" in flags)
    return QueryView(row.query_id, str(row.query), positives, candidates, excluded, suspicion=suspicion, flags=flags)


def sample_queries(views: list[QueryView], size: int | None, seed: int) -> list[int]:
    """Indices of the queries the page holds: all when ``size`` is ``None`` or covers them, else the
    ``size // 2`` most suspicious and a seeded random draw of the rest, in file order."""
    if size is None or len(views) <= size:
        return list(range(len(views)))
    order = sorted(range(len(views)), key=lambda i: (-views[i].suspicion, i))
    top = order[: size // 2]
    rest = np.array(order[size // 2 :])
    drawn = np.random.default_rng(seed).choice(rest, size=size - len(top), replace=False).tolist()
    return sorted(top + drawn)
