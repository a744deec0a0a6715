"""The candidates file's verdicts, the inspect page, and extra positives (no browser; see test_inspect_browser)."""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from hardneg.cli import build_parser, main
from hardneg.data import load_data
from hardneg.errors import DataError
from hardneg.filters import VERDICTS
from hardneg.inspect import inspect_candidates
from hardneg.inspect.build import mined_reference
from hardneg.inspect.records import query_view, sample_queries
from hardneg.mining.batch import verdict_codes


def _page_data(html: str) -> dict:
    payload = re.search(r'<script type="application/json" id="inspect-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(payload.replace("<\\/", "</"))


def test_verdict_codes_name_the_first_filter_that_dropped_a_candidate():
    valid = np.array([[True, True, True, True, True, True, False]])
    is_pos_id = np.array([[True, False, False, False, False, False, False]])
    is_pos_text = np.array([[False, True, False, False, False, False, False]])
    keep = np.array([[False, False, True, True, False, False, False]])
    near = np.array([[False, False, False, False, False, True, False]])
    margin = np.array([[False, False, False, False, True, False, False]])
    # the score filter after the margin drops candidate 4 again: the verdict stays the margin's
    later = np.array([[False, False, False, False, True, False, False]])
    masks = {
        "valid": valid, "is_pos_id": is_pos_id, "is_pos_text": is_pos_text, "keep": keep,
        "dropped": {"near_duplicate": near, "relative_margin": margin, "max_score": later},
    }  # fmt: skip
    codes = verdict_codes(masks, np.array([[3, -1]]))
    names = [VERDICTS[c] if c >= 0 else None for c in codes[0]]
    assert names == ["known_positive_id", "known_positive_text", "kept", "chosen", "relative_margin", "near_duplicate", None]


def test_candidates_file_records_verdicts_and_what_stayed_outside_the_window(demo_candidates):
    rows = pq.read_table(demo_candidates).to_pylist()
    data = load_data("demo")
    for row in rows:
        assert len(row["candidate_verdicts"]) == len(row["candidate_ids"])
        assert [v in ("kept", "chosen") for v in row["candidate_verdicts"]] == row["candidate_kept"]
        chosen = [d for d, v in zip(row["candidate_ids"], row["candidate_verdicts"]) if v == "chosen"]
        assert sorted(chosen) == sorted(row["negative_ids"])
        assert set(row["excluded_verdicts"]) <= {"known_positive_id", "known_positive_text", "near_duplicate", "beyond_window"}
        labelled = set(row["positive_ids"])
        assert {d for d, v in zip(row["excluded_ids"], row["excluded_verdicts"]) if v == "known_positive_id"} <= labelled
    q01 = next(r for r in rows if r["query_id"] == "q01")
    # d144 repeats q01's positive (a planted duplicate): kept out as a positive by text, and the file says so
    assert dict(zip(q01["excluded_ids"], q01["excluded_verdicts"]))["d144"] == "known_positive_text"
    # the default preset's 5 % margin drops a candidate scored above the positive, and the file names it
    assert "relative_margin" in {v for r in rows for v in r["candidate_verdicts"]}
    assert len(rows) == len(data.query_ids)


def test_demo_page_flags_the_planted_false_negatives(demo_candidates, demo_false_negatives, tmp_path):
    result = inspect_candidates(demo_candidates, tmp_path / "page.html")
    planted = {(q, d) for q, d, _ in demo_false_negatives}
    flagged = {True: 0, False: 0}
    total = {True: 0, False: 0}
    for view in result.views:
        for c in view.candidates + view.excluded:
            is_planted = (view.query_id, c["id"]) in planted
            total[is_planted] += 1
            flagged[is_planted] += c["suspect"]
    # measured: 33 of the 58 planted false negatives the miner searched are flagged, 9 of 1,773 other candidates
    assert total[True] >= 40
    assert flagged[True] / total[True] >= 0.5
    assert flagged[False] / total[False] <= 0.02
    # q01's planted paraphrase d060 scores above the positive: flagged, and q01 is among the most suspicious
    q01 = next(v for v in result.views if v.query_id == "q01")
    assert next(c for c in q01.candidates if c["id"] == "d060")["suspect"]
    ranked = sorted(result.views, key=lambda v: -v.suspicion)
    assert "q01" in [v.query_id for v in ranked[:5]]
    html = result.html.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html and "<img" not in html  # self-contained
    assert html.count("<svg") == 3
    page = _page_data(html)
    assert len(page["queries"]) == 36
    assert all(d in page["docs"] for q in page["queries"] for d in [c["id"] for c in q["candidates"]])
    manifest = json.loads(result.manifest.read_text())
    assert manifest["command"] == "inspect" and manifest["seed"] == 42
    assert manifest["summary"]["queries_on_page"] == 36


def test_a_large_run_is_sampled_and_keeps_the_most_suspicious(demo_candidates, tmp_path):
    result = inspect_candidates(demo_candidates, tmp_path / "page.html", sample=10, seed=3)
    page = _page_data(result.html.read_text(encoding="utf-8"))
    on_page = [q["id"] for q in page["queries"]]
    assert len(on_page) == 10
    top = [v.query_id for v in sorted(result.views, key=lambda v: -v.suspicion)[:5]]
    assert set(top) <= set(on_page)
    again = sample_queries(result.views, 10, seed=3)
    assert [result.views[i].query_id for i in again] == on_page  # seeded
    assert "10 of 36 queries" in result.html.read_text(encoding="utf-8")


def test_bad_rows_name_the_row():
    with pytest.raises(DataError, match=r"c\.jsonl: line 3: candidate_scores has 1 values for 2 candidates"):
        query_view(
            {"query_id": "q", "query": "x", "positive_ids": ["a"], "positive_scores": [1.0], "candidate_ids": ["b", "c"],
             "candidate_scores": [0.5], "negative_ids": []},
            where="line 3", path="c.jsonl",
        )  # fmt: skip
    with pytest.raises(DataError, match="columns \\['positive_ids'"):
        query_view({"query_id": "q", "query": "x"}, where="row 1", path="c.parquet")


def test_suspect_ratio_divides_by_the_positive_the_filters_used():
    # two positives scored 0.9 and 0.2: a candidate at 0.5 is far below the best positive, far above the weakest
    record = {"query_id": "q", "query": "x", "positive_ids": ["a", "b"], "positive_scores": [0.9, 0.2],
              "candidate_ids": ["c"], "candidate_scores": [0.5], "negative_ids": ["c"]}  # fmt: skip
    best = query_view(record, where="row 1", path="c.parquet")
    assert best.candidates[0]["ratio"] == pytest.approx(0.5 / 0.9, abs=1e-4)
    assert not best.candidates[0]["suspect"] and best.flags == []
    weakest = query_view(record, where="row 1", path="c.parquet", reference="min")
    assert weakest.candidates[0]["ratio"] == pytest.approx(2.5) and weakest.candidates[0]["suspect"]
    assert mined_reference({"parameters": {"positive_reference": "mean"}}) == "mean"
    assert mined_reference({"parameters": {"preset": "top"}}) == "min"  # mined before the choice existed
    assert mined_reference({}) == "max"


def test_inspect_cli_prints_one_json_document(demo_candidates, tmp_path, capsys):
    assert main(["inspect", str(demo_candidates), "--out", str(tmp_path / "p.html"), "--json", "--sample", "0"]) == 0
    out = capsys.readouterr().out
    payload = json.loads(out)  # exactly one document: json.loads rejects trailing text
    assert payload["queries_on_page"] == 36 and Path(payload["html"]).is_file()


def test_serve_reads_queries_on_demand(demo_candidates):
    from hardneg.inspect.serve import make_server

    server = make_server(demo_candidates, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        page = urllib.request.urlopen(base, timeout=30).read().decode()
        data = _page_data(page)
        assert data["mode"] == "served" and len(data["queries"]) == 36 and "candidates" not in data["queries"][0]
        one = json.loads(urllib.request.urlopen(base + "query/0", timeout=30).read())
        assert one["query"]["id"] == data["queries"][0]["id"]
        assert all(c["id"] in one["docs"] for c in one["query"]["candidates"])
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "query/999", timeout=30)
    finally:
        server.shutdown()
        server.server_close()


# --- extra positives -------------------------------------------------------------------------


def test_extra_positives_join_the_positives(tmp_path):
    marks = tmp_path / "marks.tsv"
    marks.write_text("query-id\tcorpus-id\tscore\nq01\td060\t1\nq01\td140\t1\nq02\td100\t0\n", encoding="utf-8")
    plain, extra = load_data("demo"), load_data("demo", extra_positives=marks)
    q01 = plain.query_ids.index("q01")
    d060 = plain.corpus_ids.index("d060")
    assert d060 not in plain.positives[q01] and d060 in extra.positives[q01]
    assert extra.num_pairs == plain.num_pairs + 1  # d140 was already a positive; a score of 0 adds nothing
    assert extra.extra_positives == 1 and extra.inputs["extra_positives"] == str(marks)


def test_extra_positives_with_unknown_ids_name_the_line(tmp_path):
    marks = tmp_path / "marks.tsv"
    marks.write_text("query-id\tcorpus-id\tscore\nq01\td060\t1\nq01\tnope\t1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"marks\.tsv:3: corpus-id 'nope' is not in the corpus"):
        load_data("demo", extra_positives=marks)
    marks.write_text("query-id\tcorpus-id\tscore\nq99\td060\t1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"marks\.tsv:2: query-id 'q99' is not a query"):
        load_data("demo", extra_positives=marks)


def test_training_from_candidates_treats_extra_positives_as_positives(demo_candidates, tmp_path):
    from hardneg.training.data import load_training_input

    row = next(r for r in pq.read_table(demo_candidates).to_pylist() if r["query_id"] == "q01")
    marked = row["negative_ids"][0]
    marks = tmp_path / "marks.tsv"
    marks.write_text(f"query-id\tcorpus-id\tscore\nq01\t{marked}\t1\n", encoding="utf-8")
    plain = load_training_input(str(demo_candidates))
    fixed = load_training_input(str(demo_candidates), extra_positives=str(marks))
    q = fixed.pool.query_ids.index("q01")
    d = fixed.data.corpus_ids.index(marked)
    assert d in plain.pool.candidates[q] and d not in fixed.pool.candidates[q]
    assert d in fixed.pool.positives[q]


def test_help_shows_the_default_presets_values():
    help_text = " ".join(build_parser()._subparsers._group_actions[0].choices["mine"].format_help().split())
    assert "(default: from --preset; 'default' sets random)" in help_text  # --selection
    assert "(default: from --preset; 'default' sets 0.05)" in help_text  # --relative-margin
    assert "(see `hardneg presets`) (default: default)" in help_text
    for command in ("mine", "presets", "audit", "train", "evolve", "eval", "report", "inspect", "teacher", "fooling"):
        sub = build_parser()._subparsers._group_actions[0].choices[command].format_help()
        assert "--json" in sub and "--quiet" in sub and "--progress" in sub, command


def test_presets_json_and_quiet(capsys):
    assert main(["presets", "--json", "-q"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["default"] == "default"
