"""The embedding cache: keyed by the model's weights, texts, prompts and length, never by names."""

from __future__ import annotations

import copy
import importlib
import pickle

import numpy as np
import pytest
import torch

import hardneg
from hardneg.encoding.encode import Encoder
from hardneg.encoding.model import fingerprint_model, load_model

TEXTS = [
    "What is the capital of France?",
    "Paris is the capital of France.",
    "Bake the cookies.",
    "Lyon is in France.",
    "Mars is red.",
]


@pytest.fixture(scope="module")
def perturbed(model):
    """A copy of the model with one weight nudged: a stand-in for a fine-tuned checkpoint."""
    other = copy.deepcopy(model)
    with torch.no_grad():
        next(other.parameters()).view(-1)[0] += 0.5
    return other


def test_same_weights_same_fingerprint_changed_weights_new_one(model, perturbed):
    assert fingerprint_model(load_model()) == fingerprint_model(model)
    assert fingerprint_model(perturbed) != fingerprint_model(model)


def test_a_fingerprint_is_remembered_per_model_object_until_its_weights_change(model, monkeypatch):
    """Asked again about one model object, the fingerprint is not hashed again, yet every way of changing the
    weights is seen: an in-place step, a change through ``.data`` (no version bump), a replaced tensor,
    ``load_state_dict`` and an optimiser step. Each answer equals a fresh hash of the same weights."""
    from hardneg.encoding import model as model_module

    mine = copy.deepcopy(model)
    first = fingerprint_model(mine)
    hashed = []
    blake2b = model_module.hashlib.blake2b
    monkeypatch.setattr(model_module.hashlib, "blake2b", lambda *a, **k: hashed.append(k.get("digest_size")) or blake2b(*a, **k))
    assert fingerprint_model(mine) == first and 16 not in hashed  # only the signature was read

    def fresh(m) -> str:
        model_module._FINGERPRINTS.pop(m, None)
        return fingerprint_model(m)

    weight = next(mine.parameters())
    seen = {first}
    with torch.no_grad():
        weight.view(-1)[7] += 0.25  # in place: the version counter moves
    changes = [fingerprint_model(mine)]
    weight.data.view(-1)[0] += 0.5  # through .data: the counter does not move; the first value, sampled, does
    changes.append(fingerprint_model(mine))
    weight.data = weight.data.clone()  # a new tensor, the same values
    assert fingerprint_model(mine) == changes[-1] == fresh(mine)
    mine.load_state_dict(model.state_dict())  # back to the original weights
    assert fingerprint_model(mine) == first
    optimiser = torch.optim.SGD(mine.parameters(), lr=0.1)
    mine.encode(["a"], convert_to_tensor=True)  # warm
    loss = mine(mine.tokenize(["a query"]))["sentence_embedding"].sum()
    loss.backward()
    optimiser.step()
    changes.append(fingerprint_model(mine))
    for fingerprint in changes:
        assert fingerprint not in seen
        seen.add(fingerprint)
    assert changes[-1] == fresh(mine)


def test_second_encoding_comes_from_the_cache(model, tmp_path):
    first = Encoder(model, fingerprint_model(model), cache_dir=tmp_path, shard_size=2, show_progress=False)
    a = first.encode(TEXTS, "document").to_array()
    assert first.stats.encoded == 5 and first.stats.cached == 0
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 3  # shards of 2, 2, 1

    second = Encoder(model, fingerprint_model(model), cache_dir=tmp_path, shard_size=2, show_progress=False)
    b = second.encode(TEXTS, "document").to_array()
    assert second.stats.encoded == 0 and second.stats.cached == 5
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)


def test_the_time_making_the_model_ready_is_counted_once_and_not_when_served_from_the_cache(model, tmp_path):
    texts = ["one text", "another text"]
    first = Encoder(model, "fp", precision="bf16", cache_dir=tmp_path, show_progress=False)
    first.encode(texts, "document")
    first.encode(["a third text"], "document")
    assert 0 < first.stats.prepare_seconds <= first.stats.seconds
    again = Encoder(model, "fp", precision="bf16", cache_dir=tmp_path, show_progress=False)
    again.encode(texts, "document")
    assert again.stats.prepare_seconds == 0 and again.stats.encoded == 0


def test_changed_weights_are_encoded_again(model, perturbed, tmp_path):
    Encoder(model, fingerprint_model(model), cache_dir=tmp_path, show_progress=False).encode(TEXTS, "document")
    enc = Encoder(perturbed, fingerprint_model(perturbed), cache_dir=tmp_path, show_progress=False)
    enc.encode(TEXTS, "document")
    assert enc.stats.encoded == 5 and enc.stats.cached == 0


def test_prompt_kind_and_length_are_part_of_the_key(model, tmp_path):
    fp = fingerprint_model(model)
    Encoder(model, fp, cache_dir=tmp_path, show_progress=False).encode(TEXTS, "query")
    enc = Encoder(model, fp, cache_dir=tmp_path, show_progress=False)
    enc.encode(TEXTS, "document")  # same texts, other kind: no prompt difference, but a separate entry
    enc_prompt = Encoder(model, fp, cache_dir=tmp_path, query_prompt="query: ", show_progress=False)
    enc_prompt.encode(TEXTS, "query")
    assert enc.stats.encoded == 5 and enc_prompt.stats.encoded == 5

    short_len = Encoder(model, fp, cache_dir=tmp_path, show_progress=False)
    original = model.max_seq_length
    try:
        model.max_seq_length = 8
        short_len.encode(TEXTS, "query")
    finally:
        model.max_seq_length = original
    assert short_len.stats.encoded == 5


def test_unreadable_cache_file_is_replaced(model, tmp_path):
    enc = Encoder(model, fingerprint_model(model), cache_dir=tmp_path, show_progress=False)
    good = enc.encode(TEXTS, "document").to_array()
    (path,) = (tmp_path / "embeddings").glob("*.npy")
    path.write_bytes(b"not numpy")
    again = Encoder(model, fingerprint_model(model), cache_dir=tmp_path, show_progress=False)
    assert np.allclose(again.encode(TEXTS, "document").to_array(), good, atol=1e-5)
    assert again.stats.encoded == 5


def test_mining_twice_encodes_nothing_the_second_time(tiny_beir, tmp_path):
    kwargs = dict(preset="top", cache_dir=str(tmp_path / "cache"), show_progress=False)
    first = hardneg.mine(tiny_beir, **kwargs).summary
    assert first["texts_encoded"] == 30 + 4 and first["texts_from_cache"] == 0
    second = hardneg.mine(tiny_beir, **kwargs).summary
    assert second["texts_encoded"] == 0 and second["texts_from_cache"] == 34


def test_mining_with_changed_weights_encodes_again(tiny_beir, tmp_path, model, perturbed):
    folder = tmp_path / "checkpoint"
    model.save(str(folder))
    kwargs = dict(model=str(folder), preset="top", cache_dir=str(tmp_path / "cache"), show_progress=False)
    base = hardneg.mine(tiny_beir, **kwargs)
    perturbed.save(str(folder))  # new weights in the same folder: the next checkpoint of a training run
    tuned = hardneg.mine(tiny_beir, **kwargs)
    assert tuned.summary["texts_encoded"] == 34 and tuned.summary["texts_from_cache"] == 0
    assert tuned.manifest["model"]["fingerprint"] == fingerprint_model(perturbed) != base.manifest["model"]["fingerprint"]


def test_a_run_served_from_the_cache_never_loads_the_model(tiny_beir, tmp_path, monkeypatch):
    kwargs = dict(preset="top", cache_dir=str(tmp_path / "cache"), show_progress=False)
    cold = hardneg.mine(tiny_beir, **kwargs)
    deferred = importlib.import_module("hardneg.encoding.deferred")
    loads = []
    real_load = deferred.load_model
    monkeypatch.setattr(deferred, "load_model", lambda *a, **kw: loads.append(1) or real_load(*a, **kw))

    warm = hardneg.mine(tiny_beir, **kwargs)
    assert loads == [] and warm.summary["texts_encoded"] == 0
    assert warm.manifest["model"] == cold.manifest["model"]  # the same fingerprint, length and path
    assert warm.table.equals(cold.table)

    with open(tiny_beir / "corpus.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"_id": "rome", "title": "Rome", "text": "Rome is the capital of Italy."}\n')
    grown = hardneg.mine(tiny_beir, **kwargs)  # the corpus shard is new: the model is needed, once
    assert loads == [1] and grown.summary["texts_encoded"] == 31 and grown.summary["texts_from_cache"] == 4
    assert grown.manifest["model"]["fingerprint"] == cold.manifest["model"]["fingerprint"]


def test_a_deferred_model_travels_as_the_loaded_model(model):
    from hardneg.encoding.deferred import DeferredModel

    loads = []
    deferred = DeferredModel(lambda: loads.append(1) or model, model.max_seq_length, None)
    assert not deferred.loaded
    shipped = pickle.loads(pickle.dumps(deferred))  # as to a worker process or a Ray actor
    assert loads == [1] and type(shipped) is type(model) and fingerprint_model(shipped) == fingerprint_model(model)


def test_without_cache_nothing_is_written(tiny_beir, tmp_path):
    cache = tmp_path / "cache"
    summary = hardneg.mine(tiny_beir, preset="top", cache_dir=str(cache), use_cache=False, show_progress=False).summary
    assert summary["texts_encoded"] == 34 and not cache.exists()
