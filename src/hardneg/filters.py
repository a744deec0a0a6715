"""Candidate filters: each one keeps or drops candidates, and the summary counts what it dropped.

Every filter sees a :class:`FilterContext` for a batch of queries and returns a boolean *keep*
mask of the candidates' shape. Filters compose: a candidate survives when every filter keeps it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from hardneg.errors import ConfigError
from hardneg.fields import Options, check_choices, check_positive, option


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
    rows = np.repeat(np.arange(len(members), dtype=np.int64), [len(m) for m in members])
    keys = np.concatenate([np.asarray(m, dtype=np.int64).reshape(-1) for m in members]) if len(members) else np.zeros(0, np.int64)
    width = int(max(candidates.max(initial=0), keys.max(initial=0))) + 1
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
    "query_itself",
)
"""What became of a searched candidate: ``chosen`` as a negative, ``kept`` (survived every filter, not
chosen), a known positive by id or by normalised text, a near duplicate of a positive, ``beyond_window``
(ranked past the rank window's end), or the name of the filter that dropped it (the first one, in the
order they run; ``promote`` means the teacher made it a positive; ``batch_positive``, the positive of another
row of the same training batch, where the live negative cache mines; ``query_itself``, the query's own id or
text among the documents). New verdicts go at the end: the codes are stored."""


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


@dataclass
class FilterOptions(Options):
    """The rank window and the score filters: all :func:`build_filters` and the miner's window read of a run's
    configuration (the mining configuration is built from it)."""

    range_min: int = option(0, "skip this many best-ranked non-positive candidates")
    range_max: int | None = option(
        None, "look no deeper than this rank; unset, as deep as needed for top and 100 for random/simans"
    )
    max_score: float | None = option(None, "drop candidates scored above this")
    min_score: float | None = option(None, "drop candidates scored below this")
    absolute_margin: float | None = option(None, "drop candidates scored above positive - margin (TopK-MarginPos)")
    relative_margin: float | None = option(
        None, "drop candidates scored above positive - |positive| * margin (TopK-PercPos; 0.05 = 95%)"
    )
    positive_reference: str = option(
        "max",
        "which positive score of a query the margin filters compare with: its best-matching positive (max), "
        "the mean, or its weakest (min, strictest; leaves queries with many loose positives short)",
        choices=POSITIVE_REFERENCES,
    )
    extend_window: bool = option(
        True,
        "widen the rank window (doubling) of a query with fewer than num_negatives survivors in it, rather than leave it short",
    )
    max_depth: int | None = option(None, "deepest rank searched while looking for enough survivors (default: the whole corpus)")
    strict_checks: bool = option(
        True,
        "refuse settings that are likely slips or can mine nothing: a negative absolute_margin, a relative_margin "
        "outside [0, 1), num_negatives or range_min at or beyond the corpus size; off (as the drop-in runs, as "
        "sentence-transformers does), they are mined as given and short or empty output is warned about",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choices(self, "positive_reference")
        check_positive(self, "max_depth")
        if self.range_min < 0:
            raise ConfigError(f"range_min must be >= 0, got {self.range_min}")
        if self.range_max is not None and self.range_max <= self.range_min:
            raise ConfigError(
                f"range_max must be greater than range_min, got range_min={self.range_min}, range_max={self.range_max}"
            )
        if self.min_score is not None and self.max_score is not None and self.min_score > self.max_score:
            raise ConfigError(
                f"min_score={self.min_score} is above max_score={self.max_score}: no candidate can pass both; "
                "nothing would be mined"
            )
        if self.strict_checks and self.absolute_margin is not None and self.absolute_margin < 0:
            raise ConfigError(f"absolute_margin must be >= 0, got {self.absolute_margin} (strict_checks=False accepts it)")
        if self.strict_checks and self.relative_margin is not None and not 0 <= self.relative_margin < 1:
            raise ConfigError(f"relative_margin must be in [0, 1), got {self.relative_margin} (strict_checks=False accepts it)")

    @property
    def uses_score_filters(self) -> bool:
        return any(getattr(self, n) is not None for n in ("max_score", "min_score", "absolute_margin", "relative_margin"))


def build_filters(options: FilterOptions | None = None, **values: float | int | None) -> list[CandidateFilter]:
    """The filters ``options`` ask for (or a :class:`FilterOptions` of ``values``), in the order they are applied
    and counted. A new filter is its class above and one line here."""
    o = options if options is not None else FilterOptions(**values)
    filters: list[CandidateFilter] = []
    if o.range_min:
        filters.append(RankWindow(o.range_min))
    if o.max_score is not None:
        filters.append(MaxScore(o.max_score))
    if o.min_score is not None:
        filters.append(MinScore(o.min_score))
    if o.absolute_margin is not None:
        filters.append(AbsoluteMargin(o.absolute_margin))
    if o.relative_margin is not None:
        filters.append(RelativeMargin(o.relative_margin))
    return filters
