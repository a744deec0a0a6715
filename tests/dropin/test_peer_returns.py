"""Where sentence-transformers returns a result, the drop-in returns one too, and says plainly what it did;
``hardneg mine`` and ``hardneg.mine()`` keep refusing the same settings as likely slips."""

from __future__ import annotations

import logging

import pytest
from datasets import Dataset

import hardneg
from hardneg.errors import ConfigError
from hardneg.mining.config import make_config

from .test_embedders import bag_of_words

PAIRS = {"query": ["capital of france", "who wrote 1984"], "answer": ["paris is the capital of france", "orwell wrote 1984"]}
CORPUS = ["lyon is a city in france", "the eiffel tower is in paris", "animal farm is by orwell", "rome is in italy"]


def test_a_corpus_smaller_than_num_negatives_gives_what_exists(caplog):
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        mined = hardneg.mine_hard_negatives(
            Dataset.from_dict(PAIRS), bag_of_words, corpus=CORPUS, num_negatives=8, output_format="n-tuple", verbose=False
        )
    assert len(mined) == 2  # every row, its negatives repeated to fill the columns, as hardneg fills short n-tuples
    assert {mined[0][f"negative_{i}"] for i in range(1, 9)} <= set(CORPUS) | set(PAIRS["answer"])
    assert "Could not find enough negatives for 2 of 2 queries" in caplog.text
    with pytest.raises(ConfigError, match="num_negatives=8 cannot be found: the corpus has 6 documents"):
        hardneg.mine(Dataset.from_dict(PAIRS), model=bag_of_words, corpus=CORPUS, num_negatives=8)


@pytest.mark.parametrize(("name", "value"), [("absolute_margin", -0.5), ("relative_margin", -0.1), ("relative_margin", 1.5)])
def test_margins_the_peer_accepts_are_mined_and_the_cli_still_refuses_them(name, value):
    mined = hardneg.mine_hard_negatives(Dataset.from_dict(PAIRS), bag_of_words, corpus=CORPUS, verbose=False, **{name: value})
    assert len(mined) > 0 if value < 0 else len(mined) == 0  # 1.5: every candidate above positive - 1.5 * |positive|
    with pytest.raises(ConfigError, match=f"{name} must be"):
        make_config("top", **{name: value})
    assert getattr(make_config("top", strict_checks=False, **{name: value}), name) == value


def test_a_min_score_that_leaves_no_row_is_said_plainly(caplog):
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        mined = hardneg.mine_hard_negatives(Dataset.from_dict(PAIRS), bag_of_words, corpus=CORPUS, min_score=0.99, verbose=False)
    assert len(mined) == 0 and mined.column_names == ["query", "answer", "negative"]
    assert "min_score=0.99 leaves no row: it dropped" in caplog.text
    assert "Consider adjusting the range_max and min_score parameters" in caplog.text


def test_include_positives_with_a_margin_says_the_positives_stay(caplog):
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        mined = hardneg.mine_hard_negatives(
            Dataset.from_dict(PAIRS), bag_of_words, corpus=CORPUS, include_positives=True, absolute_margin=0.1,
            num_negatives=2, verbose=False,
        )  # fmt: skip
    assert "include_positives=True with absolute_margin=0.1" in caplog.text
    assert "each row still ranks its positive" in caplog.text
    for row in mined:  # the positive is the anchor's best-scored text here, and it was not dropped
        assert row["answer"] in (row["negative_1"], row["negative_2"])
