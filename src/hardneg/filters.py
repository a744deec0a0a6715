"""Candidate filters: each one keeps or drops candidates, and the summary counts what it dropped.

Every filter sees a :class:`FilterContext` for a batch of queries and returns a boolean *keep*
mask of the candidates' shape. Filters compose: a candidate survives when every filter keeps it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class FilterContext:
    scores: np.ndarray
    """(queries, depth) candidate scores."""
    ranks: np.ndarray
    """(queries, depth) rank among the query's non-positive candidates, from 0."""
    positive_score: np.ndarray
    """(queries,) each query's reference positive score: its best, mean or weakest positive's
    (``positive_reference``, :func:`positive_reference`)."""
    indices: np.ndarray | None = None
    """(queries, depth) corpus index of each candidate, ``-1`` for none (filters by document use it)."""
    teacher_scores: np.ndarray | None = None
    """(queries, depth) the teacher's scores when there is a teacher (RocketQA's filters use them)."""


POSITIVE_REFERENCES = ("max", "mean", "min")
"""Which of a query's positive scores the positive-aware filters compare candidates with."""


def positive_reference(scores: np.ndarray, how: str = "max") -> np.ndarray:
    """Each row's reference score among its positives' ``scores`` (queries × positives; NaN or ±inf pads).

    ``max`` (the default) judges a candidate against the query's best-matching positive, as with one
    positive per query: a candidate that scores nearly as high as it is suspect. ``min`` judges it
    against the weakest positive, the strictest choice: on data whose queries have many loosely
    related positives (NFCorpus: about 43 per training query, many scoring near 0) it leaves almost
    no candidate, and the query's pairs go short. A row without a positive score gets ``inf``.
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim == 1:
        values = values[None, :]
    finite = np.isfinite(values)
    if how == "max":
        out = np.where(finite, values, -np.inf).max(axis=1)
    elif how == "min":
        out = np.where(finite, values, np.inf).min(axis=1)
    elif how == "mean":
        with warnings.catch_warnings():  # a row of pads only: "mean of empty slice"; it gets inf below
            warnings.simplefilter("ignore", RuntimeWarning)
            out = np.nanmean(np.where(finite, values, np.nan), axis=1)
    else:
        raise ValueError(f"positive reference must be one of {POSITIVE_REFERENCES}, got {how!r}")
    return np.where(finite.any(axis=1), out, np.inf)


def reference_of(per_query: list[np.ndarray], how: str = "max") -> np.ndarray:
    """:func:`positive_reference` of ragged per-query positive scores."""
    width = max((len(v) for v in per_query), default=0)
    padded = np.full((len(per_query), max(width, 1)), np.nan)
    for row, values in enumerate(per_query):
        padded[row, : len(values)] = values
    return positive_reference(padded, how)


def member_mask(candidates: np.ndarray, members: list[np.ndarray] | list[list[int]]) -> np.ndarray:
    """``candidates[r, j] in members[r]`` for every row ``r``: which candidates are among a row's known items.

    Both are non-negative integer keys (corpus indices, or text-group ids of them); ``-1`` candidates
    are never members. Vectorised over the batch: each (row, key) pair becomes one integer.
    """
    candidates = np.asarray(candidates, dtype=np.int64)
    width = int(max(candidates.max(initial=0), max((int(np.max(m, initial=0)) for m in members), default=0))) + 1
    rows = np.repeat(np.arange(len(members), dtype=np.int64), [len(m) for m in members])
    keys = np.concatenate([np.asarray(m, dtype=np.int64).reshape(-1) for m in members]) if len(members) else np.zeros(0, np.int64)
    row_col = np.arange(len(candidates), dtype=np.int64)[:, None]
    return (candidates >= 0) & np.isin(row_col * width + np.maximum(candidates, 0), rows * width + keys)


VERDICTS = (
    "kept",
    "chosen",
    "known_positive_id",
    "known_positive_text",
    "near_duplicate",
    "beyond_window",
    "exclude_qrels",
    "denoise",
    "promote",
    "rank_window",
    "max_score",
    "min_score",
    "absolute_margin",
    "relative_margin",
    "batch_positive",
)
"""What became of a searched candidate: ``chosen`` as a negative, ``kept`` (survived every filter, not
chosen), a known positive by id or by normalised text, a near duplicate of a positive, ``beyond_window``
(ranked past the rank window's end), or the name of the filter that dropped it (the first one, in the
order they run; ``promote`` means the teacher made it a positive; ``batch_positive``, the positive of another
row of the same training batch, where the live negative cache mines). New verdicts go at the end: the codes
are stored."""


def rank_window(nonpositive: np.ndarray, window_end: int | np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's rank among its row's non-positive candidates (0 = best), and the mask of the
    non-positive candidates ranked below ``window_end`` (one end for all rows, one per row, or ``None``: no end)."""
    ranks = np.cumsum(nonpositive, axis=1) - 1
    if window_end is None:
        return ranks, nonpositive.copy()
    return ranks, nonpositive & (ranks < np.reshape(window_end, (-1, 1)))


class CandidateFilter(Protocol):
    name: str

    def keep(self, ctx: FilterContext) -> np.ndarray: ...


@dataclass
class RankWindow:
    """Skip the ``range_min`` best-ranked non-positive candidates (likely unlabelled positives)."""

    range_min: int
    name: str = "rank_window"

    def keep(self, ctx: FilterContext) -> np.ndarray:
        return ctx.ranks >= self.range_min


@dataclass
class MaxScore:
    """Drop candidates scored above ``threshold`` (too close to the query to trust)."""

    threshold: float
    name: str = "max_score"

    def keep(self, ctx: FilterContext) -> np.ndarray:
        return ctx.scores <= self.threshold


@dataclass
class MinScore:
    """Drop candidates scored below ``threshold`` (too easy to teach anything)."""

    threshold: float
    name: str = "min_score"

    def keep(self, ctx: FilterContext) -> np.ndarray:
        return ctx.scores >= self.threshold


@dataclass
class AbsoluteMargin:
    """NV-Retriever TopK-MarginPos: drop a candidate when ``score > positive − margin``."""

    margin: float
    name: str = "absolute_margin"

    def keep(self, ctx: FilterContext) -> np.ndarray:
        return ctx.scores <= (ctx.positive_score - self.margin)[:, None]


@dataclass
class RelativeMargin:
    """NV-Retriever TopK-PercPos: drop a candidate when ``score > positive − |positive|·margin``.

    ``margin=0.05`` keeps candidates below 95 % of the positive's score (the paper's best
    setting). Using ``|positive|`` keeps the rule meaning "further from the query than the
    positive by this fraction" when scores are negative too.
    """

    margin: float
    name: str = "relative_margin"

    def keep(self, ctx: FilterContext) -> np.ndarray:
        pos = ctx.positive_score
        return ctx.scores <= (pos - np.abs(pos) * self.margin)[:, None]


@dataclass
class BatchPositives:
    """Drop, per query row, the documents listed for it: where the live negative cache mines a training batch,
    the other rows' positives (a negative that is another row's positive is a false in-batch negative)."""

    documents: list[np.ndarray]
    name: str = "batch_positive"

    def keep(self, ctx: FilterContext) -> np.ndarray:
        return ~member_mask(ctx.indices, self.documents)


def build_filters(
    *,
    range_min: int = 0,
    max_score: float | None = None,
    min_score: float | None = None,
    absolute_margin: float | None = None,
    relative_margin: float | None = None,
) -> list[CandidateFilter]:
    """The filters a configuration asks for, in the order they are applied and counted."""
    filters: list[CandidateFilter] = []
    if range_min:
        filters.append(RankWindow(range_min))
    if max_score is not None:
        filters.append(MaxScore(max_score))
    if min_score is not None:
        filters.append(MinScore(min_score))
    if absolute_margin is not None:
        filters.append(AbsoluteMargin(absolute_margin))
    if relative_margin is not None:
        filters.append(RelativeMargin(relative_margin))
    return filters
