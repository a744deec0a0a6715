"""Training: mined rows, candidates with dynamic negatives, pairs; atomic output, manifest, resume, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hardneg
from hardneg.cli import main
from hardneg.errors import ConfigError, DataError
from hardneg.training.train import TrainConfig, train

FAST = {"batch_size": 8, "show_progress": False, "logging_steps": 1, "max_seq_length": 32}


@pytest.fixture
def mined(tiny_model, cache_dir, tmp_path):
    """An n-tuple file and a candidates file mined from the demo with the tiny model."""
    common = {"model": str(tiny_model), "cache_dir": str(cache_dir), "show_progress": False, "preset": "ance"}
    rows = tmp_path / "rows.parquet"
    cands = tmp_path / "cands.jsonl"
    hardneg.mine("demo", rows, num_negatives=2, **common)
    hardneg.mine("demo", cands, output_format="candidates", **common)
    return rows, cands


def _encode(model_path, texts):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_path), device="cpu").encode(texts)


def test_train_on_mined_rows_writes_model_and_manifest(mined, tiny_model, tmp_path):
    rows, _ = mined
    out = tmp_path / "model"
    result = train(rows, out, model=str(tiny_model), max_steps=2, **FAST)
    assert result.summary["steps"] == 2
    assert result.summary["input"] == "rows" and result.summary["negatives_per_row"] == 2
    assert (out / "config.json").is_file() or (out / "modules.json").is_file()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    assert not (tmp_path / "model.checkpoints").exists()
    manifest = json.loads((tmp_path / "model.manifest.json").read_text())
    assert manifest["command"] == "train" and manifest["seed"] == 42
    assert manifest["model"]["base"]["fingerprint"] != manifest["model"]["trained"]["fingerprint"]
    assert not np.allclose(_encode(out, ["a query"]), _encode(tiny_model, ["a query"]))


def test_train_from_candidates_resamples_each_epoch(mined, tiny_model, tmp_path, monkeypatch):
    _, cands = mined
    from hardneg.training.negative_pool import NegativePool

    epochs = []
    original = NegativePool.resample

    def spy(self, epoch):
        epochs.append(epoch)
        return original(self, epoch)

    monkeypatch.setattr(NegativePool, "resample", spy)
    result = train(cands, tmp_path / "model", model=str(tiny_model), epochs=2, num_negatives=1, **FAST)
    assert result.summary["input"] == "candidates"
    assert result.summary["steps"] == 2 * int(np.ceil(result.summary["rows"] / 8))
    assert epochs[-2:] == [0, 1]  # one draw per epoch (after the draw made at construction)


def test_pairs_and_cached_loss(tiny_model, tmp_path):
    result = train("demo", tmp_path / "model", model=str(tiny_model), max_steps=1, loss="cached-mnrl", mini_batch_size=4, **FAST)
    assert result.summary["input"] == "pairs" and result.summary["negatives_per_row"] == 0


def test_resume_from_checkpoint(mined, tiny_model, tmp_path):
    rows, _ = mined
    out = tmp_path / "model"
    train(rows, out, model=str(tiny_model), max_steps=2, checkpoint_steps=1, keep_checkpoints=True, **FAST)
    assert (tmp_path / "model.checkpoints" / "checkpoint-2").is_dir()
    result = train(rows, out, model=str(tiny_model), max_steps=3, checkpoint_steps=1, **FAST)
    assert result.summary["steps"] == 3
    assert [e["step"] for e in result.summary["loss_curve"]][-1] == 3
    assert len(result.summary["loss_curve"]) == 3  # steps 1-2 come from the checkpoint's log history
    assert not (tmp_path / "model.checkpoints").exists()


def test_bad_inputs_name_the_problem(tmp_path, tiny_model):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"anchor": "q", "positive": "p", "negative": ""}\n')
    with pytest.raises(DataError, match=r"line 1: column 'negative'"):
        train(bad, tmp_path / "m", model=str(tiny_model), **FAST)
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text('{"query": "q", "pos": ["p"], "neg": ["n"]}\n')
    with pytest.raises(DataError, match="anchor"):
        train(labeled, tmp_path / "m", model=str(tiny_model), **FAST)
    cands = tmp_path / "c.jsonl"
    row = {
        "query_id": "q1",
        "query": "text",
        "positive_ids": ["d001"],
        "candidate_ids": ["nope"],
        "candidate_kept": [True],
        "negative_ids": [],
    }
    cands.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match="'nope'"):
        train(cands, tmp_path / "m", model=str(tiny_model), corpus="demo", **FAST)
    with pytest.raises(DataError, match="manifest"):
        train(cands, tmp_path / "m", model=str(tiny_model), **FAST)
    cands.write_text(json.dumps({**row, "candidate_ids": ["d002"], "negative_ids": ["gone"]}) + "\n")
    with pytest.raises(DataError, match=r"line 1: negative_ids has id 'gone'"):
        train(cands, tmp_path / "m", model=str(tiny_model), corpus="demo", **FAST)


def test_config_validation():
    with pytest.raises(ConfigError, match="loss"):
        TrainConfig(loss="triplet")
    with pytest.raises(ConfigError, match="learning_rate"):
        TrainConfig(learning_rate=0)
    with pytest.raises(ConfigError, match="out is required"):
        train("demo", None)


def test_cli_train(tiny_model, tmp_path, capsys):
    out = tmp_path / "m"
    code = main(
        ["train", "--data", "demo", "--out", str(out), "--model", str(tiny_model), "--max-steps", "1"]
        + ["--batch-size", "4", "--no-show-progress", "--logging-steps", "1", "--json"]
    )
    assert code == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)  # exactly one document: the trainer's printed loss dicts went to stderr
    assert "'loss'" in captured.err
    assert summary["steps"] == 1
    assert out.is_dir()


@pytest.mark.parametrize("mode", ["full", "pool"])
def test_inline_refresh_swaps_negatives(mined, tiny_model, tmp_path, mode):
    _, cands = mined
    result = train(
        cands,
        tmp_path / "model",
        model=str(tiny_model),
        max_steps=4,
        refresh_steps=2,
        refresh_mode=mode,
        refresh_bm25_k=20,
        **FAST,
    )
    refreshes = result.summary["refreshes"]
    assert [r["step"] for r in refreshes] == [2]  # not at the last step: nothing would train on it
    assert refreshes[0]["documents_encoded"] > 0
    if mode == "full":
        assert refreshes[0]["documents_encoded"] >= 300  # the whole demo corpus
    assert 0.0 <= refreshes[0]["previous_negatives_still_in_pool"] <= 1.0


def test_inline_refresh_needs_candidates(tiny_model, tmp_path):
    with pytest.raises(ConfigError, match="candidates file"):
        train("demo", tmp_path / "m", model=str(tiny_model), refresh_steps=1, **FAST)


def test_bfloat16_training_and_encoding(tiny_model, tmp_path, cache_dir):
    from hardneg.drivers.evaluate import evaluate

    out = tmp_path / "model"
    assert train("demo", out, model=str(tiny_model), max_steps=1, precision="bfloat16", **FAST).summary["steps"] == 1
    half = evaluate("demo", model=str(out), precision="bfloat16", cache_dir=str(cache_dir), show_progress=False)
    full = evaluate("demo", model=str(out), cache_dir=str(cache_dir), show_progress=False)
    assert half.info["model"]["precision"] == "bf16"  # one spelling, whichever was passed
    assert abs(half.metrics["recall@100"] - full.metrics["recall@100"]) < 0.2


def test_conflict_free_sampler_is_used_when_installed(tiny_model, tmp_path, monkeypatch):
    import sys
    import types

    from sentence_transformers.base.sampler import DefaultBatchSampler

    made = []

    class FakeConflictFree:
        @staticmethod
        def factory(*, candidates=None, data=None):
            def make(dataset, batch_size, drop_last, valid_label_columns=None, generator=None, seed=0):
                made.append((candidates, data))
                from torch.utils.data import SequentialSampler

                return DefaultBatchSampler(SequentialSampler(dataset), batch_size=batch_size, drop_last=drop_last)

            return make

    monkeypatch.setitem(
        sys.modules, "hardneg.training.batch_hygiene", types.SimpleNamespace(ConflictFreeBatchSampler=FakeConflictFree)
    )
    train("demo", tmp_path / "m", model=str(tiny_model), max_steps=1, batch_sampler="conflict-free", **FAST)
    assert made and made[0][0] is None and made[0][1].query_ids  # pairs input: no candidates file, the data itself


def test_triplet_rows_from_a_dataset_folder(tiny_model, cache_dir, tmp_path):
    folder = tmp_path / "triplets"
    hardneg.mine(
        "demo", folder, model=str(tiny_model), cache_dir=str(cache_dir), show_progress=False, preset="ance",
        output_format="triplet", include_scores=True,
    )  # fmt: skip
    result = train(folder, tmp_path / "m", model=str(tiny_model), max_steps=1, **FAST)
    assert result.summary["input"] == "rows" and result.summary["negatives_per_row"] == 1  # the score column is not a text


def test_candidates_follow_the_mining_selection(mined, tiny_model, cache_dir, tmp_path):
    from hardneg.training.data import load_training_input

    _, random_cands = mined  # preset ance: a random draw, redrawn every epoch
    assert load_training_input(str(random_cands), num_negatives=1, seed=1).pool.sampling == "random"
    top_cands = tmp_path / "top.jsonl"
    hardneg.mine(
        "demo", top_cands, output_format="candidates", preset="top", num_negatives=2,
        model=str(tiny_model), cache_dir=str(cache_dir), show_progress=False,
    )  # fmt: skip
    loaded = load_training_input(str(top_cands), seed=1)
    assert loaded.pool.sampling == "top" and loaded.info["sampling"] == "top"
    records = [json.loads(line) for line in top_cands.read_text().splitlines()]
    ids = loaded.data.corpus_ids
    by_query = dict(zip(loaded.pool.query_ids, loaded.pool.negatives))
    checked = 0
    for record in records:
        if record["negative_ids"]:  # a query the filters left short has nothing to compare
            chosen = [ids[d] for d in by_query[record["query_id"]]]
            assert chosen[: len(record["negative_ids"])] == record["negative_ids"]
            checked += 1
    assert checked > len(records) // 2
    # asked for, uniform redraws replace the mined choice
    assert load_training_input(str(top_cands), seed=1, sampling="random").pool.sampling == "random"
    with pytest.raises(ConfigError, match="sampling"):
        TrainConfig(out="x", sampling="best")
