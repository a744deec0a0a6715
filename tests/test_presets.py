"""Presets: each runs on the demo, explicit values win, bad values are named; the demo's traps hold."""

from __future__ import annotations

import pytest

import hardneg
from hardneg import PRESETS, ConfigError, MineConfig
from hardneg.mining.config import DEFAULT_PRESET, make_config

MINING_PRESETS = [name for name, values in PRESETS.items() if values["sampler"] != "none"]


def test_the_named_methods_exist():
    assert set(PRESETS) >= {"default", "in-batch", "random", "dpr", "top", "ance", "nv-retriever", "simans"}
    assert DEFAULT_PRESET in PRESETS


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_runs_on_the_demo(preset):
    result = hardneg.mine("demo", preset=preset, show_progress=False)
    s = result.summary
    n = PRESETS[preset]["num_negatives"]
    assert s["queries"] == 36 and s["pairs"] == 41
    assert s["negatives_per_query"] == n
    assert s["rows"] == 41 and s["queries_short"] == 0
    assert result.table.column_names == ["anchor", "positive"] + [f"negative_{j}" for j in range(1, n + 1)]
    for row in result.table.to_pylist():
        negatives = [row[f"negative_{j}"] for j in range(1, n + 1)]
        assert row["positive"] not in negatives
        assert len(set(negatives)) == n  # no query is short, so nothing is repeated


@pytest.fixture(scope="module")
def demo_negatives() -> dict[str, set[tuple[str, str]]]:
    """(query id, negative id) pairs every mining preset picks on both demo splits, plus its candidate pairs."""
    out = {}
    for preset in MINING_PRESETS:
        picked, seen = set(), set()
        for split in ("train", "test"):
            result = hardneg.mine("demo", split=split, preset=preset, output_format="candidates", show_progress=False)
            for row in result.table.to_pylist():
                picked |= {(row["query_id"], d) for d in row["negative_ids"]}
                seen |= {(row["query_id"], d) for d in row["candidate_ids"]}
        out[preset] = (picked, seen)
    return out


@pytest.mark.parametrize("preset", MINING_PRESETS)
def test_demo_duplicates_of_positives_are_never_selected(demo_negatives, demo_false_negatives, preset):
    """The demo plants exact copies of positives (other case and spacing) under other ids: never negatives."""
    duplicates = {(q, d) for q, d, kind in demo_false_negatives if kind == "duplicate"}
    assert len(duplicates) == 10
    picked, seen = demo_negatives[preset]
    assert not duplicates & picked
    assert not duplicates & seen  # not even offered as candidates


def test_top_meets_every_train_duplicate_and_drops_it():
    """Dense top-k reaches each duplicate (it scores like the positive); the text rule is what keeps it out."""
    result = hardneg.mine("demo", preset="top", show_progress=False)
    assert result.summary["dropped"]["known_positive_text"] == 6  # train holds 6 of the 10 duplicates


def test_explicit_values_override_the_preset():
    config = make_config("nv-retriever", num_negatives=2, relative_margin=0.1)
    assert (config.num_negatives, config.relative_margin, config.sampler, config.selection) == (2, 0.1, "dense", "top")
    assert make_config("ance").range_max == 200 and make_config("ance", range_max=30).range_max == 30
    assert make_config().preset == DEFAULT_PRESET
    result = hardneg.mine("demo", preset="dpr", num_negatives=2, bm25_k1=1.2, show_progress=False)
    assert result.summary["negatives_per_query"] == 2
    assert result.manifest["parameters"]["bm25_k1"] == 1.2 and result.manifest["parameters"]["sampler"] == "bm25"


def test_unknown_preset_is_named():
    with pytest.raises(ConfigError, match=r"preset must be one of .*'top'.*got 'colbert'"):
        make_config("colbert")
    with pytest.raises(ConfigError, match="'colbert'"):
        hardneg.mine("demo", preset="colbert")


BAD_VALUES = {
    "sampler": ({"sampler": "splade"}, "sampler must be one of .*got 'splade'"),
    "selection": ({"selection": "hardest"}, "selection must be one of .*got 'hardest'"),
    "output_format": ({"output_format": "csv"}, "output_format must be one of .*got 'csv'"),
    "num_negatives": ({"num_negatives": -1}, "num_negatives must be >= 0, got -1"),
    "zero negatives": ({"num_negatives": 0}, "num_negatives must be >= 1 unless sampler='none'"),
    "range_min": ({"range_min": -3}, "range_min must be >= 0, got -3"),
    "range_max": ({"range_min": 10, "range_max": 5}, "range_min=10, range_max=5"),
    "window too small": (
        {"range_min": 0, "range_max": 2, "num_negatives": 3},
        r"num_negatives=3 cannot fit in the rank window \[0, 2\)",
    ),
    "relative_margin": ({"relative_margin": 1.5}, r"relative_margin must be in \[0, 1\), got 1.5"),
    "batch_size": ({"batch_size": 0}, "batch_size must be >= 1, got 0"),
    "query_chunk_size": ({"query_chunk_size": 0}, "query_chunk_size must be >= 1, got 0"),
    "max_depth": ({"max_depth": 0}, "max_depth must be >= 1, got 0"),
    "unknown parameter": ({"num_negative": 3}, r"unknown parameter\(s\) \['num_negative'\]"),
    "candidates without sampler": (
        {"sampler": "none", "output_format": "candidates"},
        "sampler='none' writes",
    ),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_bad_values_are_named(case):
    overrides, message = BAD_VALUES[case]
    with pytest.raises(ConfigError, match=message):
        make_config("top", **overrides)


def test_config_fields_all_have_help():
    import dataclasses

    for f in dataclasses.fields(MineConfig):
        assert f.metadata.get("help"), f.name
