"""Evaluation: trec_eval measures, BEIR's identical-id rule, graded qrels, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hardneg.cli import main
from hardneg.data import load_data
from hardneg.diagnostics.evaluate import qrels_of, run_of, score_run
from hardneg.drivers.evaluate import EvalConfig, evaluate
from hardneg.errors import ConfigError


def test_measures_match_hand_computed_values():
    qrels = {"q1": {"d1": 1, "d2": 1}}
    run = {"q1": {"d3": 0.9, "d1": 0.8, "d2": 0.1}}
    means, per_query = score_run(qrels, run)
    dcg = 1 / np.log2(3) + 1 / np.log2(4)
    idcg = 1 + 1 / np.log2(3)
    assert means["ndcg@10"] == pytest.approx(dcg / idcg, abs=1e-6)
    assert means["mrr@10"] == pytest.approx(0.5)
    assert means["recall@100"] == pytest.approx(1.0)
    assert means["map@100"] == pytest.approx((1 / 2 + 2 / 3) / 2, abs=1e-6)
    assert per_query["q1"]["mrr@10"] == pytest.approx(0.5)


def test_mrr_is_cut_at_ten_and_unretrieved_queries_score_zero():
    qrels = {"q1": {"rel": 1}, "q2": {"x": 1}}
    run = {"q1": {f"d{i:02d}": 1.0 - i / 100 for i in range(10)} | {"rel": 0.5}}  # relevant at rank 11
    means, per_query = score_run(qrels, run)
    assert per_query["q1"]["mrr@10"] == 0.0
    assert per_query["q1"]["recall@100"] == 1.0
    assert per_query["q2"]["ndcg@10"] == 0.0
    assert means["recall@100"] == pytest.approx(0.5)


def test_ties_follow_trec_eval_order():
    # Equal scores: trec_eval ranks the larger document id first, so "b" is at rank 10 and "a" at 11.
    qrels = {"q": {"a": 1}}
    run = {"q": {f"z{i}": 2.0 for i in range(9)} | {"a": 1.0, "b": 1.0}}
    _, per_query = score_run(qrels, run)
    assert per_query["q"]["mrr@10"] == 0.0


def test_run_drops_documents_whose_id_is_the_query_id():
    indices = np.array([[0, 1, -1]])
    scores = np.array([[0.9, 0.8, -np.inf]])
    assert run_of(["d0"], ["d0", "d1"], indices, scores) == {"d0": {"d1": 0.8}}
    assert run_of(["d0"], ["d0", "d1"], indices, scores, ignore_identical_ids=False) == {"d0": {"d0": 0.9, "d1": 0.8}}


def test_graded_qrels_keep_their_grades(tmp_path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text('{"_id": "a", "text": "x"}\n{"_id": "b", "text": "y"}\n')
    (tmp_path / "queries.jsonl").write_text('{"_id": "q", "text": "z"}\n')
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\ta\t2\nq\tb\t1\n")
    assert qrels_of(load_data(tmp_path, split="test")) == {"q": {"a": 2, "b": 1}}


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="precision"):
        EvalConfig(precision="fp8")
    with pytest.raises(ConfigError, match="batch_size"):
        EvalConfig(batch_size=0)


def test_evaluate_tiny_model_on_demo(tiny_model, cache_dir):
    result = evaluate("demo", split="test", model=str(tiny_model), cache_dir=str(cache_dir), show_progress=False)
    assert set(result.metrics) == {"ndcg@10", "recall@100", "mrr@10", "map@100"}
    assert all(0.0 <= v <= 1.0 for v in result.metrics.values())
    assert result.info["queries"] == 12


def test_cli_json(tiny_model, cache_dir, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    code = main(
        ["eval", "--data", "demo", "--split", "test", "--model", str(tiny_model), "--cache-dir", str(cache_dir)]
        + ["--no-show-progress", "--json", "--out", str(out)]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"ndcg@10", "recall@100", "mrr@10", "map@100"} <= set(printed)
    written = json.loads(out.read_text())
    assert written["metrics"]["ndcg@10"] == printed["ndcg@10"]
    assert len(written["per_query"]) == 12
    assert (tmp_path / "metrics.json.manifest.json").is_file()


def test_cli_unknown_split_is_a_clear_error(capsys):
    assert main(["eval", "--data", "demo", "--split", "dev", "--json"]) == 2
    assert "split 'dev'" in capsys.readouterr().err


# --- qrels that judge documents absent from the corpus (some official BEIR releases have them) ----------------

ABSENT_QRELS = "query-id\tcorpus-id\tscore\nq1\ta\t2\nq1\tghost1\t1\nq2\tghost2\t1\nq3\tb\t1\nq3\tghost3\t0\n"


def _absent_beir(folder):
    """Four documents; q1 has one relevant document in the corpus and one absent, q2 only an absent one."""
    (folder / "qrels").mkdir(parents=True)
    docs = {"a": "paris is the capital of france", "b": "bake the cookies", "c": "the river seine", "d": "mars is red"}
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in docs.items()))
    queries = {"q1": "capital of france", "q2": "red planet", "q3": "cookies"}
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items()))
    (folder / "qrels" / "test.tsv").write_text(ABSENT_QRELS)
    return folder


def _beir_qrels(text: str) -> dict[str, dict[str, int]]:
    """The qrels as BEIR's GenericDataLoader reads them: every line after the header, absent documents too."""
    qrels: dict[str, dict[str, int]] = {}
    for line in text.splitlines()[1:]:
        qid, did, score = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(score)
    return qrels


def test_absent_documents_are_scored_as_pytrec_eval_scores_the_same_qrels(tiny_model, cache_dir, tmp_path, caplog):
    import pytrec_eval

    from hardneg.candidates.retriever import DenseRetriever
    from hardneg.diagnostics.evaluate import DEPTH, METRICS, _truncate, evaluate_retriever

    folder = _absent_beir(tmp_path / "beir")
    config = EvalConfig(data=str(folder), model=str(tiny_model), cache_dir=str(cache_dir), show_progress=False)
    retriever = DenseRetriever.load(config)
    with caplog.at_level("WARNING"):
        data = load_data(folder, split="test", absent_documents="judge")
    assert "3 judgements of documents absent from corpus.jsonl (lines 3, 4, 6)" in caplog.text
    result = evaluate_retriever(retriever, data)
    assert result.info["absent_judgements"] == 2 and result.info["queries"] == 3

    # the same run, scored by pytrec_eval against the qrels file as BEIR reads it
    cands = retriever.search(retriever.encode_queries(data.query_texts), retriever.encode_documents(data.corpus_texts), DEPTH)
    run = _truncate(run_of(data.query_ids, data.corpus_ids, cands.indices, cands.scores), DEPTH)
    qrels = _beir_qrels(ABSENT_QRELS)
    for name, (measure, depth) in METRICS.items():
        scored = pytrec_eval.RelevanceEvaluator(qrels, {measure}).evaluate(_truncate(run, depth) if depth else run)
        expected = np.mean([scored[q][measure] for q in ("q1", "q2", "q3")])
        assert result.metrics[name] == pytest.approx(expected, abs=1e-6), name
    # every present document is retrieved (depth 100 > 4 documents), so recall is fixed whatever the model:
    # q1 finds 1 of its 2 relevant documents, q2 none of its 1, q3 its 1
    assert result.metrics["recall@100"] == pytest.approx(0.5)
    assert result.per_query["q2"] == {name: 0.0 for name in METRICS}


def test_cli_eval_warns_and_scores_absent_documents_and_mine_refuses_them(tiny_model, cache_dir, tmp_path, capsys):
    folder = _absent_beir(tmp_path / "beir")
    args = ["--data", str(folder), "--split", "test", "--model", str(tiny_model), "--cache-dir", str(cache_dir)]
    assert main(["eval", *args, "--no-show-progress", "--json"]) == 0
    captured = capsys.readouterr()
    assert "3 judgements of documents absent from corpus.jsonl (lines 3, 4, 6)" in captured.err
    printed = json.loads(captured.out.strip().splitlines()[-1])
    assert printed["recall@100"] == pytest.approx(0.5) and printed["absent_judgements"] == 2

    out = tmp_path / "rows.parquet"
    assert main(["mine", *args, "--out", str(out), "--no-show-progress"]) == 2
    err = capsys.readouterr().err
    assert "corpus id 'ghost1' is not in corpus.jsonl" in err and "--on-error skip" in err and "test.tsv:3:" in err
    assert not out.exists()
