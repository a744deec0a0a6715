"""The Ray engine writes exactly the rows of the local engine, on a local Ray with 2 CPUs."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

import hardneg

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=256 * 2**20, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize(
    "params",
    [
        {"preset": "default", "output_format": "candidates", "include_scores": True},
        {"preset": "simans", "sampler": "hybrid", "index": "HNSW16", "ef_search": 64},
    ],
    ids=["dense-default-candidates", "hybrid-bm25-hnsw-simans"],
)
def test_ray_engine_writes_the_rows_of_the_local_engine(tmp_path, tiny_model, local_ray, params):
    common = dict(model=str(tiny_model), shard_size=64, query_chunk_size=5, seed=11, show_progress=False, **params)
    local = hardneg.mine("demo", tmp_path / "local.parquet", cache_dir=str(tmp_path / "local-cache"), **common)
    # An empty cache: the Ray run encodes every shard on its workers too.
    on_ray = hardneg.mine("demo", tmp_path / "ray.parquet", engine="ray", cache_dir=str(tmp_path / "ray-cache"), **common)
    assert pq.read_table(tmp_path / "ray.parquet").to_pylist() == pq.read_table(tmp_path / "local.parquet").to_pylist()
    assert (tmp_path / "ray.parquet").read_bytes() == (tmp_path / "local.parquet").read_bytes()
    for key in ("rows", "negatives_found", "queries_short", "dropped", "negative_scores", "texts_encoded"):
        assert on_ray.summary.get(key) == local.summary.get(key), key
    assert on_ray.manifest["parameters"]["engine"] == "ray"
