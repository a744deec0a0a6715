"""One rule orders a query's training pool, whether it comes from the mined file or from an in-run refresh."""

from __future__ import annotations

import numpy as np
import pytest

from hardneg.candidates_file import order_pool, read_candidates
from hardneg.drivers.mine import mine
from hardneg.training.data import load_training_input
from hardneg.training.inline_refresh import FullRefresher, PoolRefresher


def test_order_pool_puts_the_mined_choice_first_for_top_only():
    candidates, kept, negatives = [10, 11, 12, 13, 14], [False, False, True, True, False], [12, 13]
    assert order_pool(candidates, kept, negatives, pool="kept", sampling="top") == [12, 13]
    assert order_pool(candidates, kept, negatives, pool="all", sampling="top") == [12, 13, 10, 11, 14]
    assert order_pool(candidates, kept, negatives, pool="all", sampling="random") == [10, 11, 12, 13, 14]
    with pytest.raises(ValueError, match="pool must be one of"):
        order_pool(candidates, kept, negatives, pool="some", sampling="top")


@pytest.fixture
def mined(tmp_path, cache_dir):
    """Demo candidates mined with a top selection that skips the 2 best-ranked candidates.

    The default model, not the tiny random one: its scores are far enough apart that re-encoding the
    pool in other batches cannot reorder them."""
    out = tmp_path / "c.parquet"
    params = {"preset": "top", "range_min": 2, "num_negatives": 2, "output_format": "candidates"}
    mine("demo", out, cache_dir=str(cache_dir), show_progress=False, **params)
    return out


@pytest.mark.parametrize("mode", ["full", "pool"])
def test_a_refresh_keeps_the_runs_pool_and_rank_window(mined, model, mode):
    """pool='all' with a top selection and range_min=2: after a refresh the pool still holds every window
    candidate (not only the kept ones), and its first negatives are still the mined choice (never ranks 0 and 1)."""
    training = load_training_input(str(mined), pool="all", sampling="top", seed=1)
    pool = training.pool
    before = {q: list(c) for q, c in zip(pool.query_ids, pool.candidates)}
    for row in training.candidates.rows:  # the file's pool: the mined choice first, then the whole window
        assert before[row.query_id][:2] == row.negatives
        assert set(before[row.query_id]) == set(row.candidates)
    if mode == "full":
        refresher = FullRefresher(pool, training.mined_with, training.data, pool_mode="all")
    else:
        everything = [r.candidates for r in training.candidates.rows]
        refresher = PoolRefresher(pool, everything, training.mined_with, bm25_k=0, pool_mode="all")
    refreshed, _ = refresher.candidates(model)  # the weights the file was mined with: the same ranking again
    expected = read_candidates(mined, data=training.data).rows
    for row, got in zip(expected, refreshed):
        got = [int(d) for d in np.asarray(got)]
        assert got[:2] == row.negatives, row.query_id
        assert set(row.candidates[:2]) <= set(got), "pool='all' must keep candidates the filters dropped"
