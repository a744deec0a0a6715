"""Dynamic sampling: fresh, seeded negatives per epoch from each query's pool."""

from __future__ import annotations

import numpy as np
import pytest

from hardneg.training.negative_pool import NegativePool

CORPUS = [f"doc {i}" for i in range(40)]


def _pool(seed=1, order=(0, 1, 2), **kwargs):
    ids = ["qa", "qb", "qc"]
    positives = [[0], [1, 2], [3]]
    candidates = [list(range(4, 30)), list(range(0, 20)), [5, 6]]
    return NegativePool(
        CORPUS,
        [ids[i] for i in order],
        [f"query {ids[i]}" for i in order],
        [positives[i] for i in order],
        [candidates[i] for i in order],
        num_negatives=3,
        seed=seed,
        **kwargs,
    )


def test_positives_never_in_the_pool():
    pool = _pool()
    assert not set(pool.candidates[1]) & {1, 2}
    assert 0 in pool.candidates[1]  # another query's positive is a fair negative


def test_each_epoch_draws_again_and_draws_are_reproducible():
    pool = _pool()
    first = pool.negatives.copy()
    pool.resample(1)
    second = pool.negatives.copy()
    assert not np.array_equal(first, second)
    pool.resample(0)
    assert np.array_equal(pool.negatives, first)
    other_seed = _pool(seed=2)
    assert not np.array_equal(other_seed.negatives, first)


def test_draw_depends_on_query_id_not_order():
    a = _pool()
    b = _pool(order=(2, 0, 1))
    assert np.array_equal(a.negatives[0], b.negatives[1])
    assert np.array_equal(a.negatives[1], b.negatives[2])


def test_short_pool_repeats_and_top_sampling_is_static():
    pool = _pool()
    assert pool.negatives[2].tolist() == [5, 6, 5]
    top = _pool(sampling="top")
    top.resample(3)
    assert top.negatives[0].tolist() == [4, 5, 6]


def test_dataset_transform_reads_current_negatives():
    pool = _pool()
    ds = pool.dataset()
    assert len(ds) == 4  # one row per (query, positive)
    row = ds[1]
    assert list(row) == ["anchor", "positive", "negative_1", "negative_2", "negative_3"]
    before = ds[0]["negative_1"]
    pool.set_candidates([[39], [38], [37]])
    pool.resample(0)
    assert ds[0]["negative_1"] == "doc 39" != before


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_negatives"):
        NegativePool(CORPUS, ["q"], ["t"], [[0]], [[1]], num_negatives=0, seed=0)
    with pytest.raises(ValueError, match="sampling"):
        NegativePool(CORPUS, ["q"], ["t"], [[0]], [[1]], num_negatives=1, seed=0, sampling="simans")
