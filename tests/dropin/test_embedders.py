"""Embedders that are not a ``SentenceTransformer``: an object with ``encode_query`` / ``encode_document``, a plain
callable ``texts -> array``; through the drop-in and ``hardneg.mine``, with and without the embedding cache.

An object that wraps the default model's ``encode_query`` / ``encode_document`` must give the rows the model itself
gives (the same vectors, reached another way); a hashed bag of words is the cheap callable.
"""

from __future__ import annotations

import hashlib
import logging
import re

import numpy as np
import pytest

import hardneg
from hardneg.errors import ConfigError, ModelError

DIM = 64


def bag_of_words(texts: list[str]) -> np.ndarray:
    """Each word hashed into one of ``DIM`` buckets: a deterministic, model-free embedder."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            out[row, int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little") % DIM] += 1.0
    return out


class Wrapped:
    """Not a SentenceTransformer: only ``encode_query`` / ``encode_document`` (the peer's tests use such a model)."""

    def __init__(self, model):
        self._model = model
        self.calls = 0

    def encode_query(self, texts, **kwargs):
        self.calls += 1
        return self._model.encode_query(texts, **kwargs)

    def encode_document(self, texts, **kwargs):
        self.calls += 1
        return self._model.encode_document(texts, **kwargs)


class Counting:
    """A callable that counts the texts it embeds."""

    def __init__(self):
        self.texts = 0

    def __call__(self, texts):
        self.texts += len(texts)
        return bag_of_words(texts)


def _embedding_files(folder):
    return sorted(p.name for p in (folder / "embeddings").glob("*.npy")) if (folder / "embeddings").is_dir() else []


def test_an_object_with_encode_query_and_encode_document_mines_what_the_model_mines(model, demo, demo_pairs, tmp_path):
    common = {"corpus": demo.corpus_texts, "num_negatives": 3, "output_format": "n-tuple", "output_scores": True}
    by_model = hardneg.mine_hard_negatives(demo_pairs, model, cache_folder=str(tmp_path / "a"), verbose=False, **common)
    wrapped = Wrapped(model)
    by_object = hardneg.mine_hard_negatives(demo_pairs, wrapped, cache_folder=str(tmp_path / "b"), verbose=False, **common)
    assert wrapped.calls > 0
    assert by_object.column_names == by_model.column_names
    for ours, theirs in zip(by_object.to_list(), by_model.to_list()):
        assert [ours[f"negative_{i}"] for i in (1, 2, 3)] == [theirs[f"negative_{i}"] for i in (1, 2, 3)]
        assert ours["scores"] == pytest.approx(theirs["scores"], abs=1e-5)
    assert _embedding_files(tmp_path / "b") == []  # no weights to key a cache by, no cache_key: nothing cached


def test_a_callable_mines_the_demo_and_says_once_that_nothing_is_cached(demo, demo_pairs, tmp_path, caplog):
    embed = Counting()
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        mined = hardneg.mine_hard_negatives(
            demo_pairs, embed, corpus=demo.corpus_texts, cache_folder=str(tmp_path), verbose=False
        )
    assert mined.column_names == ["query", "answer", "negative"]
    assert len(mined) == 3 * len(demo_pairs)  # triplets, 3 negatives per pair
    positives = {}
    for anchor, positive in zip(demo_pairs["query"], demo_pairs["answer"]):
        positives.setdefault(anchor, set()).add(positive)
    assert all(row["negative"] not in positives[row["query"]] for row in mined)
    assert embed.texts > 0
    assert caplog.text.count("the embedding cache is off for this run") == 1
    assert _embedding_files(tmp_path) == []


def test_a_cache_key_caches_a_callable_and_another_key_encodes_again(demo, demo_pairs, tmp_path):
    embed = Counting()
    call = {"corpus": demo.corpus_texts, "cache_folder": str(tmp_path), "verbose": False, "output_format": "n-tuple"}
    first = hardneg.mine_hard_negatives(demo_pairs, embed, cache_key="bow-64-v1", **call)
    encoded = embed.texts
    assert encoded > 0 and _embedding_files(tmp_path)
    again = hardneg.mine_hard_negatives(demo_pairs, embed, cache_key="bow-64-v1", **call)
    assert embed.texts == encoded  # every vector from the cache
    assert again.to_list() == first.to_list()
    hardneg.mine_hard_negatives(demo_pairs, embed, cache_key="bow-64-v2", **call)
    assert embed.texts == 2 * encoded  # a new key: the vectors may differ, so they are made again


def test_hardneg_mine_takes_a_callable(demo_pairs, demo):
    result = hardneg.mine(demo_pairs, model=bag_of_words, corpus=demo.corpus_texts, preset="default", seed=3)
    assert result.summary["rows"] > 0
    assert result.manifest["parameters"]["model"] == "function(bag_of_words)"
    assert result.summary["score_space"]


def test_an_object_with_encode_only_and_weights_of_its_own_is_not_taken_for_a_sentence_transformer(demo_pairs, demo):
    import torch

    class Module(torch.nn.Module):  # a torch model with its own encode(texts): not sentence-transformers' encode
        def encode(self, texts):
            return torch.from_numpy(bag_of_words(texts))

    mined = hardneg.mine_hard_negatives(demo_pairs, Module(), corpus=demo.corpus_texts, verbose=False)
    assert len(mined) == 3 * len(demo_pairs)


def test_a_prompt_reaches_a_callable_as_a_prefix(demo_pairs, demo):
    seen: list[str] = []

    def embed(texts):
        seen.extend(texts)
        return bag_of_words(texts)

    hardneg.mine_hard_negatives(
        demo_pairs.select(range(4)), embed, corpus=demo.corpus_texts[:20], query_prompt="query: ", num_negatives=1, verbose=False
    )
    assert any(t.startswith("query: ") for t in seen) and not all(t.startswith("query: ") for t in seen)


@pytest.mark.parametrize(
    ("embed", "message"),
    [
        (object(), r"model: a object cannot embed texts"),
        (lambda texts: np.zeros((1, 4)), r"returned an array of shape \(1, 4\) for \d+ texts"),
        (lambda texts: np.full((len(texts), 4), np.nan), "returned NaN or infinite values"),
    ],
)
def test_a_bad_embedder_is_named(demo_pairs, embed, message):
    with pytest.raises(ModelError, match=message):
        hardneg.mine_hard_negatives(demo_pairs, embed, verbose=False)


def test_an_embedder_encodes_as_it_is(demo_pairs):
    with pytest.raises(ConfigError, match="precision='bf16': an embedder that is not a SentenceTransformer"):
        hardneg.mine_hard_negatives(demo_pairs, bag_of_words, precision="bf16", verbose=False)


@pytest.mark.integration
@pytest.mark.parametrize("cached", [False, True])
def test_scifact_through_the_drop_in(scifact, model, tmp_path, cached):
    """SciFact train (first 40 qrels pairs, a 100-document slice holding every positive): a callable and an object
    with encode_query/encode_document, with the cache (a cache_key) and without."""
    from datasets import Dataset

    from .test_scifact_peer import _pairs_and_corpus

    anchors, positives, corpus = _pairs_and_corpus(scifact, 40, 100)
    pairs = Dataset.from_dict({"anchor": anchors, "positive": positives})
    call = {"corpus": corpus, "cache_folder": str(tmp_path), "output_format": "n-tuple", "verbose": False}
    for embedder in (Counting(), Wrapped(model)):
        if cached:  # one key per embedder: a key names the vectors, and these two make different ones
            call["cache_key"] = type(embedder).__name__
        mined = hardneg.mine_hard_negatives(pairs, embedder, **call)
        assert len(mined) == len(set(zip(anchors, positives)))
        assert bool(_embedding_files(tmp_path)) is cached
        if cached and isinstance(embedder, Counting):
            before = embedder.texts
            assert hardneg.mine_hard_negatives(pairs, embedder, **call).to_list() == mined.to_list()
            assert embedder.texts == before
