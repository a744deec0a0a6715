"""Mining one batch of queries: search, filter, search deeper where needed, select.

:class:`BatchMiner` holds everything a batch needs (what the rule reads of the data, the candidate
source and scorer, the false-negative defence, the filters and the selection) and nothing of the run
around it (no model, no engine, no writer, not the data itself), so an engine can ship it to a worker
as it is and every batch's rows are the same wherever it was mined.
"""

from __future__ import annotations

import copy
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hardneg.candidates import Candidates
from hardneg.candidates.base import pad_to
from hardneg.candidates.scoring import NoScorer, Scorer
from hardneg.data import RetrievalData
from hardneg.data.dataset import normalize_text, positives_matrix
from hardneg.filters import CandidateFilter, FilterContext, member_mask, positive_reference, rank_window
from hardneg.io import memory_input
from hardneg.mined import VERDICT_CODE, MinedBatch
from hardneg.mining.summary import quantiles
from hardneg.selection import Selection, SelectionContext, id_hashes

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from hardneg.encoding.encode import Encoder
    from hardneg.writers import RowBuilder


def verdict_codes(masks: dict, chosen_positions: np.ndarray) -> np.ndarray:
    """Per searched candidate, its :data:`~hardneg.filters.VERDICTS` code from :meth:`BatchMiner._evaluate`'s masks.

    ``chosen_positions``: (queries, n) positions into the searched candidates, ``-1`` where a query is short.
    """
    codes = np.full(masks["valid"].shape, VERDICT_CODE["beyond_window"], dtype=np.int8)
    codes[masks["keep"]] = VERDICT_CODE["kept"]
    # reversed so that the first filter to drop a candidate names it
    for name, mask in reversed(list(masks["dropped"].items())):
        if name not in VERDICT_CODE:
            raise ValueError(f"filter {name!r} has no verdict in hardneg.filters.VERDICTS")
        codes[mask] = VERDICT_CODE[name]
    codes[masks["is_pos_text"]] = VERDICT_CODE["known_positive_text"]
    codes[masks["is_pos_id"]] = VERDICT_CODE["known_positive_id"]
    rows, cols = np.nonzero(chosen_positions >= 0)
    codes[rows, chosen_positions[rows, cols]] = VERDICT_CODE["chosen"]
    codes[~masks["valid"]] = -1
    return codes


@dataclass
class Timer:
    """Seconds spent per stage; ``with timer("search"): ...`` adds to ``seconds["search"]``."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@dataclass(frozen=True)
class TextGroups:
    """Per document, a group number shared by every document with the same normalised text (a copy of a
    positive is a positive too), and per group the hash of that text, to find a query's own text among them."""

    of_document: np.ndarray
    hashes: np.ndarray
    """Per group, ``hash()`` of its normalised text: valid in this process only (Python salts string hashes)."""

    def documents_of(self, texts: list[str], corpus_texts: list[str]) -> list[np.ndarray]:
        """Per text, the documents whose normalised text is the same (each match checked on the texts)."""
        out = [np.zeros(0, np.int64)] * len(texts)
        if not len(self.hashes):
            return out
        wanted = [normalize_text(t) for t in texts]
        order = np.argsort(self.hashes, kind="stable")
        keys = np.array([hash(t) for t in wanted], dtype=np.int64)
        at = np.minimum(np.searchsorted(self.hashes[order], keys), len(order) - 1)
        group_of_text = np.where(self.hashes[order][at] == keys, order[at], -1)
        matched = np.unique(group_of_text[group_of_text >= 0])
        if not matched.size:
            return out
        docs = np.nonzero(np.isin(self.of_document, matched))[0]
        by_group: dict[int, list[int]] = {}
        for d in docs.tolist():
            by_group.setdefault(int(self.of_document[d]), []).append(d)
        for i, g in enumerate(group_of_text.tolist()):
            if g >= 0:
                same = [d for d in by_group[g] if normalize_text(corpus_texts[d]) == wanted[i]]
                out[i] = np.array(same, dtype=np.int64)
        return out


_REMEMBERED_GROUPS: dict[str, TextGroups] = {}
"""The last corpora's text groups in this process, by their content's digest (a drop-in called again, a refresh)."""

REMEMBER_GROUPS_UP_TO = 200_000
"""Larger corpora are grouped anew each time: hashing them to look them up would cost a one-shot run too much."""


def text_groups(corpus_texts: list[str]) -> TextGroups:
    """The corpus's :class:`TextGroups`. Read-only; a corpus of up to :data:`REMEMBER_GROUPS_UP_TO` texts grouped
    before in this process is looked up by its digest instead of normalised again (a tenth of the time)."""
    key = memory_input(corpus_texts) if len(corpus_texts) <= REMEMBER_GROUPS_UP_TO else None
    if key is not None and key in _REMEMBERED_GROUPS:
        return _REMEMBERED_GROUPS[key]
    groups: dict[str, int] = {}
    of_document = np.array([groups.setdefault(normalize_text(t), len(groups)) for t in corpus_texts], dtype=np.int64)
    hashes = np.fromiter((hash(t) for t in groups), dtype=np.int64, count=len(groups))
    for array in (of_document, hashes):
        array.flags.writeable = False
    out = TextGroups(of_document, hashes)
    if key is not None:
        while len(_REMEMBERED_GROUPS) >= 2:
            del _REMEMBERED_GROUPS[next(iter(_REMEMBERED_GROUPS))]
        _REMEMBERED_GROUPS[key] = out
    return out


def query_itself_documents(data: RetrievalData, groups: TextGroups) -> list[np.ndarray]:
    """Per query, the documents that are the query itself: the document with the query's id (BEIR's convention,
    under which evaluation ignores a query's own id among its results) and every document with its normalised text.

    Corpora that hold their queries (duplicate questions, FAQs, argument retrieval) would otherwise offer each
    query as its own hardest negative: it scores about 1.0 whatever the model learns.
    """
    by_text = groups.documents_of(data.query_texts, data.corpus_texts)
    query_of_id = {qid: q for q, qid in enumerate(data.query_ids)}
    same_id: dict[int, int] = {}
    for d, cid in enumerate(data.corpus_ids):
        q = query_of_id.get(cid)
        if q is not None:
            same_id[q] = d
    return [np.union1d(docs, [same_id[q]]).astype(np.int64) if q in same_id else docs for q, docs in enumerate(by_text)]


def twin_positives(query_texts: list[str], positives: list[list[int]]) -> list[list[int]]:
    """Per query, its known positives: its own and those of every query with the same normalised text
    (one query's positive must never be a negative of its textual twin)."""
    by_text: dict[str, list[int]] = {}
    for q, text in enumerate(query_texts):
        by_text.setdefault(normalize_text(text), []).append(q)
    known = [list(p) for p in positives]
    for twins in (t for t in by_text.values() if len(t) > 1):
        union = list(dict.fromkeys(d for q in twins for d in positives[q]))
        for q in twins:
            known[q] = union
    return known


@dataclass(frozen=True)
class RuleTables:
    """What the rule reads of the data, computed once by :meth:`of` and shared read-only by every copy of the rule
    (:meth:`BatchMiner.with_parts`): per query its id, text, labelled positives and known positives (its own and
    its textual twins'), the documents that are the query itself, and how many documents count as its positives by
    text; per document its text group; the id hashes seeded choices are keyed by."""

    query_ids: list[str]
    query_texts: list[str]
    positives: list[list[int]]
    documents: int
    known_positives: list[list[int]]
    group: np.ndarray
    """Per document, its :class:`TextGroups` group: a copy of a positive is a positive too."""
    query_itself: list[np.ndarray]
    text_positive_count: np.ndarray
    """Per query, the documents that can be dropped as its positives or as itself (the search goes that much deeper)."""
    query_hashes: np.ndarray
    doc_hashes: np.ndarray

    @classmethod
    def of(cls, data: RetrievalData) -> RuleTables:
        groups = text_groups(data.corpus_texts)
        group = groups.of_document
        group_sizes = np.bincount(group, minlength=max(1, int(group.max(initial=-1)) + 1))
        known = twin_positives(data.query_texts, data.positives)
        itself = query_itself_documents(data, groups)
        count = [int(group_sizes[np.unique(group[p])].sum()) + len(s) for p, s in zip(known, itself)]
        return cls(
            query_ids=data.query_ids,
            query_texts=data.query_texts,
            positives=data.positives,
            documents=len(data.corpus_ids),
            known_positives=known,
            group=group,
            query_itself=itself,
            text_positive_count=np.array(count, dtype=np.int64),
            query_hashes=id_hashes(data.query_ids),
            doc_hashes=id_hashes(data.corpus_ids),
        )


@dataclass
class BatchResult:
    """What mining one batch of queries produced."""

    mined: MinedBatch
    stats: MiningStats
    """The batch's counters, merged into the run's in order."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Time spent per stage on this batch."""


@dataclass(frozen=True)
class RuleSettings:
    """The few settings the mining rule reads, taken once from the options by :func:`hardneg.mining.rule.build_miner`."""

    range_min: int
    window_end: int | None
    """Where the rank window ends (the options' ``effective_range_max``); ``None``: as deep as survivors need."""
    max_depth: int | None
    extend_window: bool
    deeper_for_scores: bool
    """Score filters are on: without a window, search ten times deeper than ``n`` for survivors."""
    positive_reference: str
    top: bool
    """The selection takes the best survivors: a query is done once it has ``n``, its window need not be full."""
    rescore: bool
    """The sampler's candidates have no scores of their own: the scorer scores them (unless it is :class:`NoScorer`)."""
    exclude_query_itself: bool
    teacher_score_filters: bool


class BatchMiner:
    """Mines batches of queries with a prepared candidate source, scorer, filters and selection.

    Args:
        settings: what the rule reads of the options.
        tables: what the rule reads of the data.
        source: the candidate source (``None``: pairs only).
        scorer: scores (query, document) pairs in the source's score space.
        defence: the false-negative defence stage, or ``None``.
        filters: the score and window filters after the defence's.
        selection: how negatives are chosen among the survivors.
    """

    def __init__(
        self,
        settings: RuleSettings,
        tables: RuleTables,
        *,
        source: Any,
        scorer: Scorer,
        defence: Any,
        filters: list[CandidateFilter],
        selection: Selection,
    ):
        self.settings, self.tables = settings, tables
        self.source, self.scorer, self.defence, self.filters, self.selection = source, scorer, defence, filters, selection
        self.observers: list[Any] = []
        """Objects with ``observe(mined)``, called with every :class:`MinedBatch` (the audit reads its verdicts)."""
        self.timer = Timer()

    def with_parts(
        self,
        *,
        source: Any = None,
        scorer: Scorer | None = None,
        selection: Selection | None = None,
        extra_filters: list[CandidateFilter] = (),
        settings: RuleSettings | None = None,
        filters: list[CandidateFilter] | None = None,
    ) -> BatchMiner:
        """This rule with another candidate source, scorer or selection, or more filters (run after its own).

        ``settings`` and ``filters`` replace the rule's own (the tuner compares settings of one rule over the
        same data this way: :func:`hardneg.mining.rule.build_miner` with ``share``).

        The refreshers inside training mine with the weights being trained: they search a re-ranked pool or a
        live embedding table instead of the mining run's index, and keep everything else: known positives by
        id and text, near duplicates, the leakage guard, the teacher, the filters, widening and the selection.
        The copy shares this miner's read-only :class:`RuleTables`, so it costs nothing to make.
        """
        clone = copy.copy(self)
        clone.source = self.source if source is None else source
        clone.scorer = self.scorer if scorer is None else scorer
        clone.selection = self.selection if selection is None else selection
        clone.settings = self.settings if settings is None else settings
        clone.filters = [*(self.filters if filters is None else filters), *extra_filters]
        clone.observers = []
        clone.timer = Timer()
        return clone

    def mine_queries(self, queries: np.ndarray, n: int) -> BatchResult:
        """Mine one batch of queries on its own, with its own counters and timings.

        Every engine runs this for each batch (the Ray engine in its workers), so a batch's rows
        are the same wherever it was mined.
        """
        self.timer = Timer()
        stats = self.new_stats()
        mined = self._mine_batch(queries, n, stats)
        if logger.isEnabledFor(logging.DEBUG):
            found = (mined.negatives >= 0).sum(1) if mined.negatives.size else np.zeros(len(queries), int)
            logger.debug(
                "batch of %d queries (first %s): searched to depth %d, %d window(s) widened, negatives per query "
                "min %d mean %.2f of %d; seconds %s",
                len(queries), self.tables.query_ids[queries[0]], mined.candidates.shape[1], len(stats.widened),
                int(found.min()) if found.size else 0, float(found.mean()) if found.size else 0.0, n,
                " ".join(f"{k} {v:.3f}" for k, v in self.timer.seconds.items()),
            )  # fmt: skip
        return BatchResult(mined, stats, self.timer.seconds)

    def new_stats(self) -> MiningStats:
        """Empty counters with a slot for every mask and filter of this miner."""
        return MiningStats(self.filter_names)

    @property
    def filter_names(self) -> list[str]:
        return [
            # near duplicates: a mask counted before the filters (candidates treated as positives)
            *(["near_duplicate"] if self.defence is not None and self.defence.near_duplicates is not None else []),
            *(["query_itself"] if self.settings.exclude_query_itself else []),
            *(f.name for f in self.filters),
        ]

    def _mine_batch(self, queries: np.ndarray, n: int, stats: MiningStats) -> MinedBatch:
        t, c = self.tables, self.settings
        positives = positives_matrix(t.positives, queries)
        with self.timer("score"):
            pos_scores = self.scorer.score(queries, positives)
        reference = positive_reference(np.where(positives >= 0, pos_scores, np.nan), c.positive_reference)
        positive_scores = [pos_scores[row, : len(t.positives[q])] for row, q in enumerate(queries)]
        if self.source is None:  # pairs only
            empty = np.zeros((len(queries), 0))
            return MinedBatch(
                queries,
                positive_scores,
                empty.astype(np.int64),
                empty.astype(np.float32),
                empty.astype(np.int64),
                empty.astype(np.float32),
                empty.astype(bool),
            )

        window_end = c.window_end
        limit = t.documents if c.max_depth is None else min(c.max_depth, t.documents)
        extra = int(t.text_positive_count[queries].max())
        if window_end is not None:
            depth = window_end + extra
        else:
            depth = c.range_min + extra + n * (10 if c.deeper_for_scores else 1)
        depth = min(depth, limit)

        cands = self._search(queries, depth)
        searched = np.full(len(queries), depth)
        # Each query's rank window; widened (doubled) for a query whose full window holds too few survivors.
        window = None if window_end is None else np.full(len(queries), window_end, dtype=np.int64)
        masks = self._evaluate(queries, cands, reference, window)
        while True:
            pending, widen, exhausted = self._pending(masks, searched, n, window, limit)
            if not pending.any():
                break
            if widen.any():
                window[widen] *= 2
                stats.widened.extend(int(q) for q in queries[widen])
            depth = min(depth * 2, limit)
            # A query whose search is exhausted only widens its window over what it already has.
            rows = np.nonzero(pending & ~exhausted)[0]
            if rows.size:
                logger.debug("%d queries have too few survivors: searching deeper, to depth %d", len(rows), depth)
                deeper = self._search(queries[rows], depth)
                cands = pad_to(cands, depth)
                cands.indices[rows], cands.scores[rows] = deeper.indices, deeper.scores
                searched[rows] = depth
            masks = self._evaluate(queries, cands, reference, window)

        scores = masks["scores"]  # the teacher's when there is one
        if masks["positive_scores"] is not None:
            positive_scores = [masks["positive_scores"][row, : len(t.positives[q])] for row, q in enumerate(queries)]
        with self.timer("select"):
            ctx = SelectionContext(
                keep=masks["keep"],
                scores=scores,
                positive_score=masks["reference"],
                query_hash=t.query_hashes[queries],
                doc_hash=t.doc_hashes[np.maximum(cands.indices, 0)],
            )
            chosen = self.selection.select(ctx, n)
            ok = chosen >= 0
            safe = np.where(ok, chosen, 0)
            negatives = np.where(ok, np.take_along_axis(cands.indices, safe, 1), -1)
            negative_scores = np.where(ok, np.take_along_axis(scores, safe, 1), np.nan).astype(np.float32)
        stats.add(queries, t.query_ids, masks, positive_scores, negative_scores[ok], ok.sum(1), n)
        rows, cols = np.nonzero(ok)
        stats.query_itself_chosen += int(masks["query_itself"][rows, chosen[rows, cols]].sum())
        promoted, promoted_scores = (
            self.defence.promoted_of(cands.indices, masks["teacher_scores"], masks["dropped"]) if self.defence else (None, None)
        )
        in_window = masks["in_window"]
        teacher_scores = masks["teacher_scores"]
        mined = MinedBatch(
            queries,
            positive_scores,
            negatives,
            negative_scores,
            np.where(in_window, cands.indices, -1),
            scores,
            masks["keep"],
            promoted=promoted,
            promoted_scores=promoted_scores,
            verdicts=verdict_codes(masks, chosen),
            excluded=np.where(masks["valid"] & ~in_window, cands.indices, -1),
            teacher_scores=None if teacher_scores is None else np.asarray(teacher_scores, dtype=np.float32),
        )
        for observer in self.observers:
            observer.observe(mined)
        return mined

    def _search(self, queries: np.ndarray, depth: int) -> Candidates:
        with self.timer("search"):
            cands = self.source.search(queries, depth)
        if self.settings.rescore and not isinstance(self.scorer, NoScorer):
            with self.timer("score"):
                cands.scores = self.scorer.score(queries, cands.indices)
        return cands

    def _evaluate(self, queries: np.ndarray, cands: Candidates, reference: np.ndarray, window: np.ndarray | None) -> dict:
        """Masks over the candidates: known positives, the rank window, and each filter's verdict."""
        with self.timer("filter"):
            t, idx = self.tables, cands.indices
            valid = idx >= 0
            safe = np.maximum(idx, 0)
            known = [t.known_positives[q] for q in queries]
            is_pos_id = valid & member_mask(idx, known)
            groups = np.where(valid, t.group[safe], -1)
            is_pos_text = valid & ~is_pos_id & member_mask(groups, [t.group[p] for p in known])
            # --- false-negative defence: near duplicates of a positive count as positives ---
            dropped = {}
            near_dup = np.zeros_like(valid)
            if self.defence is not None and self.defence.near_duplicates is not None:
                near_dup = dropped["near_duplicate"] = self.defence.near_duplicate_mask(
                    queries, idx, valid & ~is_pos_id & ~is_pos_text
                )
            # --- a query is never its own negative: its id, its text, a near duplicate of it ---
            eligible = valid & ~is_pos_id & ~is_pos_text & ~near_dup
            itself = eligible & member_mask(idx, [t.query_itself[q] for q in queries])
            if self.defence is not None and self.defence.near_duplicates is not None:
                itself |= self.defence.near_duplicates.text_mask(
                    np.where(eligible & ~itself, idx, -1), [t.query_texts[q] for q in queries]
                )
            if self.settings.exclude_query_itself:
                dropped["query_itself"] = itself
            nonpos = eligible & ~itself if self.settings.exclude_query_itself else eligible
            ranks, in_window = rank_window(nonpos, window)
            # --- false-negative defence: the teacher rescores the window; filters use its scores ---
            scores, positive_scores, teacher_scores = cands.scores, None, None
            if self.defence is not None and self.defence.teacher is not None:
                with self.timer("teacher"):
                    teacher_scores, teacher_positive_scores = self.defence.rescore(queries, idx, in_window)
                if self.settings.teacher_score_filters:
                    scores, positive_scores = teacher_scores, teacher_positive_scores
                    reference = positive_reference(positive_scores, self.settings.positive_reference)
            ctx = FilterContext(scores=scores, ranks=ranks, positive_score=reference, indices=idx, teacher_scores=teacher_scores)
            keep = in_window.copy()
            for f in self.filters:
                verdict = f.keep(ctx)
                dropped[f.name] = keep & ~verdict
                keep &= verdict
            return {
                "valid": valid,
                "is_pos_id": is_pos_id,
                "is_pos_text": is_pos_text,
                "nonpos": nonpos,
                "query_itself": itself,
                "in_window": in_window,
                "keep": keep,
                "dropped": dropped,
                "scores": scores,
                "positive_scores": positive_scores,
                "reference": reference,
                "teacher_scores": teacher_scores,
            }

    def _pending(
        self, masks: dict, searched: np.ndarray, n: int, window: np.ndarray | None, limit: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows not done yet, those among them whose rank window must widen, and the rows searched to the end.

        A row is done when it has ``n`` survivors (``top`` needs no more; ``random``/``simans`` also
        need their whole window, the pool they draw from), or when nothing more can be found. A full
        window with fewer than ``n`` survivors widens, unless ``extend_window`` is off, also when the
        search can go no deeper: the candidates already found below the window may survive.
        """
        exhausted = (masks["valid"].sum(1) < searched) | (searched >= limit)
        enough = masks["keep"].sum(1) >= n
        if window is None:
            return ~(exhausted | enough), np.zeros(len(searched), bool), exhausted
        window_full = masks["nonpos"].sum(1) >= window
        widen = window_full & ~enough & self.settings.extend_window
        if self.settings.top:
            done = enough | ((exhausted | window_full) & ~widen)
        else:
            done = (exhausted | window_full) & ~widen
        return ~done, widen, exhausted


class MiningStats:
    """A run's counters; each batch has its own, merged into the run's in query order."""

    def __init__(self, filter_names: list[str]):
        self.dropped = {"known_positive_id": 0, "known_positive_text": 0, **{name: 0 for name in filter_names}}
        self.pos_scores: list[np.ndarray] = []
        self.neg_scores: list[np.ndarray] = []
        self.short_ids: list[str] = []
        self.widened: list[int] = []  # query indices whose window widened (a query may repeat)
        self.negatives_found = 0
        self.query_itself_chosen = 0
        """Chosen negatives that are their query itself (none unless ``exclude_query_itself`` is off)."""

    def add(self, queries, query_ids, masks, positive_scores, negative_scores, found, n) -> None:
        self.dropped["known_positive_id"] += int(masks["is_pos_id"].sum())
        self.dropped["known_positive_text"] += int(masks["is_pos_text"].sum())
        for name, mask in masks["dropped"].items():
            self.dropped[name] += int(mask.sum())
        self.pos_scores.extend(positive_scores)
        self.neg_scores.append(negative_scores)
        self.negatives_found += int(found.sum())
        self.short_ids.extend(query_ids[q] for q, f in zip(queries, found) if f < n)

    def summary(
        self, data: RetrievalData, n: int, rows: int, builder: RowBuilder, encoder: Encoder | None, seconds: dict[str, float]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "queries": len(data.query_ids),
            "pairs": data.num_pairs,
            "documents": len(data.corpus_ids),
            "rows": rows,
            "negatives_per_query": n,
            "negatives_found": self.negatives_found,
            "negatives_query_itself": self.query_itself_chosen,
            "queries_short": len(self.short_ids),
            "queries_window_widened": len(set(self.widened)),
            "short_query_ids": self.short_ids,
            "pairs_dropped": builder.dropped_pairs,
            "rows_padded": builder.padded_rows,
            "skipped_input": data.skipped,
            "positive_scores": quantiles(np.concatenate(self.pos_scores)) if self.pos_scores else None,
            "negative_scores": quantiles(np.concatenate(self.neg_scores)) if self.neg_scores else None,
            "dropped": self.dropped if n else {},
            "seconds": seconds,
        }
        if encoder is not None:
            out["texts_encoded"] = encoder.stats.encoded
            out["texts_from_cache"] = encoder.stats.cached
            out["model_prepare_seconds"] = round(encoder.stats.prepare_seconds, 3)  # in seconds.encode: load, cast, export
        return out
