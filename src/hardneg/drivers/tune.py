"""``--preset auto``: choose the false-negative filters on the user's own data, by the audit.

The tuner runs the audit (:mod:`hardneg.drivers.audit`) for a grid of settings at the cost of one search:
it hides the positives (:func:`~hardneg.data.hidden.without_hidden`), encodes once, searches the audited
queries once, :data:`TUNE_DEPTH` deep, and mines them with every setting through the one mining rule
(:func:`~hardneg.mining.rule.build_miner`) over that saved search, so a setting's audit is the one
``hardneg audit`` would report for it (up to the search depth; hardness is the mean rank among the
documents that are not positives, hidden ones included); :func:`choose` then picks. The final mine runs
the chosen setting on every query with every label; with the embedding cache on it encodes nothing again.
The steps, the grid and what it chose on SciFact and NFCorpus: ``docs/mining.md`` (``--preset auto``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hardneg.candidates.base import Candidates, pad_to
from hardneg.data import RetrievalData
from hardneg.data.hidden import hidden_documents, without_hidden
from hardneg.diagnostics.fates import FateRecorder, wilson_interval
from hardneg.errors import ConfigError
from hardneg.mining.config import AUTO, AUTO_FALLBACK, MineConfig, make_config

logger = logging.getLogger(__name__)

TUNE_DEPTH = 1000
"""How deep the audited queries are searched, once; a setting whose negatives lie deeper is not eligible."""
MAX_AUDITED = 500
"""At most this many audited queries (a seeded sample): the interval is narrow long before, and the grid's cost
stays bounded on large data."""
MIN_AUDITED = 30
"""Below this many queries with two or more positives the estimate is noise: the tuner falls back to ``default``."""
MIN_FILLED = 0.95
"""A setting must find this share of the negatives asked for within :data:`TUNE_DEPTH`: one that leaves queries
short there mines scarce, easy negatives."""

REFERENCES = ("min", "mean", "max")
MARGINS = (0.0, 0.02, 0.05, 0.1, 0.2)
SELECTIONS: dict[str, dict[str, Any]] = {
    "top": {"selection": "top", "range_min": 0, "range_max": None},
    "top-floor10": {"selection": "top", "range_min": 10, "range_max": None},
    "random10": {"selection": "random", "range_min": 0, "range_max": 10},
    "random50": {"selection": "random", "range_min": 0, "range_max": 50},
}
GRID_FIELDS = ("selection", "range_min", "range_max", "relative_margin", "positive_reference")


def grid(fixed: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The settings compared: per selection, no margin and every (reference, margin); ``fixed`` values (the
    caller's own flags) override the grid's, and settings that become equal are compared once."""
    fixed = {k: v for k, v in (fixed or {}).items() if k in GRID_FIELDS}
    settings, seen = [], set()
    for selection in SELECTIONS.values():
        points = [{"relative_margin": None, "positive_reference": "max"}]
        points += [{"relative_margin": m, "positive_reference": r} for r in REFERENCES for m in MARGINS]
        for point in points:
            values = {**selection, **point, **fixed}
            key = tuple(values[k] for k in GRID_FIELDS)
            if key not in seen:
                seen.add(key)
                settings.append(values)
    return settings


def setting_name(values: dict[str, Any]) -> str:
    """``top``, ``random50 margin 0.05/max``, ``top from rank 10``: a setting in a table cell."""
    if values["selection"] == "top":
        name = "top" if not values["range_min"] else f"top from rank {values['range_min']}"
    else:
        window = values["range_max"] if values["range_max"] is not None else "100"
        name = f"{values['selection']} of top {window}"
    if values["relative_margin"] is not None:
        name += f", margin {values['relative_margin']:g} of {values['positive_reference']}"
    return name


@dataclass
class SettingAudit:
    """One setting's audit on the hidden positives."""

    values: dict[str, Any]
    name: str
    hidden_positives: int
    false_negatives: int
    false_negative_rate: float
    ci95: tuple[float, float]
    negatives: int
    filled: float
    """Negatives found / negatives asked for, over the audited queries."""
    mean_rank: float | None
    mean_score: float | None
    estimated_false_negatives_per_negative: float
    estimated_false_negatives_per_negative_high: float
    """The same estimate at the upper end of the pick rate's Wilson 95 % interval: how far the noise may reach."""
    eligible: bool

    def row(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["ci95"] = [round(v, 4) for v in self.ci95]
        return out


@dataclass
class Tuning:
    """What the tuner measured and chose; :meth:`to_dict` goes into the manifest's summary as ``tuning``."""

    chosen: dict[str, Any]
    """The chosen setting's values (the :data:`GRID_FIELDS`)."""
    chosen_name: str
    reason: str
    max_false_negative_rate: float
    audited_queries: int
    labelled_per_query: float
    """Mean labelled positives per query of the data."""
    table: list[SettingAudit] = field(default_factory=list)
    seconds: float = 0.0
    fallback: bool = False
    audit_seconds: float = 0.0
    """The tuner's own work: the search of the audited queries and the grid's audits (``seconds`` less loading the
    model and encoding, which the mine would do anyway)."""
    not_measured: int = 0
    """Settings of the grid left out because a laxer one already left queries short."""
    miner: Any = field(default=None, repr=False, compare=False)
    """The miner that encoded the data for the audit (the final mine reuses its vectors); not recorded."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "chosen_name": self.chosen_name,
            "reason": self.reason,
            "max_false_negative_rate": self.max_false_negative_rate,
            "audited_queries": self.audited_queries,
            "labelled_per_query": round(self.labelled_per_query, 3),
            "fallback": self.fallback,
            "seconds": round(self.seconds, 3),
            "audit_seconds": round(self.audit_seconds, 3),
            "not_measured": self.not_measured,
            "table": [a.row() for a in self.table],
        }

    def format_table(self) -> str:
        lines = [
            f"hardneg tune: {self.audited_queries} audited queries; {self.labelled_per_query:.2f} labelled positives per query, "
            f"target {self.max_false_negative_rate:g} false negatives per negative",
            f"  {'setting':<40}{'FN rate':>9}{'95% CI':>15}{'FN/neg':>8}{'≤':>7}{'mean rank':>11}{'score':>8}{'filled':>8}",
        ]
        for a in sorted(self.table, key=lambda a: (not a.eligible, a.mean_rank if a.mean_rank is not None else np.inf)):
            mark = "*" if a.values == self.chosen else (" " if a.eligible else "x")
            rank = "-" if a.mean_rank is None else f"{a.mean_rank:.1f}"
            score = "-" if a.mean_score is None else f"{a.mean_score:.3f}"
            lines.append(
                f"{mark} {a.name:<40}{a.false_negative_rate:>9.4f}{f'{a.ci95[0]:.3f}-{a.ci95[1]:.3f}':>15}"
                f"{a.estimated_false_negatives_per_negative:>8.3f}{a.estimated_false_negatives_per_negative_high:>7.3f}"
                f"{rank:>11}{score:>8}{a.filled:>8.2f}"
            )
        if self.not_measured:
            lines.append(f"  ({self.not_measured} stricter settings not measured: a laxer one already left queries short)")
        lines.append(f"chosen: {self.chosen_name} ({self.reason})")
        return "\n".join(lines)


class FrozenSearch:
    """A candidate source that replays one saved search: the first ``k`` of each query's saved candidates
    (``-1`` past the saved depth, which the miner reads as the end of the corpus)."""

    name = "saved search"

    def __init__(self, queries: np.ndarray, candidates: Candidates):
        self.row = {int(q): i for i, q in enumerate(queries.tolist())}
        self.candidates = candidates

    def search(self, query_indices: np.ndarray, k: int) -> Candidates:
        rows = np.array([self.row[int(q)] for q in query_indices], dtype=np.int64)
        width = min(k, self.candidates.depth)
        found = Candidates(self.candidates.indices[rows, :width].copy(), self.candidates.scores[rows, :width].copy())
        return pad_to(found, k)


class RememberedScores:
    """A scorer that scores each (queries, documents) batch once: every setting scores the same positives."""

    def __init__(self, scorer: Any):
        self.scorer, self.name, self.seen = scorer, scorer.name, {}

    def score(self, queries: np.ndarray, documents: np.ndarray) -> np.ndarray:
        key = (np.asarray(queries).tobytes(), np.asarray(documents).tobytes(), np.shape(documents))
        if key not in self.seen:
            self.seen[key] = self.scorer.score(queries, documents)
        return self.seen[key].copy()


def tune(
    config: MineConfig,
    data: RetrievalData,
    *,
    fixed: dict[str, Any] | None = None,
    teacher: Any = None,
    embeddings: Any = None,
    model: Any = None,
) -> Tuning:
    """Audit :func:`grid` on ``data`` with ``config``'s model, defence and seed, and choose a setting.

    ``fixed``: the caller's own values of :data:`GRID_FIELDS` (they hold in every setting).
    """
    from hardneg.mining.rule import build_miner
    from hardneg.mining.run import Miner

    start = time.perf_counter()
    c = config
    target = c.max_false_negative_rate
    settings = grid(fixed)
    labelled = data.num_pairs / max(1, len(data.query_ids))
    if len(settings) == 1:
        return Tuning(
            chosen=settings[0], chosen_name=setting_name(settings[0]), max_false_negative_rate=target, audited_queries=0,
            labelled_per_query=labelled, reason="every setting the tuner varies was given: nothing to choose",
        )  # fmt: skip
    hidden = hidden_documents(data, c.seed)
    audited = np.nonzero(hidden >= 0)[0]
    if audited.size < MIN_AUDITED:
        tuning = _fallback(
            target, audited.size, labelled,
            f"{audited.size} queries have two or more positives, fewer than {MIN_AUDITED}: too few to measure "
            f"false negatives; the '{AUTO_FALLBACK}' preset's filters are used",
        )  # fmt: skip
        tuning.seconds = time.perf_counter() - start
        return tuning
    if audited.size > MAX_AUDITED:
        audited = np.sort(np.random.default_rng(c.seed).choice(audited, MAX_AUDITED, replace=False))
    seen = without_hidden(data, c.seed)
    inner = dataclasses.replace(c, out=None, audit=False, show_progress=False, output_format="flagembedding")
    miner = Miner(inner, teacher=teacher, embeddings=embeddings, model=model, log_summary=False)
    base = miner.prepare(seen)
    searched = time.perf_counter()
    depth = min(TUNE_DEPTH, len(data.corpus_ids), c.max_depth or TUNE_DEPTH)
    chunks = [audited[i : i + c.query_chunk_size] for i in range(0, len(audited), c.query_chunk_size)]
    found = [base.source.search(chunk, depth) for chunk in chunks]
    saved = Candidates(np.concatenate([f.indices for f in found]), np.concatenate([f.scores for f in found]))
    frozen, scorer = FrozenSearch(audited, saved), RememberedScores(base.scorer)
    ranks = _nonpositive_ranks(saved, [list(data.positives[q]) for q in audited.tolist()])

    table, short = [], []
    for values in sorted(settings, key=_strictness):
        if any(_at_least_as_strict(values, s) for s in short):
            continue  # it keeps a subset of what a setting that already left queries short kept
        try:
            setting = dataclasses.replace(inner, **values)
        except ConfigError as e:  # e.g. more negatives than a window holds
            logger.debug("setting %s skipped: %s", values, e)
            continue
        rule = build_miner(setting, seen, source=frozen, scorer=scorer, defence=base.defence, share=base)
        table.append(_audit_setting(rule, values, audited, hidden, saved, ranks, frozen.row, c.num_negatives, labelled))
        if not table[-1].eligible:
            short.append(values)
    tuning = choose(table, target, audited.size, labelled)
    tuning.seconds, tuning.miner, tuning.not_measured = time.perf_counter() - start, miner, len(settings) - len(table)
    tuning.audit_seconds = time.perf_counter() - searched
    logger.info("%s", tuning.format_table())
    return tuning


_REFERENCE_STRICTNESS = {"max": 0, "mean": 1, "min": 2}


def _strictness(values: dict[str, Any]) -> tuple:
    """Laxer filters first: no margin, then smaller margins, then the stricter positive references."""
    margin = -1.0 if values["relative_margin"] is None else values["relative_margin"]
    return (margin, _REFERENCE_STRICTNESS[values["positive_reference"]])


def _at_least_as_strict(values: dict[str, Any], short: dict[str, Any]) -> bool:
    """Whether ``values`` keeps a subset of the candidates ``short`` keeps: the same window and selection, a margin
    at least as large, measured against a positive score at most as high. A setting that left queries short
    within the search depth then leaves them at least as short (:data:`MIN_FILLED`): it is not measured."""
    same_window = all(values[k] == short[k] for k in ("selection", "range_min", "range_max"))
    if not same_window or short["relative_margin"] is None:
        return same_window and short["relative_margin"] is None
    return (
        values["relative_margin"] is not None
        and values["relative_margin"] >= short["relative_margin"]
        and _REFERENCE_STRICTNESS[values["positive_reference"]] >= _REFERENCE_STRICTNESS[short["positive_reference"]]
    )


def _audit_setting(rule, values, audited, hidden, saved, ranks, row_of, n, labelled) -> SettingAudit:
    """One setting's audit; ``labelled``: the data's mean labelled positives per query (:func:`choose` says why)."""
    recorder = FateRecorder(hidden)
    rule.observers.append(recorder)
    for i in range(0, len(audited), 1024):
        rule.mine_queries(audited[i : i + 1024], n)
    fates = [recorder.fates.get(int(q), "not_retrieved") for q in audited]
    selected = fates.count("selected")
    chosen_ranks, chosen_scores = [], []
    for q, negatives in recorder.negatives.items():
        row = row_of[q]
        for doc in negatives.tolist():
            where = np.nonzero(saved.indices[row] == doc)[0]
            if where.size:
                chosen_ranks.append(ranks[row, where[0]])
                chosen_scores.append(saved.scores[row, where[0]])
    count = int(sum(len(v) for v in recorder.negatives.values()))
    rate = selected / len(audited)
    ci95 = wilson_interval(selected, len(audited))
    per_negative = selected / count * labelled if count else 1.0
    per_negative_high = ci95[1] * len(audited) / count * labelled if count else 1.0  # never below per_negative
    filled = count / (n * len(audited))
    return SettingAudit(
        values=values,
        name=setting_name(values),
        hidden_positives=len(audited),
        false_negatives=selected,
        false_negative_rate=round(rate, 5),
        ci95=ci95,
        negatives=count,
        filled=round(filled, 4),
        mean_rank=round(float(np.mean(chosen_ranks)), 2) if chosen_ranks else None,
        mean_score=round(float(np.mean(chosen_scores)), 4) if chosen_scores else None,
        estimated_false_negatives_per_negative=round(per_negative, 5),
        estimated_false_negatives_per_negative_high=round(per_negative_high, 5),
        eligible=filled >= MIN_FILLED,
    )


def _nonpositive_ranks(saved: Candidates, positives: list[list[int]]) -> np.ndarray:
    """Each saved candidate's rank among its query's documents that are not positives (the hidden one included)."""
    from hardneg.filters import member_mask

    nonpositive = (saved.indices >= 0) & ~member_mask(saved.indices, positives)
    return np.cumsum(nonpositive, axis=1) - 1


def choose(table: list[SettingAudit], target: float, audited: int, labelled_per_query: float) -> Tuning:
    """The hardest eligible setting (lowest mean rank) whose false negatives per negative are at or below ``target``.

    The point estimate decides, not the upper end of its interval (``estimated_false_negatives_per_negative_high``),
    which trained worse models on SciFact; the estimate and the measurement: ``docs/mining.md`` (``--preset auto``).
    """
    passing = [a for a in table if a.eligible and a.mean_rank is not None and a.estimated_false_negatives_per_negative <= target]
    common = {"max_false_negative_rate": target, "audited_queries": audited, "labelled_per_query": labelled_per_query}
    if not passing:
        why = f"no setting stays at or below {target:g} false negatives per negative; the cleanest preset, '{AUTO_FALLBACK}', is used"
        tuning = _fallback(target, audited, labelled_per_query, why)
        tuning.table = table
        return tuning
    best = min(passing, key=lambda a: (a.mean_rank, a.estimated_false_negatives_per_negative))
    reason = (
        f"the hardest of {len(passing)} settings at or below {target:g} false negatives per negative: "
        f"mean rank {best.mean_rank:g}, {best.estimated_false_negatives_per_negative:.3f} "
        f"(up to {best.estimated_false_negatives_per_negative_high:.3f} at the upper end of its 95 % interval; "
        f"{best.false_negatives}/{best.hidden_positives} hidden positives picked)"
    )
    return Tuning(chosen=best.values, chosen_name=best.name, reason=reason, table=table, **common)


def _fallback_values() -> dict[str, Any]:
    """The :data:`GRID_FIELDS` of the preset ``auto`` falls back to (its values over the dataclass defaults)."""
    fallback = make_config(AUTO_FALLBACK)
    return {k: getattr(fallback, k) for k in GRID_FIELDS}


def _fallback(target: float, audited: int, labelled_per_query: float, why: str) -> Tuning:
    values = _fallback_values()
    return Tuning(
        chosen=values, chosen_name=setting_name(values), reason=why, max_false_negative_rate=target,
        audited_queries=audited, labelled_per_query=labelled_per_query, fallback=True,
    )  # fmt: skip


def resolve(config: MineConfig, data: RetrievalData, *, given: dict[str, Any], **kwargs: Any) -> tuple[MineConfig, Tuning | None]:
    """``config`` itself unless its preset is ``auto``; then :func:`tune` on ``data`` and ``config`` with the chosen
    setting. ``given``: the parameters the caller passed (those the tuner varies stay fixed); ``kwargs`` go to
    :func:`tune` (a built teacher, precomputed embeddings, a loaded model)."""
    if config.preset != AUTO:
        return config, None
    tuning = tune(config, data, fixed=given, **kwargs)  # grid() keeps only the fields it varies
    return dataclasses.replace(config, **tuning.chosen), tuning
