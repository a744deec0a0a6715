"""The fooling matrix and the report page (checked in headless Chromium when it is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hardneg.cli import main
from hardneg.errors import ConfigError, DataError
from hardneg.evolution.fooling import Fooling, FoolingConfig
from hardneg.evolution.loop import evolve
from hardneg.evolution.report import write_report

TRAIN = {"max_steps": 2, "batch_size": 8, "learning_rate": 1e-3, "logging_steps": 1, "max_seq_length": 32}
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def run_with_fooling(tiny_model, cache_dir, tmp_path):
    run = tmp_path / "run"
    # min_delta=-1 counts every round as progress, so the run has a best round to compare.
    evolve(
        "demo", run, model=str(tiny_model), cache_dir=str(cache_dir), preset="ance", train_options={**TRAIN, "refresh_steps": 1},
        dev_fraction=0.25, rounds=2, min_delta=-1.0, show_progress=False,
    )  # fmt: skip
    Fooling(FoolingConfig(run=str(run), model=str(tiny_model), cache_dir=str(cache_dir), show_progress=False)).run()
    return run


def test_fooling_matrix_shape_and_budget(run_with_fooling):
    fooling = json.loads((run_with_fooling / "fooling.json").read_text())
    assert fooling["models"] == ["random", "bm25", "dense", "evolve"]
    assert fooling["negatives"] == ["random", "bm25", "dense", "evolve"]
    assert fooling["steps"] == 4  # two rounds of two steps, continued
    assert all(0.0 <= v <= 1.0 for row in fooling["triplet_accuracy"] for v in row)
    trained = json.loads((run_with_fooling / "fooling" / "bm25" / "model.manifest.json").read_text())
    assert trained["summary"]["steps"] == 4
    assert not trained["summary"].get("refreshes")  # the run refreshed in training; a static sampler's model must not
    evolved = json.loads((run_with_fooling / "round-000" / "model.manifest.json").read_text())
    assert evolved["summary"]["refreshes"]


def test_report_files_and_cli(run_with_fooling, capsys):
    assert main(["report", str(run_with_fooling)]) == 0
    html = (run_with_fooling / "report.html").read_text()
    data = json.loads((run_with_fooling / "report.json").read_text())
    # quality, hardness, distributions, fooling, and the audit curve since the audit is measured per round
    assert data["audit"], "the evolve run records an audit rate per round"
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', html)) == 5
    assert "http://" not in html and "https://" not in html  # self-contained
    assert [q["round"] for q in data["quality"]] == ["base", 0, 1]
    assert data["fooling"]["models"][-1] == "evolve"
    assert "wrote" in capsys.readouterr().out


def test_report_needs_a_run(tmp_path):
    with pytest.raises(DataError, match="summary.json"):
        write_report(tmp_path)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium (Debian package chromium) is not installed")
def test_report_renders_in_headless_chromium(tmp_path):
    page = write_report(_handmade_run(tmp_path / "run")).html
    profile = tmp_path / "chromium-profile"
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
        "--virtual-time-budget=10000", "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'data-images-ok="true"' in done.stdout, "an image did not decode (naturalWidth == 0)"
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console


def _handmade_run(folder: Path) -> Path:
    """A run folder written by hand: two rounds with audit rates, score arrays and a fooling matrix."""
    import numpy as np

    metrics = {"ndcg@10": 0.6, "recall@100": 0.9, "mrr@10": 0.55, "map@100": 0.5}
    rounds = []
    for r in range(2):
        measures = {
            "negatives": 10,
            "mean_rank": 5.0 + r,
            "median_rank": 4.0,
            "in_top_100": 0.9,
            "mean_score": 0.5,
            "mean_margin": 0.1,
        }
        rounds.append(
            {
                "round": r,
                "dev": {k: v + 0.01 * (r + 1) for k, v in metrics.items()},
                "test": metrics,
                "hardness": measures,
                "staleness": {**measures, "in_top_100": 0.5},
                "audit": {"false_negative_rate": 0.1, "ci95": [0.05, 0.2], "hidden_positives": 30},
                "query_itself": {"dropped": 12 * r, "chosen": 0},
                "model": f"round-{r}",
            }
        )
        (folder / f"round-{r:03d}").mkdir(parents=True)
        rng = np.random.default_rng(r)
        np.savez(
            folder / f"round-{r:03d}" / "scores.npz",
            positive_miner=rng.normal(0.6, 0.1, 50).astype(np.float32),
            negative_miner=rng.normal(0.4, 0.1, 150).astype(np.float32),
        )
    summary = {
        "run": str(folder),
        "base": {"dev": metrics, "test": metrics},
        "rounds": rounds,
        "best_round": 1,
        "best_model": "round-1",
        "stopped": "reached 2 rounds",
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    fooling = {
        "models": ["random", "evolve"],
        "negatives": ["random", "evolve"],
        "triplet_accuracy": [[0.99, 0.7], [0.99, 0.9]],
        "description": "x",
    }
    (folder / "fooling.json").write_text(json.dumps(fooling))
    return folder


def test_report_from_a_handmade_run(tmp_path):
    result = write_report(_handmade_run(tmp_path / "run"), out=tmp_path)
    assert result.figures == ["audit", "distributions", "fooling", "hardness", "quality"]
    html = result.html.read_text()
    assert html.count("data:image/png;base64,") == 5 and "False-negative audit" in html
    data = json.loads(result.json.read_text())
    assert data["audit"][0]["false_negative_rate"] == 0.1
    assert data["distributions"]["1"]["negative_miner"]["count"] == 150
    # the corpus held queries in round 1 only: the table shows that round
    assert data["query_itself"] == [{"round": 1, "dropped": 12, "chosen": 0}] and "The query itself" in html


def test_report_draws_the_curve_when_the_run_has_one(tmp_path):
    run = _handmade_run(tmp_path / "run")
    points = lambda ndcg, rank: [  # noqa: E731
        {"step": s, "ndcg@10": n, "staleness": {"negatives": 10, "mean_rank": r, "in_top_10": 0.5}}
        for s, n, r in zip((10, 20), ndcg, rank)
    ]
    curve = {
        "runs": [
            {"arm": "top-n3", "seed": 1, "points": points((0.60, 0.61), (3.0, 9.0))},
            {"arm": "top-n3", "seed": 2, "points": points((0.62, 0.63), (5.0, 11.0))},
            {"arm": "evolve-n3", "seed": 1, "points": points((0.60, 0.65), (2.0, 2.5))},
        ],
        "zero_shot": {"ndcg@10": 0.58, "recall@100": 0.9},
    }
    (run / "curve.json").write_text(json.dumps(curve))
    result = write_report(run, out=tmp_path)
    page = result.html.read_text()
    assert "curve" in result.figures and "Quality and staleness along training" in page
    data = json.loads(result.json.read_text())
    assert "The base model, untrained, scores 0.5800" in page and data["curve_zero_shot"] == 0.58
    top = data["curve"]["top-n3"]
    assert [r["step"] for r in top] == [10, 20] and top[1]["ndcg@10"] == 0.62 and top[1]["negative_mean_rank"] == 10.0
    assert top[0]["seeds"] == 2 and data["curve"]["evolve-n3"][0]["ndcg@10_std"] is None

    curve["zero_shot"] = {"ndcg@10": "n/a"}  # a curve file edited by hand: no line, no crash
    (run / "curve.json").write_text(json.dumps(curve))
    result = write_report(run, out=tmp_path)
    assert "curve" in result.figures and "untrained" not in result.html.read_text()
    assert json.loads(result.json.read_text())["curve_zero_shot"] is None


def test_fooling_compares_a_named_round_where_the_dev_check_kept_the_base_model(tiny_model, cache_dir, tmp_path, capsys):
    run = tmp_path / "run"
    # min_delta=1 counts no round as progress: the run hands back the base model.
    evolve(
        "demo", run, model=str(tiny_model), cache_dir=str(cache_dir), preset="ance", train_options=TRAIN,
        dev_fraction=0.25, rounds=1, min_delta=1.0, show_progress=False,
    )  # fmt: skip
    assert json.loads((run / "summary.json").read_text())["best_round"] == -1
    with pytest.raises(ConfigError, match="--model-round"):
        Fooling(FoolingConfig(run=str(run), model=str(tiny_model), cache_dir=str(cache_dir), show_progress=False))
    with pytest.raises(ConfigError, match="not a round of this run"):
        Fooling(FoolingConfig(run=str(run), model=str(tiny_model), cache_dir=str(cache_dir), model_round=3))
    argv = ["fooling", "--run", str(run), "--model", str(tiny_model), "--cache-dir", str(cache_dir), "--model-round", "0", "-q"]
    assert main(argv) == 0
    fooling = json.loads((run / "fooling-round-000.json").read_text())
    assert fooling["evolve_round"] == 0 and fooling["steps"] == TRAIN["max_steps"]
    assert fooling["model_paths"]["evolve"] == str(run / "round-000" / "model")
    assert not (run / "fooling.json").exists()  # the default matrix, which the report draws, is not this one
