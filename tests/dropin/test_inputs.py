"""``hardneg.mine`` from objects and Hugging Face datasets; FlagEmbedding in and out; Tevatron out."""

from __future__ import annotations

import json
import logging

import datasets
import pytest

import hardneg
from hardneg.errors import DataError

FAST = {"preset": "top", "num_negatives": 2, "show_progress": False}


def _rows(result):
    return result.to_dataset().to_list()


def test_a_dataset_and_a_model_object_give_the_rows_of_the_file_and_the_path(tmp_path, demo_pairs, tiny_folder, tiny_bi_encoder):
    cache = str(tmp_path / "cache")
    pairs_file = tmp_path / "pairs.jsonl"
    demo_pairs.to_json(str(pairs_file))
    from_file = hardneg.mine(pairs_file, model=str(tiny_folder), cache_dir=cache, **FAST)
    from_objects = hardneg.mine(demo_pairs, model=tiny_bi_encoder, cache_dir=cache, **FAST)
    assert _rows(from_objects) == _rows(from_file)
    assert from_objects.manifest["parameters"]["model"].startswith("SentenceTransformer(")
    assert from_objects.manifest["model"]["fingerprint"] == from_file.manifest["model"]["fingerprint"]


def test_an_in_memory_corpus_adds_candidates(tmp_path, demo, demo_pairs, tiny_bi_encoder):
    extra = ["A completely unrelated text about knitting socks.", "  "]
    result = hardneg.mine(demo_pairs, model=tiny_bi_encoder, corpus=demo.corpus_texts + extra, cache_dir=str(tmp_path), **FAST)
    negatives = {r[k] for r in _rows(result) for k in ("negative_1", "negative_2")}
    assert negatives <= set(demo.corpus_texts + extra[:1])
    assert result.manifest["inputs"]["corpus"]["path"].startswith("memory:")


def test_extra_positives_apply_to_a_dataset_as_to_its_file(tmp_path, demo_pairs, tiny_folder):
    """A qrels-style file of more positives is added to data in memory too, not only to data read from a file."""
    from hardneg.data import load_data

    pairs_file = tmp_path / "pairs.jsonl"
    demo_pairs.to_json(str(pairs_file))
    loaded = load_data(pairs_file)
    other = next(d for d in range(len(loaded.corpus_ids)) if d not in loaded.positives[0])
    extra = tmp_path / "extra.tsv"
    extra.write_text(f"{loaded.query_ids[0]}\t{loaded.corpus_ids[other]}\t1\n", encoding="utf-8")
    common = {"model": str(tiny_folder), "cache_dir": str(tmp_path / "cache"), "extra_positives": str(extra), **FAST}
    from_file = hardneg.mine(pairs_file, **common)
    from_memory = hardneg.mine(demo_pairs, **common)
    assert from_file.summary["extra_positives"] == from_memory.summary["extra_positives"] == 1
    assert _rows(from_memory) == _rows(from_file)


def test_a_dataset_dict_folder_and_its_split(tmp_path, demo_pairs, tiny_folder):
    folder = tmp_path / "hf"
    datasets.DatasetDict({"train": demo_pairs, "dev": demo_pairs.select(range(3))}).save_to_disk(str(folder))
    cache = str(tmp_path / "cache")
    train = hardneg.mine(str(folder), model=str(tiny_folder), cache_dir=cache, **FAST)
    dev = hardneg.mine(str(folder), split="dev", model=str(tiny_folder), cache_dir=cache, **FAST)
    assert len(_rows(train)) == len(demo_pairs) and len(_rows(dev)) == 3
    with pytest.raises(DataError, match="split 'test' not found"):
        hardneg.mine(str(folder), split="test", model=str(tiny_folder), cache_dir=cache, **FAST)
    in_memory = hardneg.mine(datasets.load_from_disk(str(folder)), split="dev", model=str(tiny_folder), cache_dir=cache, **FAST)
    assert _rows(in_memory) == _rows(dev)


def test_a_bad_row_is_named(tiny_folder, tmp_path):
    bad = datasets.Dataset.from_dict({"q": ["fine", ""], "p": ["a text", "another"]})
    with pytest.raises(DataError, match=r"dataset:2: empty or missing anchor"):
        hardneg.mine(bad, model=str(tiny_folder), cache_dir=str(tmp_path), **FAST)


def _write_fe(path, demo, with_scores: bool):
    lines = []
    for i, (q, pos) in enumerate(zip(demo.query_texts[:6], demo.positives[:6])):
        line = {"query": q, "pos": [demo.corpus_texts[d] for d in pos], "neg": [demo.corpus_texts[(i * 7) % 300]]}
        if with_scores:
            line |= {"pos_scores": [1.0] * len(pos), "neg_scores": [0.0]}
        line |= {
            "prompt": "Represent this sentence for searching relevant passages: ",
            "type": "normal" if i % 2 else "symmetric",
        }
        lines.append(json.dumps(line))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [json.loads(x) for x in lines]


@pytest.mark.parametrize("with_scores", [False, True], ids=["no-scores", "scores"])
def test_flagembedding_round_trip_keeps_every_input_field(tmp_path, demo, tiny_folder, with_scores):
    source = tmp_path / "fe.jsonl"
    inputs = _write_fe(source, demo, with_scores)
    out = tmp_path / "mined.jsonl"
    hardneg.mine(
        source, out, model=str(tiny_folder), output_format="flagembedding", include_scores=with_scores,
        cache_dir=str(tmp_path / "cache"), **FAST,
    )  # fmt: skip
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(inputs)
    for given, mined in zip(inputs, rows):
        assert set(given) <= set(mined)
        assert (mined["query"], mined["pos"], mined["prompt"], mined["type"]) == (
            given["query"], given["pos"], given["prompt"], given["type"],
        )  # fmt: skip
        assert len(mined["neg"]) == 2 and not set(mined["neg"]) & set(given["pos"])
        assert ("neg_scores" in mined) == with_scores  # the miner's own cosine only when asked for
    again = tmp_path / "again.jsonl"  # the output is itself a valid input
    hardneg.mine(out, again, model=str(tiny_folder), output_format="flagembedding", cache_dir=str(tmp_path / "cache"), **FAST)
    assert [json.loads(x)["type"] for x in again.read_text().splitlines()] == [r["type"] for r in inputs]


def test_flagembedding_scores_come_from_a_teacher(tmp_path, demo, tiny_folder, tiny_cross_encoder):
    source = tmp_path / "fe.jsonl"
    _write_fe(source, demo, False)
    result = hardneg.mine(
        source, model=str(tiny_folder), teacher=tiny_cross_encoder, output_format="flagembedding",
        cache_dir=str(tmp_path / "cache"), **FAST,
    )  # fmt: skip
    row = _rows(result)[0]
    expected = tiny_cross_encoder.predict([(row["query"], t) for t in row["neg"]], activation_fn=__import__("torch").nn.Sigmoid())
    assert row["neg_scores"] == pytest.approx(expected.tolist(), abs=1e-4)
    assert result.manifest["parameters"]["teacher"].startswith("CrossEncoder(")


def test_tevatron_output(tmp_path, tiny_folder):
    out = tmp_path / "train.jsonl"
    hardneg.mine("demo", out, model=str(tiny_folder), output_format="tevatron", cache_dir=str(tmp_path / "cache"), **FAST)
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    from hardneg.data import load_data

    demo = load_data("demo")
    assert [r["query_id"] for r in rows] == demo.query_ids
    first = rows[0]
    assert set(first) == {"query_id", "query", "positive_passages", "negative_passages"}
    assert [p["docid"] for p in first["positive_passages"]] == [demo.corpus_ids[d] for d in demo.positives[0]]
    assert all(set(p) == {"docid", "title", "text"} for p in first["negative_passages"]) and len(first["negative_passages"]) == 2
    assert datasets.load_dataset("json", data_files=str(out), split="train").num_rows == len(rows)


def test_mine_says_which_columns_it_renamed_and_the_drop_in_keeps_them(tmp_path, demo_pairs, tiny_bi_encoder, caplog):
    pairs = demo_pairs.select(range(4))
    with caplog.at_level(logging.WARNING):
        rows = hardneg.mine(pairs, model=tiny_bi_encoder, cache_dir=str(tmp_path), **FAST).to_dataset()
    assert rows.column_names[:2] == ["anchor", "positive"]
    renamed = [r.getMessage() for r in caplog.records if "of the data is the anchor" in r.getMessage()]
    assert len(renamed) == 1 and "'query'" in renamed[0] and "'answer'" in renamed[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        kept = hardneg.mine_hard_negatives(pairs, tiny_bi_encoder, cache_folder=str(tmp_path), verbose=False)
    assert kept.column_names[:2] == ["query", "answer"]
    assert not [r for r in caplog.records if "of the data is the anchor" in r.getMessage()]
