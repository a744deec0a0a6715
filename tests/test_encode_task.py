"""Queries are encoded with ``task="query"``, documents with ``task="document"``, as sentence-transformers'
``encode_query`` / ``encode_document`` encode them: a model with a ``Router`` module takes each through its own path.
For a model without one nothing changes: the same vectors, bitwise, and the same cache keys."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import hardneg
from hardneg.encoding.deferred import DeferredModel, open_model
from hardneg.encoding.encode import Encoder
from hardneg.encoding.model import fingerprint_model, routes_by_task, task_argument
from hardneg.encoding.precision import encode_normalised
from hardneg.options import EncodingOptions

sys.path.insert(0, str(Path(__file__).resolve().parent / "evolve"))  # tiny_model.py

TEXTS = [
    "What is the capital of France?",
    "Paris is the capital of France. The city lies on the River Seine.",
    "Bake the cookies for twelve minutes.",
    "Lyon is the third largest city in France and is famous for its food.",
    "Mars is red.",
]
HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnx"))


@pytest.fixture(scope="module")
def backbone(tmp_path_factory) -> Path:
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny"), TEXTS).parent / "backbone"


def _router_model(backbone: Path, *, first: bool = True):
    """A Router whose query path mean-pools and whose document path takes the [CLS] token: at the start of the
    model (``first``), or after one shared transformer."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Router
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    if first:
        router = Router.for_query_document(
            query_modules=[Transformer(str(backbone), max_seq_length=64), Pooling(32, "mean")],
            document_modules=[Transformer(str(backbone), max_seq_length=64), Pooling(32, "cls")],
        )
        return SentenceTransformer(modules=[router, Normalize()], device="cpu")
    router = Router.for_query_document(query_modules=[Pooling(32, "mean")], document_modules=[Pooling(32, "cls")])
    return SentenceTransformer(modules=[Transformer(str(backbone), max_seq_length=64), router, Normalize()], device="cpu")


@pytest.fixture(scope="module")
def router(backbone):
    return _router_model(backbone)


@pytest.fixture(scope="module")
def router_folder(router, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("router")
    router.save(str(folder))
    return folder


def _encoder(model, **kwargs) -> Encoder:
    return Encoder(model, fingerprint_model(model), batch_size=2, show_progress=False, **kwargs)


# --- a Router model -----------------------------------------------------------------------------


def test_queries_and_documents_take_the_routes_encode_query_and_encode_document_take(router):
    encoder = _encoder(router)
    queries, documents = encoder.encode_texts(TEXTS, "query"), encoder.encode_texts(TEXTS, "document")
    expected_queries = router.encode_query(TEXTS, batch_size=2, normalize_embeddings=True)
    expected_documents = router.encode_document(TEXTS, batch_size=2, normalize_embeddings=True)
    np.testing.assert_array_equal(queries, expected_queries)
    np.testing.assert_array_equal(documents, expected_documents)
    assert np.abs(queries - documents).max() > 0.05  # mean pooling against [CLS]: the paths differ


def test_every_precision_passes_the_task(router):
    queries = _encoder(router, precision="bf16").encode_texts(TEXTS, "query")
    documents = _encoder(router, precision="bf16").encode_texts(TEXTS, "document")
    np.testing.assert_allclose(queries, router.encode_query(TEXTS, normalize_embeddings=True), atol=0.02)
    np.testing.assert_allclose(documents, router.encode_document(TEXTS, normalize_embeddings=True), atol=0.02)


def test_a_router_models_shards_are_named_apart_from_those_of_the_default_path(router, tmp_path):
    encoder = _encoder(router, cache_dir=tmp_path)
    plain = Encoder(SimpleNamespace(max_seq_length=router.max_seq_length), encoder.fingerprint)
    assert routes_by_task(router)
    assert encoder._shard_key(TEXTS, "query") != plain._shard_key(TEXTS, "query")
    first = encoder.encode(TEXTS, "query").to_array()
    again = _encoder(router, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.encode(TEXTS, "query").to_array(), first)
    assert again.stats.encoded == 0


def test_a_deferred_router_model_keeps_its_cache_key(router_folder, tmp_path):
    options = EncodingOptions(model=str(router_folder), device="cpu", show_progress=False)
    loaded, fingerprint = open_model(options, tmp_path)
    deferred, same = open_model(options, tmp_path)
    assert isinstance(deferred, DeferredModel) and not isinstance(loaded, DeferredModel) and same == fingerprint
    assert "task" in deferred.get_model_kwargs() and routes_by_task(deferred)
    assert Encoder(deferred, fingerprint)._shard_key(TEXTS, "document") == Encoder(loaded, fingerprint)._shard_key(
        TEXTS, "document"
    )


def test_a_model_record_that_does_not_say_what_the_modules_take_is_made_again(router_folder, tmp_path):
    options = EncodingOptions(model=str(router_folder), device="cpu", show_progress=False)
    open_model(options, tmp_path)
    (record,) = (tmp_path / "models").glob("*.json")
    known = json.loads(record.read_text())
    del known["model_kwargs"]  # as records were written before
    record.write_text(json.dumps(known))
    model, _ = open_model(options, tmp_path)
    assert not isinstance(model, DeferredModel)  # loaded, to find out
    assert "task" in json.loads(record.read_text())["model_kwargs"]


def test_mining_with_a_router_model(router_folder, tmp_path):
    result = hardneg.mine(
        "demo", tmp_path / "out.jsonl", model=str(router_folder), preset="top", use_cache=False, show_progress=False
    )
    assert result.summary["rows"] > 0


@pytest.mark.skipif(not HAS_ONNX, reason="pip install 'hardneg[onnx]'")
def test_an_exported_transformer_followed_by_a_router_takes_the_routes(backbone, tmp_path):
    model = _router_model(backbone, first=False)
    encoder = _encoder(model, backend="onnx", export_dir=tmp_path)
    queries, documents = (
        model.encode_query(TEXTS, normalize_embeddings=True),
        model.encode_document(TEXTS, normalize_embeddings=True),
    )
    np.testing.assert_allclose(encoder.encode_texts(TEXTS, "query"), queries, atol=1e-5)
    np.testing.assert_allclose(encoder.encode_texts(TEXTS, "document"), documents, atol=1e-5)
    assert np.abs(queries - documents).max() > 0.05


# --- any other model ----------------------------------------------------------------------------


def test_the_default_model_gives_bitwise_the_same_vectors_with_and_without_the_task(model):
    assert not routes_by_task(model) and task_argument(model, "query") == {"task": "query"}
    for kind in ("query", "document"):
        for prompt in (None, "query: "):
            without = encode_normalised(model, TEXTS, "float32", batch_size=2, prompt=prompt, show_progress_bar=False)
            encoder = Encoder(model, "f", batch_size=2, show_progress=False, query_prompt=prompt, document_prompt=prompt)
            assert encoder.encode_texts(TEXTS, kind).tobytes() == without.tobytes()


def test_cache_keys_of_other_models_are_unchanged(model):
    """Keys of shards written before the task was passed (the values are those of the earlier code)."""
    plain = Encoder(SimpleNamespace(max_seq_length=256), "abc", show_progress=False)
    assert plain._shard_key(["a text", "another"], "query") == "85f30b575af325ae4cfd5563b4078da1"
    assert plain._shard_key(["a text"], "document") == "af54a6d9cf90723d8200c600810b13a0"
    stub = SimpleNamespace(max_seq_length=model.max_seq_length)
    assert Encoder(model, "f")._shard_key(TEXTS, "document") == Encoder(stub, "f")._shard_key(TEXTS, "document")


def test_a_model_without_encode_query_gets_no_task():
    assert task_argument(SimpleNamespace(encode=lambda *a, **k: None), "query") == {}


def test_the_training_refresh_encodes_the_corpus_as_documents():
    from hardneg.training.negative_cache import _encode_float32

    calls = []

    class Model:
        def encode_query(self, *args, **kwargs): ...

        def encode(self, texts, **kwargs):
            calls.append(kwargs)
            return np.ones((len(texts), 2), np.float32)

    assert _encode_float32(Model(), ["a", "b"]).shape == (2, 2)
    assert calls[0]["task"] == "document"
