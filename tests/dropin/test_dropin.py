"""``hardneg.mine_hard_negatives`` against ``sentence_transformers.util.mine_hard_negatives``, run in this process.

Both get the same Dataset, model and corpus. Rows are compared per (anchor, positive): the lists of
negatives must be equal, or differ for a reason docs/migrating.md lists: the corpus holds a text equal
to one of the anchor's positives after normalisation (hardneg treats it as a positive, so it is never
a negative and does not take up a rank), or hardneg searched deeper where the peer's window ran short.
"""

from __future__ import annotations

import inspect
import logging

import pytest

import hardneg
from hardneg.data.dataset import normalize_text

peer_module = pytest.importorskip("sentence_transformers.util.hard_negatives")
peer = peer_module.mine_hard_negatives

COMBOS = [
    {},
    {"output_format": "n-tuple"},
    {"output_format": "n-tuple", "output_scores": True},
    {"output_format": "labeled-pair"},
    {"output_format": "labeled-list", "output_scores": True},
    {"output_format": "triplet", "range_min": 2, "num_negatives": 2},
    {"output_format": "n-tuple", "relative_margin": 0.05},
    {"output_format": "n-tuple", "absolute_margin": 0.1, "range_max": 20},
    {"output_format": "triplet", "max_score": 0.6, "min_score": 0.2},
    {"as_triplets": False},
]


@pytest.fixture(scope="module")
def model():
    from sentence_transformers import SentenceTransformer

    from hardneg.encoding.model import default_model_path

    return SentenceTransformer(default_model_path(), device="cpu")


def negatives_by_pair(dataset, fmt: str) -> dict[tuple[str, str | None], list[str]]:
    """(anchor, positive) -> negatives in order, whatever the format (labeled-pair: per anchor)."""
    a, p = dataset.column_names[:2]
    out: dict[tuple[str, str | None], list[str]] = {}
    for row in dataset.to_list():
        if fmt == "triplet":
            out.setdefault((row[a], row[p]), []).append(row["negative"])
        elif fmt == "n-tuple":
            out[(row[a], row[p])] = [row[k] for k in sorted(k for k in row if k.startswith("negative_"))]
        elif fmt == "labeled-list":
            out[(row[a], row[p][0])] = row[p][1:]
        elif row.get("label", 1) == 0 or ("score" in row and (row[a], row[p]) not in out):
            out.setdefault((row[a], None), []).append(row[p])
    return out


def compare(ours, theirs, fmt: str, positives: dict[str, set[str]], corpus: list[str]) -> dict[str, int]:
    mine, peers = negatives_by_pair(ours, fmt), negatives_by_pair(theirs, fmt)
    by_norm: dict[str, set[str]] = {}
    for text in corpus + [t for p in positives.values() for t in p]:
        by_norm.setdefault(normalize_text(text), set()).add(text)
    counts = {"identical": 0, "positive_duplicate_in_corpus": 0, "hardneg_searched_deeper": 0, "unexplained": 0}
    for key, theirs_negs in peers.items():
        ours_negs = mine.get(key, [])
        if ours_negs == theirs_negs:
            counts["identical"] += 1
        elif any(len(by_norm[normalize_text(t)]) > 1 for t in positives[key[0]]):
            counts["positive_duplicate_in_corpus"] += 1
        elif ours_negs[: len(theirs_negs)] == theirs_negs:
            counts["hardneg_searched_deeper"] += 1
        else:
            counts["unexplained"] += 1
    counts["hardneg_searched_deeper"] += sum(1 for k in mine if k not in peers)  # rows the peer dropped
    return counts


@pytest.mark.parametrize("kwargs", COMBOS, ids=[",".join(f"{k}={v}" for k, v in c.items()) or "defaults" for c in COMBOS])
def test_same_rows_as_the_peer(kwargs, model, demo, demo_pairs, tmp_path_factory):
    cache = tmp_path_factory.getbasetemp() / "peer-embeddings"  # the peer encodes once, then reads its cache
    common = {"corpus": demo.corpus_texts, "verbose": False, **kwargs}
    theirs = peer(demo_pairs, model, cache_folder=str(cache), **common)
    ours = hardneg.mine_hard_negatives(demo_pairs, model, **common)
    assert ours.column_names == theirs.column_names
    fmt = "n-tuple" if kwargs.get("as_triplets") is False else kwargs.get("output_format", "triplet")
    positives: dict[str, set[str]] = {}
    for row in demo_pairs.to_list():
        positives.setdefault(row["query"], set()).add(row["answer"])
    counts = compare(ours, theirs, fmt, positives, demo.corpus_texts)
    assert counts["unexplained"] == 0, counts
    assert counts["identical"] >= 0.7 * sum(counts.values()), counts  # demo plants near duplicates on purpose


def test_signature_is_the_peers():
    ours = list(inspect.signature(hardneg.mine_hard_negatives).parameters.values())
    theirs = list(inspect.signature(peer).parameters.values())
    assert len(theirs) == 29
    assert [(p.name, p.default) for p in ours[:29]] == [(p.name, p.default) for p in theirs]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in ours[29:] if p.kind is not inspect.Parameter.VAR_KEYWORD)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"as_triplets": True}, "The `as_triplets` parameter is deprecated"),
        ({"margin": 0.1}, "The `margin` parameter is deprecated"),
        ({"output_format": "n-tuple-scores"}, '`output_format="n-tuple-scores"` is deprecated'),
    ],
)
def test_deprecated_parameters_warn_as_the_peer_does(kwargs, message, model, demo, demo_pairs, caplog):
    with caplog.at_level(logging.WARNING):
        mined = hardneg.mine_hard_negatives(demo_pairs.select(range(6)), model, corpus=demo.corpus_texts, verbose=False, **kwargs)
    assert any(message in r.getMessage() for r in caplog.records)
    if "output_format" in kwargs:
        assert mined.column_names[-1] == "scores"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"faiss_batch_size": 0}, "faiss_batch_size must be a positive integer"),
        ({"num_negatives": 0}, "num_negatives must be at least 1"),
        ({"output_format": "pairs"}, "Invalid output_format"),
        ({"range_min": 5, "range_max": 5}, "range_min must be smaller than range_max"),
        ({"range_min": -1}, "range_min must be non-negative"),
        ({"num_negatives": 10, "range_max": 3}, "Cannot mine 10 negatives per query: only 3 candidates remain"),
        ({"include_positives": True, "sampling_strategy": "random"}, "include_positives"),
        ({"query_prompt_name": "nope"}, "Prompt name 'nope' not found"),
    ],
)
def test_invalid_values_raise_value_errors(kwargs, message, model, demo_pairs):
    with pytest.raises(ValueError, match=message):
        hardneg.mine_hard_negatives(demo_pairs, model, verbose=False, **kwargs)
    with pytest.raises(ValueError, match="empty"):
        hardneg.mine_hard_negatives(demo_pairs.select([]), model, verbose=False)


def test_cross_encoder_rescores_under_a_score_filter(tiny_cross_encoder, model, demo, demo_pairs):
    pairs = demo_pairs.select(range(6))
    mined = hardneg.mine_hard_negatives(
        pairs, model, corpus=demo.corpus_texts, cross_encoder=tiny_cross_encoder, min_score=0.0, range_max=10,
        output_format="n-tuple", output_scores=True, verbose=False,
    )  # fmt: skip
    texts = [(r["query"], r["negative_1"]) for r in mined.to_list()]
    expected = tiny_cross_encoder.predict(texts, activation_fn=__import__("torch").nn.Sigmoid())
    assert [r["scores"][1] for r in mined.to_list()] == pytest.approx(expected.tolist(), abs=1e-4)


def test_the_drop_in_encodes_in_float32_where_hardneg_would_take_a_faster_path(model, demo, demo_pairs, monkeypatch):
    """A measured faster default (hardneg.encoding.defaults) is for hardneg's own commands: the drop-in encodes as the
    peer does, in float32, so the peer's arguments give the peer's rows on every CPU; asked, it takes the path."""
    from hardneg.encoding import defaults

    everywhere = defaults.MeasuredDefault("torch", "int8", frozenset(), frozenset(), "test: every CPU")
    monkeypatch.setattr(defaults, "MEASURED", (everywhere,))
    monkeypatch.delenv(defaults.SWITCH)  # the tests switch the table off (conftest.py)
    asked = []
    choose = defaults.choose
    monkeypatch.setattr(
        defaults, "choose", lambda backend, precision, *args: asked.append(precision) or choose(backend, precision, *args)
    )
    from hardneg.candidates import retriever

    monkeypatch.setattr(retriever, "choose", defaults.choose)
    hardneg.mine_hard_negatives(demo_pairs, model, corpus=demo.corpus_texts, num_negatives=1, use_faiss=True, verbose=False)
    assert asked == ["float32"]
    assert defaults.choose(None, None, "cpu").precision == "int8"  # what hardneg mine would take here
    hardneg.mine_hard_negatives(demo_pairs, model, corpus=demo.corpus_texts, num_negatives=1, verbose=False, precision="int8")
    assert asked[-1] == "int8"
