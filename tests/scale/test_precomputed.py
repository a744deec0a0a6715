"""Mining from embeddings made elsewhere gives the rows the model itself would give."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

import hardneg
from hardneg.data import load_data
from hardneg.encoding.encode import Encoder
from hardneg.encoding.model import fingerprint_model, load_model
from hardneg.encoding.precomputed import PrecomputedEmbeddings
from hardneg.errors import ConfigError


def test_precomputed_vectors_mine_the_same_rows_as_the_model(tmp_path, tiny_model, make_beir):
    data_dir = make_beir(n_docs=400, n_queries=50)
    data = load_data(str(data_dir))
    model = load_model(str(tiny_model), device="cpu")
    encoder = Encoder(model, fingerprint_model(model), cache_dir=None, show_progress=False)
    queries = encoder.encode(data.query_texts, "query").to_array()
    docs = encoder.encode(data.corpus_texts, "document").to_array()
    folder = tmp_path / "vectors"
    (folder / "queries").mkdir(parents=True)
    (folder / "documents").mkdir()
    np.save(folder / "queries" / "0.npy", queries)
    np.save(folder / "documents" / "0.npy", docs[:150])
    np.save(folder / "documents" / "1.npy", docs[150:])

    common = dict(preset="top", show_progress=False, cache_dir=str(tmp_path / "cache"))
    hardneg.mine(data_dir, tmp_path / "model.parquet", model=str(tiny_model), **common)
    result = hardneg.mine(data_dir, tmp_path / "vectors.parquet", embeddings=PrecomputedEmbeddings.from_folder(folder), **common)
    assert result.manifest["model"]["precomputed"] is True
    assert pq.read_table(tmp_path / "vectors.parquet").equals(pq.read_table(tmp_path / "model.parquet"))


def test_embeddings_that_do_not_match_the_data_are_an_error(make_beir):
    data_dir = make_beir(n_docs=30, n_queries=5)
    emb = PrecomputedEmbeddings(np.zeros((4, 8), np.float32), np.zeros((30, 8), np.float32))
    with pytest.raises(ConfigError, match="embeddings have 4 queries and 30 documents, the data has 5 queries"):
        hardneg.mine(data_dir, embeddings=emb, show_progress=False)
    with pytest.raises(ConfigError, match="dimensions"):
        PrecomputedEmbeddings(np.zeros((4, 8), np.float32), np.zeros((30, 9), np.float32))
