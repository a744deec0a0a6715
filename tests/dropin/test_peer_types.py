"""The drop-in against the installed peer on an inline fixture: the same types column for column (so the two
libraries' rows concatenate), the summary, and the peer's ``include_positives`` rows."""

from __future__ import annotations

import logging

import datasets
import pytest

import hardneg

peer = pytest.importorskip("sentence_transformers.util.hard_negatives").mine_hard_negatives

QUERIES = {
    "What is the capital of France?": "Paris is the capital of France.",
    "How do plants make sugar?": "Photosynthesis turns light, water and carbon dioxide into sugar.",
    "Which planet is called the red planet?": "Mars is often called the red planet.",
    "How many keys does a piano have?": "A piano has eighty-eight keys.",
    "What stores genetic instructions?": "DNA stores the genetic instructions of living things.",
    "How long should cookies bake?": "Bake the cookies for twelve minutes.",
    "Who plays tennis in doubles?": "Tennis is played in singles or doubles.",
    "What causes the tides?": "The Moon causes the tides as it orbits the Earth.",
}
CORPUS = [
    "Berlin is the capital of Germany.",
    "Lyon is a large city in France.",
    "Chlorophyll absorbs light in the leaves of plants.",
    "Jupiter is the largest planet of the solar system.",
    "A violin has four strings.",
    "Cells hold the genetic material of an organism.",
    "Knead flour, water and yeast, then bake the bread.",
    "Football teams have eleven players.",
    "The Sun is a star at the centre of the solar system.",
]
FORMATS = [(f, s) for f in ("triplet", "n-tuple", "labeled-pair", "labeled-list") for s in (False, True)]


@pytest.fixture(scope="module")
def pairs() -> datasets.Dataset:
    extra = [("What is the capital of France?", "The French government sits in Paris, its capital.")]
    return datasets.Dataset.from_dict(
        {"query": [*QUERIES, *(a for a, _ in extra)], "answer": [*QUERIES.values(), *(p for _, p in extra)]}
    )


@pytest.mark.parametrize(("output_format", "output_scores"), FORMATS, ids=[f"{f}-scores={s}" for f, s in FORMATS])
def test_rows_concatenate_with_the_peers(output_format, output_scores, model, pairs, tmp_path_factory):
    common = {"corpus": CORPUS, "num_negatives": 2, "output_format": output_format, "output_scores": output_scores}
    cache = str(tmp_path_factory.getbasetemp() / "peer-types-cache")
    theirs = peer(pairs, model, verbose=False, cache_folder=cache, **common)
    ours = hardneg.mine_hard_negatives(pairs, model, verbose=False, **common)
    assert ours.features == theirs.features
    both = datasets.concatenate_datasets([theirs, ours])
    assert both.num_rows == theirs.num_rows + ours.num_rows


def test_the_summary_is_printed_and_travels_with_the_rows(model, pairs, capsys, tmp_path):
    ours = hardneg.mine_hard_negatives(pairs, model, corpus=CORPUS, num_negatives=2, relative_margin=0.05, verbose=True)
    printed = capsys.readouterr().out
    for part in ("positive", "negative", "candidates dropped by", "relative_margin", "queries short", "window widened"):
        assert part in printed, part
    summary = hardneg.mining_summary(ours)
    assert summary["queries"] == len(QUERIES) and summary["rows"] == ours.num_rows
    assert {"queries_short", "queries_window_widened", "pairs_dropped", "positive_scores", "negative_scores"} <= set(summary)
    assert summary["dropped"]["relative_margin"] >= 0
    assert hardneg.mining_summary(ours.select(range(2))) == summary  # a selection keeps it
    ours.save_to_disk(str(tmp_path / "mined"))
    assert hardneg.mining_summary(datasets.load_from_disk(str(tmp_path / "mined"))) == summary


def test_queries_left_short_are_named_in_a_warning_or_printed_with_verbose(model, pairs, caplog, capsys):
    short = {"corpus": CORPUS, "num_negatives": 3, "relative_margin": 0.05, "max_depth": 3}
    hardneg.mine_hard_negatives(pairs, model, verbose=True, **short)
    assert "Could not find enough negatives for" in capsys.readouterr().out
    with caplog.at_level(logging.WARNING):
        mined = hardneg.mine_hard_negatives(pairs, model, verbose=False, **short)
    summary = hardneg.mining_summary(mined)
    assert summary["queries_short"] > 0
    warned = [r.getMessage() for r in caplog.records if "Could not find enough negatives" in r.getMessage()]
    assert len(warned) == 1 and f"for {summary['queries_short']} of {len(QUERIES)} queries" in warned[0]


@pytest.mark.parametrize("kwargs", [{}, {"output_scores": True, "range_min": 1}, {"output_format": "triplet"}])
def test_include_positives_ranks_the_positives_among_the_candidates_as_the_peer(kwargs, model, pairs, tmp_path_factory):
    common = {"corpus": CORPUS, "num_negatives": 3, "include_positives": True, "verbose": False, **kwargs}
    cache = str(tmp_path_factory.getbasetemp() / "peer-types-cache")
    theirs = peer(pairs, model, cache_folder=cache, **common)
    ours = hardneg.mine_hard_negatives(pairs, model, **common)
    assert ours.features == theirs.features
    texts = [c for c in theirs.column_names if c != "scores"]
    assert [[r[c] for c in texts] for r in ours.to_list()] == [[r[c] for c in texts] for r in theirs.to_list()]
    assert any(r["negative_1"] == r["answer"] for r in ours.to_list())  # a positive is a candidate
    if "scores" in theirs.column_names:
        flat = [[s for row in d["scores"] for s in row] for d in (ours, theirs)]
        assert flat[0] == pytest.approx(flat[1], abs=1e-5)


def test_include_positives_takes_the_top_candidates_whatever_the_preset(model, pairs):
    common = {"corpus": CORPUS, "include_positives": True, "output_scores": True, "verbose": False}
    with_preset = hardneg.mine_hard_negatives(pairs, model, preset="default", **common)  # its selection is random
    by_hand = hardneg.mine_hard_negatives(pairs, model, relative_margin=0.05, range_max=50, num_negatives=3, **common)
    assert with_preset.to_list() == by_hand.to_list()
    for row in with_preset["scores"]:
        distinct = sorted(set(row[1:]), reverse=True)
        assert row[1 : 1 + len(distinct)] == distinct
