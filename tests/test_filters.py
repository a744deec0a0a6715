"""Each candidate filter on hand-made score arrays, and how build_filters composes them."""

from __future__ import annotations

import numpy as np
import pytest

from hardneg.filters import (
    AbsoluteMargin,
    FilterContext,
    MaxScore,
    MinScore,
    RankWindow,
    RelativeMargin,
    build_filters,
    positive_reference,
    reference_of,
)


def ctx(scores, positive, ranks=None) -> FilterContext:
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float32))
    if ranks is None:
        ranks = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    return FilterContext(scores=scores, ranks=np.asarray(ranks), positive_score=np.asarray(positive, dtype=np.float32))


def test_rank_window_skips_the_best_ranked():
    c = ctx([[0.9, 0.8, 0.7, 0.6]], [1.0], ranks=[[0, 1, 2, 3]])
    assert RankWindow(2).keep(c).tolist() == [[False, False, True, True]]
    assert RankWindow(0).keep(c).all()


def test_rank_window_uses_ranks_not_positions():
    # A known positive in column 1 shares rank 0 with column 0: column 2 is rank 1.
    c = ctx([[0.9, 0.85, 0.8]], [1.0], ranks=[[0, 0, 1]])
    assert RankWindow(1).keep(c).tolist() == [[False, False, True]]


def test_max_score_drops_scores_above_threshold_only():
    c = ctx([[0.9, 0.5, 0.5000001, 0.1]], [1.0])
    assert MaxScore(0.5).keep(c).tolist() == [[False, True, False, True]]


def test_min_score_drops_scores_below_threshold_only():
    c = ctx([[0.9, 0.5, 0.49, -0.2]], [1.0])
    assert MinScore(0.5).keep(c).tolist() == [[True, True, False, False]]


def test_absolute_margin_is_relative_to_each_querys_positive():
    # Query 0: positive 0.8, margin 0.1 -> drop > 0.7. Query 1: positive 0.5 -> drop > 0.4.
    c = ctx([[0.75, 0.7, 0.65], [0.45, 0.4, 0.3]], [0.8, 0.5])
    assert AbsoluteMargin(0.1).keep(c).tolist() == [[False, True, True], [False, True, True]]


def test_relative_margin_keeps_below_95_percent_of_positive():
    # positive 0.8, margin 0.05 -> drop > 0.76.
    c = ctx([[0.85, 0.77, 0.76, 0.5]], [0.8])
    assert RelativeMargin(0.05).keep(c).tolist() == [[False, False, True, True]]


def test_relative_margin_with_negative_positive_score():
    # positive -0.2, margin 0.5 -> threshold -0.2 - 0.2 * 0.5 = -0.3: only scores further from the
    # query than the positive by half its magnitude survive. A naive pos * (1 - m) would give -0.1
    # and keep candidates scored *above* the positive.
    c = ctx([[-0.1, -0.2, -0.25, -0.3, -0.4]], [-0.2])
    assert RelativeMargin(0.5).keep(c).tolist() == [[False, False, False, True, True]]


def test_relative_margin_zero_drops_only_candidates_above_positive():
    c = ctx([[0.81, 0.8, 0.79]], [0.8])
    assert RelativeMargin(0.0).keep(c).tolist() == [[False, True, True]]


def test_filters_never_keep_missing_candidates():
    # Missing candidates score -inf; score filters that bound from below must drop them.
    c = ctx([[0.5, -np.inf]], [0.9])
    assert MinScore(0.0).keep(c).tolist() == [[True, False]]


def test_build_filters_composes_in_order():
    filters = build_filters(range_min=1, max_score=0.9, min_score=0.1, absolute_margin=0.05, relative_margin=0.05)
    assert [f.name for f in filters] == ["rank_window", "max_score", "min_score", "absolute_margin", "relative_margin"]
    c = ctx([[0.95, 0.7, 0.85, 0.05, 0.4]], [0.8])
    keep = np.logical_and.reduce([f.keep(c) for f in filters])
    # rank 0 skipped; 0.85 above positive-5%; 0.05 below min_score.
    assert keep.tolist() == [[False, True, False, False, True]]


def test_build_filters_without_options_is_empty():
    assert build_filters() == []


def test_positive_reference_takes_max_mean_or_min_and_ignores_padding():
    scores = np.array([[0.8, 0.2, np.nan], [0.5, np.nan, np.nan], [np.nan, np.nan, np.nan]])
    assert positive_reference(scores).tolist() == [0.8, 0.5, np.inf]  # max is the default
    assert positive_reference(scores, "min").tolist() == [0.2, 0.5, np.inf]
    assert np.allclose(positive_reference(scores, "mean")[:2], [0.5, 0.5])
    assert reference_of([np.array([0.1, -0.3]), np.array([])], "min").tolist() == [-0.3, np.inf]


def test_an_unknown_positive_reference_is_refused():
    from hardneg.errors import ConfigError
    from hardneg.mining.config import MineConfig

    with pytest.raises(ConfigError, match="positive_reference"):
        MineConfig(positive_reference="median")


@pytest.mark.parametrize("how", ["max", "min"])
def test_mined_filters_use_the_chosen_positive_as_reference(tiny_beir, how):
    """With several positives (q_photo has two), the margin is taken from the best-matching positive
    (max, the default) or from the weakest (min)."""
    import hardneg

    margin = 0.3
    result = hardneg.mine(
        tiny_beir, preset="top", absolute_margin=margin, num_negatives=2, output_format="candidates", show_progress=False,
        positive_reference=how,
    )  # fmt: skip
    rows = {r["query_id"]: r for r in result.table.to_pylist()}
    low, high = sorted(rows["q_photo"]["positive_scores"])
    # The fixture must have a candidate on which the two rules disagree.
    assert any(low - margin < s <= high - margin for s in rows["q_photo"]["candidate_scores"])
    pick = max if how == "max" else min
    for row in rows.values():
        threshold = np.float32(pick(row["positive_scores"])) - np.float32(margin)
        for score, kept in zip(row["candidate_scores"], row["candidate_kept"]):
            if abs(score - threshold) > 1e-6:
                assert kept == (score <= threshold), (row["query_id"], score, threshold)
