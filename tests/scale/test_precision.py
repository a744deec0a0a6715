"""Encoding precisions: each gives unit float32 vectors close to float32's and has its own cache entries."""

from __future__ import annotations

import numpy as np
import pytest

import hardneg
from hardneg.encoding.encode import Encoder
from hardneg.encoding.model import fingerprint_model, load_model
from hardneg.encoding.precision import model_for_precision
from hardneg.errors import ConfigError

TEXTS = [f"text {i} about {'cells' if i % 2 else 'planets'} and {'light' if i % 3 else 'water'}" for i in range(40)]


@pytest.fixture(scope="module")
def model(tiny_model):
    return load_model(str(tiny_model), device="cpu")


def _encoder(model, cache, precision):
    return Encoder(model, fingerprint_model(model), cache_dir=cache, shard_size=16, show_progress=False, precision=precision)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_lower_precisions_give_unit_float32_vectors_close_to_float32(model, precision):
    reference = _encoder(model, None, "float32").encode(TEXTS, "document").to_array()
    emb = _encoder(model, None, precision).encode(TEXTS, "document").to_array()
    assert emb.dtype == np.float32 and emb.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert (emb * reference).sum(1).min() > 0.95
    assert not np.array_equal(emb, reference)


def test_the_cache_is_never_shared_across_precisions(model, tmp_path):
    float32 = _encoder(model, tmp_path, "float32")
    float32.encode(TEXTS, "document")
    bf16 = _encoder(model, tmp_path, "bf16")
    bf16.encode(TEXTS, "document")
    assert bf16.stats.encoded == len(TEXTS) and bf16.stats.cached == 0
    again = _encoder(model, tmp_path, "float32")
    again.encode(TEXTS, "document")
    assert again.stats.cached == len(TEXTS)


def test_converting_leaves_the_float32_model_untouched(model):
    before = fingerprint_model(model)
    model_for_precision(model, "int8")
    model_for_precision(model, "bf16")
    assert fingerprint_model(model) == before
    assert model_for_precision(model, "float32") is model


def test_unknown_precision_is_an_error():
    with pytest.raises(ConfigError, match="precision must be one of 'float32', 'bf16', 'int8', got 'fp8'"):
        hardneg.MineConfig(precision="fp8")


def test_mining_at_bf16_records_the_precision(tmp_path, tiny_model, make_beir):
    data = make_beir(n_docs=300, n_queries=40)
    result = hardneg.mine(
        data,
        tmp_path / "rows.parquet",
        model=str(tiny_model),
        cache_dir=str(tmp_path / "c"),
        precision="bf16",
        show_progress=False,
    )
    assert result.manifest["model"]["precision"] == "bf16"
    assert result.summary["rows"] > 0
