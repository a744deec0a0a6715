"""A cross-encoder rescores a bounded number of candidates by default; a run with no rows returns an empty
``Dataset`` (as the peer does) and a warning says why."""

from __future__ import annotations

import logging
import re

import hardneg
from hardneg.drivers.compat_params import teacher_max_depth


def test_the_default_depth_is_twice_the_window():
    assert teacher_max_depth(0, None) == 200
    assert teacher_max_depth(5, None) == 210
    assert teacher_max_depth(0, 30) == 60


def test_rescoring_stops_at_the_default_depth_and_no_rows_is_an_empty_dataset(
    model, demo, demo_pairs, tiny_cross_encoder, caplog
):
    pairs = demo_pairs.select(range(3))  # two queries; the demo corpus has 300 documents
    scored: list[int] = []
    predict = tiny_cross_encoder.predict

    def counting(sentences, *args, **kwargs):
        scored.append(len(sentences))
        return predict(sentences, *args, **kwargs)

    tiny_cross_encoder.predict = counting
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        mined = hardneg.mine_hard_negatives(
            pairs, model, corpus=demo.corpus_texts, cross_encoder=tiny_cross_encoder, max_score=0.0, verbose=False
        )  # every sigmoid probability is above 0: the filter drops every candidate
    assert len(mined) == 0 and mined.column_names == ["query", "answer", "negative"]  # the peer's empty Dataset
    assert re.search(r"No rows mined: none of the \d+ queries .*max_score [\d,]+\)", caplog.text)
    queries = len(set(pairs["query"]))
    assert 0 < sum(scored) <= queries * (teacher_max_depth(0, None) + len(pairs))
    assert sum(scored) < queries * len(demo.corpus_texts)
