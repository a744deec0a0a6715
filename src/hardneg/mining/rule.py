"""The mining rule, built once from a configuration and called by every path that chooses negatives.

window → defence → filters → selection, with the window widened and the search deepened for a query
whose survivors are too few (:class:`~hardneg.mining.batch.BatchMiner`). ``hardneg mine`` runs it over
its index; the refreshes inside training run the same rule over a re-ranked pool
(:class:`~hardneg.training.inline_refresh.PoolRefresher`) or over the live embedding table
(:class:`~hardneg.training.negative_cache.LiveNegativeCache`) through :meth:`BatchMiner.with_parts`. A copy
of the rule drifts (a copy in training once skipped the text and near-duplicate checks, the leakage guard,
the teacher and the widening), so there is none.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

from hardneg.candidates.options import SAMPLERS
from hardneg.candidates.scoring import Scorer
from hardneg.data import RetrievalData
from hardneg.defence.options import DefenceOptions
from hardneg.defence.stage import Defence
from hardneg.filters import FilterOptions, build_filters
from hardneg.mining.batch import BatchMiner, RuleSettings, RuleTables
from hardneg.mining.config import MineConfig
from hardneg.options import values_of
from hardneg.selection import SelectionOptions


def build_miner(
    config: MineConfig,
    data: RetrievalData,
    *,
    source: Any,
    scorer: Scorer,
    teacher: Any = None,
    cache_dir: Path | None = None,
    timer: Any = None,
    defence: Defence | None | object = ...,
    share: BatchMiner | None = None,
) -> BatchMiner:
    """The rule ``config`` asks for over ``data``: its settings, its defence, its filters and its selection around
    ``source``. The options are read here, once; the rule itself sees only :class:`RuleSettings` and its parts.

    Args:
        config: the mining configuration (a candidates file's manifest holds it as ``parameters``).
        data: the queries and corpus the source's indices refer to.
        source: the candidate source (``None``: pairs only).
        scorer: scores (query, document) pairs in the source's score space (the positives' scores too).
        teacher: an already built teacher to use instead of loading ``config.teacher``.
        cache_dir: where the teacher caches its scores (when ``config.use_cache``).
        timer: a ``timer("defence")`` context manager factory, or ``None``.
        defence: an already built defence (or ``None``: none) to use instead of building ``config``'s; the
            tuner (:mod:`hardneg.drivers.tune`) shares one between the settings it compares.
        share: a miner over the same ``data`` whose tables (text groups, known positives, id hashes) to share
            instead of computing them again.
    """
    c = config
    if defence is ...:
        with (timer or (lambda name: nullcontext()))("defence"):
            defence = Defence.from_config(
                DefenceOptions(**values_of(c, DefenceOptions)),
                data,
                seed=c.seed,
                device=c.device,
                cache_dir=cache_dir if c.use_cache else None,
                show_progress=c.show_progress,
                teacher=teacher,
            )
    filters = (defence.filters if defence else []) + build_filters(FilterOptions(**values_of(c, FilterOptions)))
    selection = SelectionOptions(**values_of(c, SelectionOptions)).build(c.seed)
    settings = rule_settings(c)
    if share is not None:
        return share.with_parts(source=source, scorer=scorer, selection=selection, settings=settings, filters=filters)
    return BatchMiner(
        settings, RuleTables.of(data), source=source, scorer=scorer, defence=defence, filters=filters, selection=selection
    )


def rule_settings(c: MineConfig) -> RuleSettings:
    """What the rule reads of the options, in one frozen record."""
    return RuleSettings(
        range_min=c.range_min,
        window_end=c.effective_range_max,
        max_depth=c.max_depth,
        extend_window=c.extend_window,
        deeper_for_scores=c.uses_score_filters,
        positive_reference=c.positive_reference,
        top=c.selection == "top",
        rescore=not SAMPLERS[c.sampler].own_scores,
        exclude_query_itself=c.exclude_query_itself,
        teacher_score_filters=c.teacher_score_filters,
    )
