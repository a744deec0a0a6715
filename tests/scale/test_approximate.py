"""Approximate FAISS indexes: built once, reused, parameterised, and checked against exact search."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

import hardneg
from hardneg.candidates import DenseSearch
from hardneg.candidates.approximate import ApproximateSearch, build_dense_search, load_or_build_index, recall_at_k
from hardneg.encoding.encode import Embeddings
from hardneg.errors import ConfigError


def _clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    x = centres[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def vectors():
    docs = _clustered(2000)
    return _clustered(50, seed=1), Embeddings([docs[:700], docs[700:1400], docs[1400:]], keys=["a", "b", "c"])


def test_ivf_visiting_every_cell_finds_the_exact_top_k(vectors, tmp_path):
    queries, docs = vectors
    rows = np.arange(len(queries))
    exact = DenseSearch(queries, docs).search(rows, 20)
    full = ApproximateSearch(queries, docs, "IVF8,Flat", nprobe=8, cache_dir=tmp_path).search(rows, 20)
    assert recall_at_k(full, exact) == 1.0
    np.testing.assert_allclose(full.scores, exact.scores, rtol=1e-5)
    one_cell = ApproximateSearch(queries, docs, "IVF8,Flat", nprobe=1, cache_dir=tmp_path).search(rows, 20)
    assert recall_at_k(one_cell, exact) < 1.0


def test_compressed_index_candidates_are_rescored_exactly(vectors):
    queries, docs = vectors
    found = ApproximateSearch(queries, docs, "IVF4,PQ8x4", nprobe=4).search(np.arange(5), 10)
    exact_scores = np.einsum("qd,qkd->qk", queries[:5], docs.rows(found.indices))
    np.testing.assert_allclose(found.scores, exact_scores, rtol=1e-5)
    assert (np.diff(found.scores, axis=1) <= 0).all()


def test_index_is_saved_once_and_reused_for_the_same_embeddings(vectors, tmp_path):
    _, docs = vectors
    first, reused = load_or_build_index("HNSW8", docs, tmp_path)
    assert not reused and len(list((tmp_path / "indexes").glob("*.faiss"))) == 1
    again, reused = load_or_build_index("HNSW8", docs, tmp_path)
    assert reused and again.ntotal == first.ntotal
    other = Embeddings(docs.shards, keys=["a", "b", "changed"])
    _, reused = load_or_build_index("HNSW8", other, tmp_path)
    assert not reused and len(list((tmp_path / "indexes").glob("*.faiss"))) == 2


def test_a_cached_index_overwritten_on_disk_is_built_again_with_a_warning(vectors, tmp_path, caplog):
    _, docs = vectors
    first, _ = load_or_build_index("HNSW8", docs, tmp_path)
    (path,) = (tmp_path / "indexes").glob("*.faiss")
    assert path.with_name(path.name + ".sha256").is_file()
    good = path.read_bytes()
    damaged = bytearray(good)
    damaged[len(good) // 2] ^= 0xFF  # still a readable index of the right size, with one wrong byte
    path.write_bytes(bytes(damaged))
    again, reused = load_or_build_index("HNSW8", docs, tmp_path)
    assert not reused and again.ntotal == first.ntotal
    assert "is damaged or has no checksum" in caplog.text
    assert path.read_bytes() == good  # built again and saved with its checksum
    _, reused = load_or_build_index("HNSW8", docs, tmp_path)
    assert reused


def test_bad_factory_and_parameters_the_index_lacks_are_errors(vectors):
    queries, docs = vectors
    with pytest.raises(ConfigError, match="not a FAISS index factory string"):
        ApproximateSearch(queries, docs, "IVFnope")
    with pytest.raises(ConfigError, match="nprobe=4 has no effect on index 'HNSW8'"):
        ApproximateSearch(queries, docs, "HNSW8", nprobe=4)
    with pytest.raises(ConfigError, match="index must be a FAISS index factory"):
        hardneg.MineConfig(index=" ")


def test_report_gives_recall_on_a_sample(vectors):
    queries, docs = vectors
    source, report = build_dense_search(queries, docs, index="HNSW8", ef_search=64, recall_sample=30, recall_k=10)
    assert isinstance(source, ApproximateSearch)
    assert report["sample_queries"] == 30 and report["k"] == 10 and 0.5 < report["recall_at_k"] <= 1.0
    exact, none = build_dense_search(queries, docs, index="Flat")
    assert isinstance(exact, DenseSearch) and none is None


def test_mining_with_an_index_that_visits_every_cell_writes_the_exact_rows(tmp_path, tiny_model, make_beir):
    data = make_beir(n_docs=1500, n_queries=120, seed=3)
    common = dict(model=str(tiny_model), cache_dir=str(tmp_path / "cache"), show_progress=False, preset="top", num_negatives=4)
    exact = hardneg.mine(data, tmp_path / "exact.parquet", **common)
    approx = hardneg.mine(data, tmp_path / "ivf.parquet", index="IVF4,Flat", nprobe=4, **common)
    assert approx.summary["index"]["recall_at_k"] == 1.0
    assert approx.summary["index"]["sample_queries"] == 120
    assert pq.read_table(tmp_path / "ivf.parquet").equals(pq.read_table(tmp_path / "exact.parquet"))
    assert "index" not in exact.summary
    again = hardneg.mine(data, tmp_path / "ivf2.parquet", index="IVF4,Flat", nprobe=4, **common)
    assert again.summary["index"]["reused"] is True
