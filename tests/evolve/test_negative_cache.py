"""The live negative cache: the 16-bit table, mining from it with the file's rules, and a training run with it."""

from __future__ import annotations

import numpy as np
import pytest

import hardneg
from hardneg.candidates_file import read_candidates
from hardneg.errors import ConfigError
from hardneg.training.data import load_training_input
from hardneg.training.negative_cache import EmbeddingTable, LiveNegativeCache
from hardneg.training.train import train

FAST = {"batch_size": 8, "show_progress": False, "logging_steps": 1, "max_seq_length": 32}


def _unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_table_round_trip_search_and_age(dtype):
    vectors = _unit(300, 16)
    table = EmbeddingTable(vectors, dtype=dtype)
    tolerance = 2e-3 if dtype == "float16" else 1.6e-2
    assert np.abs(table.read(np.arange(300)) - vectors).max() < tolerance
    queries = _unit(5, 16, seed=1)
    ranked = table.top(queries, 10, chunk=64)  # several chunks: the merge must find the global top
    exact = np.argsort(-(queries @ table.read(np.arange(300)).T), axis=1, kind="stable")[:, :10]
    assert (ranked.indices == exact).mean() > 0.95
    assert np.all(np.diff(ranked.scores, axis=1) <= 1e-6)

    table.write(np.array([3, -1, 7]), _unit(3, 16, seed=2) * 5, step=4)  # normalised on write, -1 skipped
    assert np.allclose(np.linalg.norm(table.read(np.array([3, 7])), axis=1), 1, atol=2e-2)
    assert table.encoded_at[[3, 7]].tolist() == [4, 4] and table.encoded_at[0] == 0
    stale = table.stalest(298)
    assert 3 not in stale and 7 not in stale and len(stale) == 298
    ages = table.ages(6)
    assert ages["max"] == 6 and ages["p50"] == 6 and ages["fresh_share"] == 0


def test_large_table_is_memory_mapped_and_cleaned_up(tmp_path):
    table = EmbeddingTable(_unit(100, 8), memmap_dir=tmp_path, memmap_bytes=100)
    assert table.memory_mapped and len(list(tmp_path.iterdir())) == 1
    assert table.top(_unit(1, 8), 3).indices.shape == (1, 3)
    table.close()
    assert list(tmp_path.iterdir()) == []
    small = EmbeddingTable(_unit(10, 8), memmap_dir=tmp_path)
    assert not small.memory_mapped and list(tmp_path.iterdir()) == []


def _mine(path, model, cache_dir, preset):
    hardneg.mine(
        "demo", path, output_format="candidates", preset=preset, num_negatives=2, model=None if model is None else str(model),
        cache_dir=str(cache_dir), show_progress=False,
    )  # fmt: skip
    return path


@pytest.fixture
def candidates(tiny_model, cache_dir, tmp_path):
    """A random-selection (ANCE) candidates file: the cache's selection draws, seeded."""
    return _mine(tmp_path / "cands.parquet", tiny_model, cache_dir, "ance")


def test_cache_from_the_mining_vectors_chooses_what_mining_chose(cache_dir, tmp_path):
    """With the mining model's vectors in the table, mining from it reproduces the candidates file's negatives
    (the offline all-MiniLM-L6-v2: the tiny random model scores every document alike, all ties)."""
    candidates = _mine(tmp_path / "top.parquet", None, cache_dir, "top")
    from hardneg.encoding.model import load_model
    from hardneg.encoding.precision import encode_normalised

    training = load_training_input(str(candidates), num_negatives=2)
    file = read_candidates(candidates)
    model = load_model(None, device="cpu")
    data = training.data
    table = EmbeddingTable(encode_normalised(model, data.corpus_texts, "float32"), dtype="float16")
    cache = LiveNegativeCache(training.pool, table, data.corpus_ids, training.mined_with)
    queries = np.arange(len(training.pool.query_ids))
    vectors = encode_normalised(model, training.pool.query_texts, "float32")
    chosen, pools = cache.choose(table, queries, vectors)
    assert sum(len(r.negatives) for r in file.rows) > 0 and (chosen >= 0).any()
    same = [set(c[c >= 0]) == set(r.negatives) for c, r in zip(chosen, file.rows)]
    assert np.mean(same) >= 0.95  # float16 rounding may swap a near-tie (measured: all 36 demo queries agree)
    for pool, row in zip(pools, file.rows):
        assert not set(pool) & set(row.positives)


def test_train_with_the_live_cache(candidates, tiny_model, tmp_path):
    out = tmp_path / "model"
    result = train(
        candidates, out, model=str(tiny_model), max_steps=3, refresh_mode="cache", refresh_budget=5, cache_check_steps=3,
        cache_dtype="bfloat16", **FAST,
    )  # fmt: skip
    cache = result.summary["negative_cache"]
    assert result.summary["steps"] == 3 and cache["table_dtype"] == "bfloat16"
    assert [h["step"] for h in cache["per_step"]] == [1, 2, 3]
    assert all(h["refreshed"] == 5 and h["written_back"] > 0 for h in cache["per_step"])
    assert cache["per_step"][-1]["age"]["fresh_share"] > 0
    assert cache["mined_queries"] > 0
    assert result.summary["known_positives"]["negatives_scored"] > 0  # the mask is on by default, as for mnrl
    agreement = cache["agreement"][0]
    assert 0 <= agreement["share_full_refresh_would_choose"] <= 1 and agreement["queries"] > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("hardneg-negative-cache-")]


def test_cache_loss_masks_every_batch_document_that_is_a_positive_of_the_query(candidates, tiny_model):
    from hardneg.encoding.model import load_model
    from hardneg.training.negative_cache import cached_negatives_loss

    training = load_training_input(str(candidates), num_negatives=2)
    pool, data = training.pool, training.data
    cache = LiveNegativeCache(pool, EmbeddingTable(_unit(len(data.corpus_ids), 8)), data.corpus_ids, training.mined_with)
    loss = cached_negatives_loss(load_model(str(tiny_model), device="cpu"), cache, mask_known_positives=True)
    rows = np.array([0, 1])
    known = [set(cache.positive_documents(int(q)).tolist()) for q in pool.rows.query[rows]]
    p0, p1 = (int(d) for d in pool.rows.positive[rows])
    other = next(d for d in range(len(data.corpus_ids)) if d not in known[0] | known[1])
    # the rows' positives, row 0's positive again (another row bringing it), a document no query knows, a gap
    documents = np.array([p0, p1, p0, other, -1])
    mask = loss.mask(rows, documents).numpy()
    assert mask[0].tolist() == [False, p1 in known[0], True, False, False]  # its own positive stays the target
    assert mask[1].tolist() == [p0 in known[1], False, p0 in known[1], False, False]
    assert loss.summary()["masked_in_batch_positives"] == int(mask.sum()) and loss.summary()["negatives_scored"] == 8


def test_cache_mode_needs_a_candidates_file_and_plain_mnrl(tiny_model, tmp_path):
    with pytest.raises(ConfigError, match="candidates file"):
        train("demo", tmp_path / "m", model=str(tiny_model), max_steps=1, refresh_mode="cache", **FAST)
    with pytest.raises(ConfigError, match="cached-mnrl"):
        train("demo", tmp_path / "m", refresh_mode="cache", loss="cached-mnrl", **FAST)


def test_curve_probe_scores_and_measures_staleness_along_a_run(candidates, tiny_model, tmp_path):
    from hardneg.data import load_data
    from hardneg.evolution.curve import CurveProbe

    training = load_training_input(str(candidates), num_negatives=2)
    probe = CurveProbe(load_data("demo", split="test"), [1, 3, 99], pool=training.pool)
    train(candidates, tmp_path / "model", model=str(tiny_model), max_steps=3, callbacks=[probe], **FAST)
    assert [p["step"] for p in probe.points] == [1, 3]  # step 99 is never reached
    for p in probe.points:
        assert 0 <= p["ndcg@10"] <= 1
        assert p["staleness"]["negatives"] > 0 and p["staleness"]["mean_rank"] >= 0 and "in_top_10" in p["staleness"]
