"""A query is never its own negative: corpora that hold their queries (duplicate questions, FAQs, arguments).

The fixture (``demo_with_queries``) adds each training query of the demo to its corpus: under its own id and
text, under another id in other case and spacing, or with a small edit. Without the filter, ``top`` takes the
query itself as the first negative of most rows; with it (every preset of ``hardneg mine``), none.
"""

from __future__ import annotations

import json
import logging

import pyarrow.parquet as pq
import pytest

import hardneg
from hardneg.data.dataset import normalize_text
from hardneg.mining.config import PRESETS


def _queries(folder) -> dict[str, str]:
    lines = (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return {q["_id"]: q["text"] for q in map(json.loads, filter(None, lines))}


def _corpus(folder) -> dict[str, str]:
    lines = (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    return {d["_id"]: d["text"] for d in map(json.loads, filter(None, lines))}


def _self_negatives(rows, folder, added: dict[str, list[str]], kinds=("id", "text")) -> int:
    """Negatives (in a candidates file's ``negatives`` column of ids) that are their query itself, of ``kinds``."""
    own = {doc: doc.split("-", 1)[-1] for kind in kinds for doc in added[kind]}
    return sum(own.get(d) == q for q, negs in zip(rows["query_id"], rows["negative_ids"]) for d in negs)


def _mine(folder, tmp_path, **params):
    out = tmp_path / f"{params.get('preset', 'x')}-{len(list(tmp_path.iterdir()))}.parquet"
    result = hardneg.mine(str(folder), out, output_format="candidates", show_progress=False, **params)
    return result, pq.read_table(out).to_pydict()


@pytest.mark.parametrize("preset", [p for p in PRESETS if p not in ("in-batch", "random")])
def test_no_preset_chooses_the_query_itself(preset, demo_with_queries, tmp_path):
    folder, added = demo_with_queries
    result, rows = _mine(folder, tmp_path, preset=preset)
    assert _self_negatives(rows, folder, added) == 0
    assert result.summary["negatives_query_itself"] == 0
    assert result.summary["dropped"]["query_itself"] >= len(added["id"]) + len(added["text"]) - 2
    assert result.manifest["summary"]["dropped"]["query_itself"] == result.summary["dropped"]["query_itself"]
    if preset == "top":  # the verdict is stored beside every excluded candidate
        assert result.summary["queries_short"] == 0


def test_without_the_filter_top_takes_the_query_itself_first(demo_with_queries, tmp_path):
    """What sentence-transformers' defaults do on such a corpus: counted, and named in the summary."""
    folder, added = demo_with_queries
    result, rows = _mine(folder, tmp_path, preset="top", exclude_query_itself=False)
    chosen = _self_negatives(rows, folder, added)
    assert chosen >= len(added["id"]) + len(added["text"]) - 2
    assert result.summary["negatives_query_itself"] == chosen
    assert "query_itself" not in result.summary["dropped"]
    first = [negs[0] for negs in rows["negative_ids"]]
    queries = _queries(folder)
    corpus = _corpus(folder)
    by_text = sum(normalize_text(corpus[d]) == normalize_text(queries[q]) for q, d in zip(rows["query_id"], first))
    assert by_text >= 0.6 * len(first)


def test_a_near_duplicate_of_the_query_is_dropped_when_near_duplicates_are_on(demo_with_queries, tmp_path):
    folder, added = demo_with_queries
    _, rows = _mine(folder, tmp_path, preset="top")
    assert _self_negatives(rows, folder, added, kinds=("near",)) > 0  # a small edit is not the same text
    result, rows = _mine(folder, tmp_path, preset="top", near_duplicate_threshold=0.5)
    assert _self_negatives(rows, folder, added, kinds=("id", "text", "near")) == 0
    assert result.summary["dropped"]["query_itself"] > result.summary["dropped"]["near_duplicate"] >= 0


def test_the_verdict_is_stored_and_the_codes_keep_their_meaning(demo_with_queries, tmp_path):
    from hardneg.filters import VERDICTS

    assert VERDICTS[-1] == "query_itself" and VERDICTS.index("batch_positive") == 14  # appended: stored codes unchanged
    folder, added = demo_with_queries
    _, rows = _mine(folder, tmp_path, preset="top")
    verdicts = {d: v for ids, reasons in zip(rows["excluded_ids"], rows["excluded_verdicts"]) for d, v in zip(ids, reasons)}
    assert {verdicts.get(d) for d in added["id"] + added["text"]} == {"query_itself"}


def test_the_audit_counts_the_query_itself(demo_with_queries):
    from hardneg.drivers.audit import audit

    folder, _ = demo_with_queries
    result = audit(str(folder), preset="top", hardness=False)
    assert result.query_itself["dropped"] > 0 and result.query_itself["chosen"] == 0
    assert "the query itself" in result.format_table()
    unprotected = audit(str(folder), preset="top", hardness=False, exclude_query_itself=False)
    assert unprotected.query_itself["chosen"] > 0 and unprotected.query_itself["dropped"] == 0


def test_the_drop_in_keeps_the_peer_rows_and_warns_with_the_count(demo_with_queries, model, caplog):
    from datasets import Dataset

    folder, added = demo_with_queries
    queries, corpus = _queries(folder), _corpus(folder)
    qrels = [line.split("\t") for line in (folder / "qrels" / "train.tsv").read_text().splitlines()[1:]]
    pairs = Dataset.from_dict({"query": [queries[q] for q, _, _ in qrels], "answer": [corpus[d] for _, d, _ in qrels]})
    documents = list(corpus.values())
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        peer = hardneg.mine_hard_negatives(pairs, model, corpus=documents, num_negatives=3, output_format="triplet")
    same = sum(normalize_text(r["query"]) == normalize_text(r["negative"]) for r in peer)
    assert same > 0
    assert any("are the query itself" in m for m in caplog.messages)
    caplog.clear()
    ours = hardneg.mine_hard_negatives(pairs, model, corpus=documents, num_negatives=3, output_format="triplet", preset="default")
    assert sum(normalize_text(r["query"]) == normalize_text(r["negative"]) for r in ours) == 0
    assert not any("the query itself" in m for m in caplog.messages)


def test_the_inspect_page_flags_and_filters_the_query_itself(demo_with_queries, tmp_path):
    from hardneg.inspect.build import inspect_candidates

    folder, added = demo_with_queries
    out = tmp_path / "cands.parquet"
    hardneg.mine(str(folder), out, output_format="candidates", show_progress=False, preset="top")
    result = inspect_candidates(out, tmp_path / "page.html", corpus=str(folder))
    flagged = {v.query_id for v in result.views if "itself" in v.flags}
    assert {d.split("-", 1)[-1] for d in added["id"] + added["text"]} <= flagged
    html = result.html.read_text(encoding="utf-8")
    assert '<option value="itself">' in html and "query_itself" in html
