import json

import numpy as np
import pytest

from hardneg.cli import main
from hardneg.data import load_beir
from hardneg.drivers.mine import mine
from hardneg.drivers.teacher import TeacherConfig, train_teacher
from hardneg.errors import ConfigError
from hardneg.teachers import CrossEncoderScorer

TINY = {"negatives_preset": "dpr", "max_steps": 2, "batch_size": 4, "max_length": 32, "show_progress": False, "device": "cpu"}


def test_trains_a_teacher_from_a_plain_encoder_offline(beir, tiny_bi_encoder, tmp_path):
    out = tmp_path / "teacher"
    manifest = train_teacher(
        TeacherConfig(data=str(beir), out=str(out), base_model=tiny_bi_encoder, hide_audit_positives=True, **TINY)
    )
    s = manifest["summary"]
    assert s["steps"] == 2 and s["pairs_labelled"] == 3  # 5 labelled pairs, 2 hidden by the audit's seed
    assert s["positives"] == 3 and s["negatives"] > 0
    assert json.loads((tmp_path / "teacher.manifest.json").read_text())["command"] == "teacher"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # nothing half-written left
    data = load_beir(beir)
    scores = CrossEncoderScorer(str(out), data.query_texts, data.corpus_texts, show_progress=False).score(
        np.array([0]), np.array([[0, 1]])
    )
    assert np.all((scores > 0) & (scores < 1))


def test_same_seed_same_teacher(beir, tiny_cross_encoder, tmp_path):
    prints = [
        train_teacher(TeacherConfig(data=str(beir), out=str(tmp_path / f"t{i}"), base_model=tiny_cross_encoder, seed=7, **TINY))[
            "model"
        ]["fingerprint"]
        for i in range(2)
    ]
    assert prints[0] == prints[1]


def test_trains_from_a_mined_labeled_pair_file(beir, tiny_cross_encoder, tmp_path):
    pairs = tmp_path / "pairs.parquet"
    mine(beir, pairs, preset="dpr", output_format="labeled-pair", show_progress=False, use_cache=False)
    manifest = train_teacher(TeacherConfig(out=str(tmp_path / "t"), negatives=str(pairs), base_model=tiny_cross_encoder, **TINY))
    assert manifest["summary"]["negatives"] == str(pairs) and "pairs" in manifest["inputs"]


def test_cli(beir, tiny_cross_encoder, tmp_path, capsys):
    args = ["teacher", "--data", str(beir), "--out", str(tmp_path / "t"), "--base-model", tiny_cross_encoder, "--json"]
    args += ["--negatives-preset", "dpr", "--max-steps", "1", "--batch-size", "4", "--max-length", "32", "--no-show-progress"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 1


@pytest.mark.parametrize("params, message", [({}, "out is required"), ({"out": "x", "batch_size": 0}, "batch_size")])
def test_config_errors(params, message):
    with pytest.raises(ConfigError, match=message):
        TeacherConfig(**params)
