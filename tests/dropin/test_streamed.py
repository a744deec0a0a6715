"""Streamed pairs through the drop-in: an ``IterableDataset`` or a generator, mined ``chunk_pairs`` at a time, the
rows kept or written to a file as they are mined; the same rows as the whole ``Dataset`` gives."""

from __future__ import annotations

import pytest

import hardneg
from hardneg.errors import ConfigError

from .test_embedders import bag_of_words


@pytest.fixture(scope="module")
def whole(demo, demo_pairs):
    """The rows of the whole Dataset: what every stream of the same pairs must give."""
    return hardneg.mine_hard_negatives(
        demo_pairs, bag_of_words, corpus=demo.corpus_texts, output_format="n-tuple", output_scores=True, verbose=False
    )


def _call(demo, **extra):
    return {"corpus": demo.corpus_texts, "output_format": "n-tuple", "output_scores": True, "verbose": False, **extra}


def test_a_generator_of_tuples_gives_the_rows_of_the_whole_dataset(demo, demo_pairs, whole):
    pairs = ((a, p) for a, p in zip(demo_pairs["query"], demo_pairs["answer"]))
    mined = hardneg.mine_hard_negatives(pairs, bag_of_words, chunk_pairs=16, **_call(demo))
    assert mined.column_names == ["anchor", "positive", "negative_1", "negative_2", "negative_3", "scores"]
    assert [list(r.values()) for r in mined.to_list()] == [list(r.values()) for r in whole.to_list()]
    summary = hardneg.mining_summary(mined)
    assert summary["chunks"] > 1 and summary["rows"] == len(whole) and summary["pairs"] == len(demo_pairs)


def test_an_iterable_dataset_keeps_its_column_names(demo, demo_pairs, whole):
    stream = demo_pairs.to_iterable_dataset()
    mined = hardneg.mine_hard_negatives(stream, bag_of_words, chunk_pairs=10, **_call(demo))
    assert mined.to_list() == whole.to_list()


def test_a_chunk_never_splits_an_anchor(demo):
    from hardneg.drivers.compat_stream import pair_chunks

    rows = [("a", "1"), ("a", "2"), ("a", "3"), ("b", "4"), ("c", "5")]
    chunks = [pairs for pairs, _ in pair_chunks(iter(rows), None, None, 2)]
    assert chunks == [(["a", "a", "a"], ["1", "2", "3"]), (["b", "c"], ["4", "5"])]


def test_rows_written_as_mined_are_read_back_as_a_stream(demo, demo_pairs, whole, tmp_path):
    out = tmp_path / "rows.parquet"
    pairs = iter(demo_pairs.to_list())
    mined = hardneg.mine_hard_negatives(pairs, bag_of_words, chunk_pairs=20, out=str(out), **_call(demo))
    import datasets

    assert isinstance(mined, datasets.IterableDataset) and out.is_file()
    assert list(mined) == whole.to_list()
    assert hardneg.mining_summary(mined)["rows"] == len(whole)
    with pytest.raises(ConfigError, match="exists; pass overwrite=True"):
        hardneg.mine_hard_negatives(iter(demo_pairs.to_list()), bag_of_words, out=str(out), **_call(demo))
    with pytest.raises(ConfigError, match="to a .parquet or .jsonl file"):
        hardneg.mine_hard_negatives(iter(demo_pairs.to_list()), bag_of_words, out=str(tmp_path / "folder"), **_call(demo))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "The dataset is empty"),
        ([("a", "b", "c")], "dataset row 1: expected a record or an .anchor, positive. pair, got tuple"),
        ([{"only": "x"}], r"dataset row 1: \['only'\] has fewer than two columns"),
    ],
)
def test_bad_streams_are_named(rows, message):
    with pytest.raises(ValueError, match=message):
        hardneg.mine_hard_negatives(iter(rows), bag_of_words, verbose=False)
