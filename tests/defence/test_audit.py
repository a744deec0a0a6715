"""The audit on the hand-made corpus, whose answers are known exactly."""

import json

import pytest

from hardneg.cli import main
from hardneg.data import load_beir
from hardneg.drivers.audit import audit, hidden_position, hide_positives, wilson_interval, without_hidden
from hardneg.drivers.mine import mine
from hardneg.errors import DataError

FAST = {"sampler": "bm25", "show_progress": False, "use_cache": False}


@pytest.fixture(autouse=True)
def tiny_hardness_model(tiny_bi_encoder):
    """Hardness is measured with the tiny model here (the default model is slow to load)."""
    FAST["model"] = tiny_bi_encoder
    yield
    FAST.pop("model")


def test_wilson_interval_known_values():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_hiding_is_deterministic_and_keeps_the_corpus(beir):
    data = load_beir(beir)
    hidden = hide_positives(data, seed=3)
    assert hidden.data.query_ids == ["q1", "q2"]  # the queries with two positives
    assert hidden.data.corpus_ids == data.corpus_ids
    for q, doc in enumerate(hidden.hidden):
        assert doc not in hidden.data.positives[q] and doc in hidden.all_positives[q]
    assert hide_positives(data, seed=3).hidden.tolist() == hidden.hidden.tolist()
    reduced = without_hidden(data, seed=3)
    assert reduced.num_pairs == data.num_pairs - 2 and reduced.query_ids == data.query_ids
    assert hidden_position(3, "q3", 1) is None


def test_top_selection_picks_every_hidden_positive(beir):
    # Each hidden positive is the best BM25 match after its query's remaining positive.
    result = audit(beir, preset="top", num_negatives=1, **FAST)
    assert (result.hidden_positives, result.false_negatives, result.false_negative_rate) == (2, 2, 1.0)
    assert result.ci95 == pytest.approx(wilson_interval(2, 2))
    assert result.negatives == 2 and result.mean_negative_rank is not None


def test_qrels_naming_absent_documents_are_audited_without_them(beir, caplog, capsys):
    # official BEIR releases judge some documents their corpus lacks: they cannot be mined, so the audit warns
    # and measures the rest, as it would without those lines (mining refuses them unless skipping)
    qrels = beir / "qrels" / "train.tsv"
    qrels.write_text(qrels.read_text() + "q1\tghost\t1\n")
    with caplog.at_level("WARNING"):
        result = audit(beir, preset="top", num_negatives=1, **FAST)
    assert "1 judgement of documents absent from corpus.jsonl" in caplog.text
    assert (result.hidden_positives, result.false_negatives) == (2, 2)
    with pytest.raises(DataError, match="--on-error skip"):
        mine(beir, out=None, preset="top", num_negatives=1, **FAST)
    code = main(["tune", "--data", str(beir), "--sampler", "bm25", "--no-use-cache", "--no-show-progress", "--json"])
    err = capsys.readouterr().err
    assert code == 0 and "1 judgement of documents absent from corpus.jsonl" in err, err


def test_near_duplicate_defence_stops_the_hidden_near_copy(beir):
    # q2's positives are near copies of each other: whichever is hidden is caught.
    result = audit(beir, preset="top", num_negatives=1, near_duplicate_threshold=0.8, **FAST)
    assert result.stopped_by["near_duplicate"] == 1
    assert result.false_negatives == 1


def test_teacher_denoising_is_credited(beir, stub_teacher):
    data = load_beir(beir)
    hidden = hide_positives(data, seed=42)
    scores = {(hidden.data.query_ids[q], data.corpus_ids[d]): 0.97 for q, d in enumerate(hidden.hidden)}
    teacher = stub_teacher(hidden.data.query_ids, data.corpus_ids, scores)
    result = audit(beir, preset="top", num_negatives=1, teacher="stub", denoise_threshold=0.5, teacher_scorer=teacher, **FAST)
    assert result.false_negatives == 0 and result.stopped_by["denoise"] == 2
    promoted = audit(beir, preset="top", num_negatives=1, teacher="stub", promote_threshold=0.9, teacher_scorer=teacher, **FAST)
    assert promoted.stopped_by["promote"] == 2


def test_random_candidates_are_counted_as_not_retrieved(beir):
    result = audit(beir, preset="random", num_negatives=1, **FAST)
    fates = result.false_negatives + result.not_selected + sum(result.stopped_by.values()) + sum(result.not_reached.values())
    assert fates == result.hidden_positives


def test_audit_needs_queries_with_two_positives(make_beir, tmp_path):
    root = make_beir(tmp_path / "single", train=[("q1", "d01"), ("q3", "d05")])
    with pytest.raises(DataError, match="two or more positives"):
        audit(root, preset="top", **FAST)


def test_cli_json(beir, capsys):
    flags = ["--sampler", "bm25", "--no-use-cache", "--model", FAST["model"]]
    code = main(["audit", "--data", str(beir), "--split", "train", "--preset", "top", "--json", *flags])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 <= out["false_negative_rate"] <= 1
    assert out["hidden_positives"] == 2 and {"ci95", "stopped_by", "mean_negative_rank"} <= set(out)


def test_cli_table(beir, capsys):
    flags = ["--sampler", "bm25", "--no-use-cache", "--model", FAST["model"]]
    assert main(["audit", "--data", str(beir), "--preset", "top", "--num-negatives", "1", *flags]) == 0
    out = capsys.readouterr().out
    assert "false-negative rate        1.0000  (2/2" in out


def test_mine_can_add_the_audit_to_its_summary(beir, tmp_path):
    result = mine(beir, tmp_path / "out.jsonl", preset="top", num_negatives=1, audit=True, **FAST)
    assert result.summary["audit"]["false_negatives"] == 2
    assert json.loads(result.manifest_path.read_text())["summary"]["audit"]["hidden_positives"] == 2


@pytest.mark.parametrize("command", ["mine", "audit", "teacher"])
def test_help_prints(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0 and "--" in capsys.readouterr().out
