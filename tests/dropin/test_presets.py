"""The drop-in's ``preset``: it supplies every argument the caller did not pass; passed arguments override it."""

from __future__ import annotations

import logging

import pytest

import hardneg
from hardneg.drivers.compat_params import PASSED, tracks_passed_arguments

COMMON = {"num_negatives": 3, "output_format": "triplet", "seed": 7, "verbose": False}


@pytest.fixture(scope="module")
def planted(demo, demo_false_negatives) -> dict[str, set[str]]:
    """Query text -> texts of the documents the demo plants as its false negatives."""
    query = dict(zip(demo.query_ids, demo.query_texts))
    text = dict(zip(demo.corpus_ids, demo.corpus_texts))
    out: dict[str, set[str]] = {}
    for q, d, _ in demo_false_negatives:
        if q in query:  # the demo's training queries only
            out.setdefault(query[q], set()).add(text[d])
    return out


def _planted_share(mined, planted) -> float:
    rows = mined.to_list()
    return sum(r["negative"] in planted.get(r["query"], set()) for r in rows) / len(rows)


def _negatives(mined) -> list[tuple[str, str]]:
    return [(r["query"], r["negative"]) for r in mined.to_list()]


def test_the_default_preset_keeps_planted_false_negatives_out(model, demo, demo_pairs, planted):
    plain = hardneg.mine_hard_negatives(demo_pairs, model, corpus=demo.corpus_texts, **COMMON)
    protected = hardneg.mine_hard_negatives(demo_pairs, model, corpus=demo.corpus_texts, preset="default", **COMMON)
    assert _negatives(protected) != _negatives(plain)
    assert _planted_share(plain, planted) > 0.3  # the plain call: as the peer, mostly the planted ones
    assert _planted_share(protected, planted) <= 0.05


def test_passed_arguments_override_the_preset_even_at_the_peers_default_values(model, demo, demo_pairs):
    plain = hardneg.mine_hard_negatives(demo_pairs, model, corpus=demo.corpus_texts, **COMMON)
    overridden = hardneg.mine_hard_negatives(
        demo_pairs, model, corpus=demo.corpus_texts, preset="default", relative_margin=None, range_max=None,
        sampling_strategy="top", **COMMON,
    )  # fmt: skip
    assert _negatives(overridden) == _negatives(plain)


def test_a_preset_sets_num_negatives_when_the_caller_does_not(model, demo, demo_pairs):
    pairs = demo_pairs.select(range(4))
    mined = hardneg.mine_hard_negatives(
        pairs, model, corpus=demo.corpus_texts, preset="nv-retriever", output_format="n-tuple", verbose=False
    )
    assert [c for c in mined.column_names if c.startswith("negative_")] == [f"negative_{i}" for i in range(1, 5)]


def test_an_unprotected_call_warns_once_naming_the_protecting_preset(model, demo, demo_pairs, caplog):
    pairs = demo_pairs.select(range(4))
    with caplog.at_level(logging.WARNING):
        hardneg.mine_hard_negatives(pairs, model, corpus=demo.corpus_texts, verbose=False)
    warnings = [r.getMessage() for r in caplog.records if "false-negative control" in r.getMessage()]
    assert len(warnings) == 1 and "'default'" in warnings[0]
    for protected in ({"preset": "default"}, {"preset": "top"}, {"relative_margin": 0.05}, {"sampling_strategy": "random"}):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            hardneg.mine_hard_negatives(pairs, model, corpus=demo.corpus_texts, verbose=False, **protected)
        assert not [r for r in caplog.records if "false-negative control" in r.getMessage()], protected


def test_passed_arguments_are_told_apart_from_defaults():
    @tracks_passed_arguments
    def f(a, b=1, c=None, *, d=2, **params):
        return params[PASSED]

    assert f(0) == {"a"}
    assert f(0, 1, c=None) == {"a", "b", "c"}
    assert f(a=0, d=2, extra=3) == {"a", "d", "extra"}
