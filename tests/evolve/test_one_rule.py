"""One mining rule on every path: `hardneg mine`, the pool refresh inside training and the live negative cache.

With the model the candidates file was mined with, and the candidates it found, a pool refresh and a cache
draw must choose exactly the negatives `hardneg mine` chose: the same known positives by id and text, near
duplicates, leakage guard, filters, widening and selection. A second, weaker copy of the rule once kept the
demo's planted false negatives (copies of a positive in other letter cases) out on one path only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hardneg
from hardneg.encoding.precision import encode_normalised
from hardneg.training.data import load_training_input
from hardneg.training.inline_refresh import PoolRefresher
from hardneg.training.negative_cache import EmbeddingTable, LiveNegativeCache

DEMO_TEST_QRELS = Path(hardneg.__file__).parent / "demo_data" / "qrels" / "test.tsv"
DEFENCE = {"near_duplicate_threshold": 0.5, "exclude_qrels": str(DEMO_TEST_QRELS)}


RULES = {
    "default": {"preset": "default"},
    "nv-retriever": {"preset": "nv-retriever"},
    "simans": {"preset": "simans"},
    # a window of 4 under a strict margin: 19 of the 36 queries widen their window
    "widened": {"preset": "default", "selection": "top", "range_max": 4, "relative_margin": 0.3},
}


CASES = [*((rule, "demo") for rule in RULES), ("default", "demo-with-queries"), ("widened", "demo-with-queries")]
"""Every rule on the demo; two on the demo whose corpus holds its training queries (the query itself is dropped)."""


@pytest.fixture(scope="module", params=CASES, ids=["-".join(case) for case in CASES])
def mined(request, tmp_path_factory, demo_with_queries):
    """A candidates file of the demo mined with a rule and the whole defence; its training input."""
    rule, data = request.param
    out = tmp_path_factory.mktemp("one-rule") / f"{rule}.parquet"
    source = "demo" if data == "demo" else str(demo_with_queries[0])
    result = hardneg.mine(source, out, output_format="candidates", show_progress=False, **RULES[rule], **DEFENCE)
    return result, load_training_input(str(out))


def _negatives(rows: np.ndarray, data) -> list[list[str]]:
    return [[data.corpus_ids[d] for d in row if d >= 0] for row in rows]


def _file_negatives(training) -> list[list[str]]:
    ids = training.data.corpus_ids
    return [[ids[d] for d in row.negatives] for row in training.candidates.rows]


def _planted(negatives: list[list[str]], query_ids: list[str], planted: set[tuple[str, str]]) -> int:
    return sum((q, d) in planted for q, row in zip(query_ids, negatives) for d in row)


def test_the_defence_acted_on_the_mined_file(mined):
    """The paths below are compared where the defence has work to do: copies of positives, near duplicates, the
    dev/test documents of the leakage guard and the positive-aware margin all dropped candidates."""
    result, _ = mined
    dropped = result.summary["dropped"]
    assert dropped["known_positive_text"] > 0 and dropped["near_duplicate"] > 0 and dropped["exclude_qrels"] > 0
    assert dropped.get("relative_margin", 0) > 0 or result.config.preset == "simans"
    assert result.summary["queries_window_widened"] > 0 or result.config.range_max != 4
    if result.config.data != "demo":  # the queries the corpus holds were dropped, on every path below too
        assert dropped["query_itself"] > 0 and result.summary["negatives_query_itself"] == 0


def test_a_pool_refresh_with_the_mining_model_chooses_what_mining_chose(mined, model, demo_false_negatives):
    """The pool (the file's candidates, BM25's top 100 and the positives) re-ranked by the unchanged model is
    mined by the file's own rule: every query gets the negatives `hardneg mine` chose, in the same order."""
    result, training = mined
    everything = [r.candidates for r in training.candidates.rows]
    refresher = PoolRefresher(training.pool, everything, training.mined_with, bm25_k=100, data=training.data)
    batches, encoded = refresher.mine(model)
    assert encoded > 0
    refreshed = _negatives(np.concatenate([b.negatives for b in batches]), training.data)
    expected = _file_negatives(training)
    assert sum(map(len, expected)) == result.summary["negatives_found"] > 0
    assert refreshed == expected
    planted = {(q, d) for q, d, _ in demo_false_negatives}
    query_ids = training.pool.query_ids
    assert _planted(refreshed, query_ids, planted) == _planted(expected, query_ids, planted)


def test_a_live_cache_draw_with_the_mining_vectors_chooses_what_mining_chose(mined, model):
    """A float32 table of the mining model's document vectors, searched with its query vectors: the cache's
    first-epoch draw is `hardneg mine`'s, defence included; the batch's other positives are never chosen."""
    _, training = mined
    data, pool = training.data, training.pool
    table = EmbeddingTable(encode_normalised(model, data.corpus_texts, "float32"), dtype="float32")
    cache = LiveNegativeCache(pool, table, data.corpus_ids, training.mined_with, data=data)
    queries = np.arange(len(pool.query_ids))
    vectors = encode_normalised(model, pool.query_texts, "float32")
    chosen, pools = cache.choose(table, queries, vectors)
    assert _negatives(chosen, data) == _file_negatives(training)
    for pool_docs, row in zip(pools, training.candidates.rows):
        assert not set(pool_docs.tolist()) & set(cache.positive_documents(training.candidates.rows.index(row)).tolist())

    others = [pool.positives[q][0] for q in (1, 2)]
    banned, _ = cache.choose(table, queries[:1], vectors[:1], exclude=[others])
    assert not set(banned[0].tolist()) & set(others)
