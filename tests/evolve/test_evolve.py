"""The co-evolution loop: rounds, measures, stopping, resuming, refusing a changed configuration."""

from __future__ import annotations

import json

import pytest

from hardneg.cli import main
from hardneg.errors import ConfigError
from hardneg.evolution.loop import EvolveConfig, evolve

TRAIN = {"max_steps": 2, "batch_size": 8, "learning_rate": 1e-3, "logging_steps": 1, "max_seq_length": 32}


def _run(tiny_model, cache_dir, out, **params):
    defaults = {
        "model": str(tiny_model),
        "cache_dir": str(cache_dir),
        "preset": "ance",
        "train_options": TRAIN,
        "dev_fraction": 0.25,
        "show_progress": False,
        "rounds": 2,
        "patience": 5,
    }
    return evolve("demo", out, **{**defaults, **params})


def test_two_rounds_write_every_stage(tiny_model, cache_dir, tmp_path):
    run = tmp_path / "run"
    result = _run(tiny_model, cache_dir, run)
    summary = json.loads((run / "summary.json").read_text())
    assert summary == json.loads(json.dumps(result.summary))
    assert [r["round"] for r in summary["rounds"]] == [0, 1]
    assert summary["stopped"] == "reached 2 rounds"
    first, second = summary["rounds"]
    assert first["miner"] == str(tiny_model) and second["miner"] == str(run / "round-000" / "model")
    assert second["trained_from"] == second["miner"]  # continue_training
    for record in summary["rounds"]:
        assert {"ndcg@10", "recall@100", "mrr@10", "map@100"} <= set(record["dev"]) and "test" in record
        assert record["hardness"]["negatives"] > 0 and "in_top_100" in record["staleness"]
        assert record["train"]["steps"] == 2
    for r in (0, 1):
        folder = run / f"round-{r:03d}"
        assert (folder / "DONE").is_file() and (folder / "model").is_dir() and (folder / "scores.npz").is_file()
        assert (folder / "candidates.parquet.manifest.json").is_file() and (folder / "model.manifest.json").is_file()
    assert (run / "evolve.manifest.json").is_file()
    seeds = [json.loads((run / f"round-{r:03d}" / "model.manifest.json").read_text())["parameters"]["seed"] for r in (0, 1)]
    assert seeds == [42, 43]  # each round shuffles anew, so short rounds do not replay the same batches
    train_q = {line.split("\t")[0] for line in (run / "data" / "qrels" / "train.tsv").read_text().splitlines()[1:]}
    dev_q = {line.split("\t")[0] for line in (run / "data" / "qrels" / "dev.tsv").read_text().splitlines()[1:]}
    assert dev_q and train_q and not dev_q & train_q
    assert (run / "data" / "corpus.jsonl").is_symlink()


def test_rerun_resumes_and_extends(tiny_model, cache_dir, tmp_path):
    run = tmp_path / "run"
    _run(tiny_model, cache_dir, run, rounds=1)
    model = run / "round-000" / "model"
    stamp = model.stat().st_mtime_ns
    (run / "round-000" / "DONE").unlink()  # a crash after training, before the round's measures were written
    result = _run(tiny_model, cache_dir, run, rounds=2)
    assert model.stat().st_mtime_ns == stamp  # the finished model was reused, not retrained
    assert len(result.summary["rounds"]) == 2
    again = _run(tiny_model, cache_dir, run, rounds=2)
    assert again.summary["rounds"] == result.summary["rounds"]


def test_changed_configuration_is_refused(tiny_model, cache_dir, tmp_path):
    run = tmp_path / "run"
    _run(tiny_model, cache_dir, run, rounds=1)
    with pytest.raises(ConfigError, match="preset: run has 'ance', now 'top'"):
        _run(tiny_model, cache_dir, run, rounds=1, preset="top")


def test_patience_stops_and_bm25_warm_up(tiny_model, cache_dir, tmp_path):
    run = tmp_path / "run"
    result = _run(tiny_model, cache_dir, run, rounds=3, patience=1, min_delta=1.0, round0_sampler="bm25")
    assert len(result.summary["rounds"]) == 1
    assert result.summary["stopped"].startswith("dev nDCG@10 did not improve")
    assert result.summary["best_round"] == -1 and result.best_model == tiny_model
    assert result.summary["rounds"][0]["miner"] == "bm25"
    mined = json.loads((run / "round-000" / "candidates.parquet.manifest.json").read_text())
    assert mined["parameters"]["sampler"] == "bm25"


def test_options_are_validated_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="cannot set"):
        EvolveConfig(out=str(tmp_path), mine_options='{"out": "x"}')
    with pytest.raises(ConfigError, match="JSON object"):
        EvolveConfig(out=str(tmp_path), train_options="{max_steps: 2}")
    with pytest.raises(ConfigError, match="unknown parameter"):
        EvolveConfig(out=str(tmp_path), mine_options='{"range_maximum": 2}')
    with pytest.raises(ConfigError, match="learning_rate"):
        EvolveConfig(out=str(tmp_path), train_options='{"learning_rate": -1}')
    with pytest.raises(ConfigError, match="out is required"):
        EvolveConfig()


def test_cli_evolve(tiny_model, cache_dir, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(
        ["evolve", "--data", "demo", "--out", str(run), "--model", str(tiny_model), "--cache-dir", str(cache_dir)]
        + ["--rounds", "1", "--preset", "ance", "--train-options", json.dumps(TRAIN), "--dev-fraction", "0.25"]
        + ["--no-show-progress", "--no-audit", "--json"]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(summary["rounds"]) == 1 and summary["rounds"][0]["audit"] is None


def test_audit_rate_is_recorded_each_round(tiny_model, cache_dir, tmp_path, monkeypatch):
    import sys
    import types

    calls = []

    def fake_audit(data, *, preset=None, **params):
        calls.append((data, preset, params))
        return types.SimpleNamespace(false_negative_rate=0.25, ci95=(0.1, 0.5), hidden_positives=4)

    monkeypatch.setitem(sys.modules, "hardneg.drivers.audit", types.SimpleNamespace(audit=fake_audit))
    result = _run(tiny_model, cache_dir, tmp_path / "run", rounds=1)
    assert result.summary["rounds"][0]["audit"] == {"false_negative_rate": 0.25, "ci95": [0.1, 0.5], "hidden_positives": 4}
    data, preset, params = calls[0]
    assert preset == "ance" and params["model"] == str(tiny_model) and params["split"] == "train"


def test_bfloat16_rounds_mine_from_the_evaluations_cache(tiny_model, cache_dir, tmp_path):
    run = tmp_path / "run"
    result = _run(tiny_model, cache_dir, run, precision="bfloat16", rounds=2)
    assert len(result.summary["rounds"]) == 2
    manifest = json.loads((run / "round-001" / "candidates.parquet.manifest.json").read_text())
    assert manifest["parameters"]["precision"] == "bf16"
    # round 1 mines with round 0's model, whose corpus vectors its dev evaluation already encoded
    assert manifest["summary"]["texts_from_cache"] >= 300  # the demo corpus


def test_extra_positives_reach_train_and_dev_never_test(tmp_path):
    from hardneg.data import load_data
    from hardneg.errors import DataError
    from hardneg.evolution.loop import Evolution, _check_extra_positives
    from hardneg.evolution.splits import make_run_view, source_folder

    marks = tmp_path / "marks.tsv"
    evo = Evolution(EvolveConfig(data="demo", out=str(tmp_path / "run"), extra_positives=str(marks), dev_fraction=0.25))
    make_run_view(source_folder("demo"), evo.view, dev_fraction=0.25, test_split="test", seed=42)
    plain = {split: load_data(evo.view, split=split) for split in ("train", "dev", "test")}
    train_q, dev_q, test_q = (plain[s].query_ids[0] for s in ("train", "dev", "test"))
    free = next(
        d
        for d in plain["train"].corpus_ids
        if all(d != plain[s].corpus_ids[p] for s in plain for ps in plain[s].positives for p in ps)
    )
    marks.write_text(f"query-id\tcorpus-id\tscore\n{train_q}\t{free}\t1\n{dev_q}\t{free}\t1\n", encoding="utf-8")

    evo.train_data = evo._split("train")
    doc = evo.train_data.corpus_ids.index(free)
    assert doc in evo.train_data.positives[0] and doc in evo._split("dev").positives[0]
    assert evo._split("test").positives == plain["test"].positives
    mined_with = evo._train_extra_positives()  # what each round's mining reads: the train rows only
    assert open(mined_with, encoding="utf-8").read().splitlines()[1:] == [f"{train_q}\t{free}\t1"]

    marks.write_text(f"query-id\tcorpus-id\tscore\n{test_q}\t{free}\t1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"marks\.tsv:2: query-id .* is not a train or dev query"):
        _check_extra_positives(str(marks), plain["train"], plain["dev"])


def test_auto_tunes_each_round_with_its_miner_and_audits_the_choice(tiny_model, cache_dir, tmp_path, monkeypatch):
    """``--preset auto`` in the loop: every round's miner chooses the filters; the round records the choice, and its
    audit audits the chosen setting instead of tuning again."""
    from hardneg.drivers import tune as T
    from hardneg.evolution import report

    monkeypatch.setattr(T, "MIN_AUDITED", 2)  # the demo's training view has a few queries with two positives
    result = _run(tiny_model, cache_dir, tmp_path / "run", preset="auto", rounds=2, audit=True)
    for record in result.summary["rounds"]:
        tuning = record["tuning"]
        assert tuning["chosen_name"] and tuning["table"]
        assert record["audit"]["hidden_positives"] > 0
    page = report.write_report(tmp_path / "run")
    assert "tuning" in page.figures and "Filters chosen on the data" in page.html.read_text(encoding="utf-8")
