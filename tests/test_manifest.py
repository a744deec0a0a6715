"""The manifest next to each output says exactly how it was made."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import hardneg
from hardneg import MineConfig
from hardneg.encoding.model import fingerprint_model


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_next_to_the_output(tiny_beir, tmp_path, model):
    out = tmp_path / "negatives.parquet"
    result = hardneg.mine(tiny_beir, out, preset="nv-retriever", num_negatives=2, seed=7, show_progress=False)
    path = tmp_path / "negatives.parquet.manifest.json"
    assert result.manifest_path == path and path.is_file()
    manifest = json.loads(path.read_text())

    assert manifest["command"] == "mine"
    assert manifest["seed"] == 7
    params = manifest["parameters"]
    assert set(params) == {f.name for f in dataclasses.fields(MineConfig)}
    assert params["seed"] == 7 and params["preset"] == "nv-retriever"
    assert params["num_negatives"] == 2 and params["relative_margin"] == 0.05  # override and preset value
    assert params["data"] == str(tiny_beir) and params["out"] == str(out)

    assert set(manifest["inputs"]) == {"corpus", "queries", "qrels"}
    for role, name in (("corpus", "corpus.jsonl"), ("queries", "queries.jsonl"), ("qrels", "qrels/train.tsv")):
        assert manifest["inputs"][role]["sha256"] == sha256(tiny_beir / name)
    assert manifest["outputs"]["out"]["sha256"] == sha256(out)

    assert manifest["model"]["fingerprint"] == fingerprint_model(model)
    assert manifest["model"]["max_seq_length"] == model.max_seq_length
    versions = manifest["versions"]
    assert versions["hardneg"] == hardneg.__version__
    for package in ("python", "numpy", "torch", "sentence-transformers", "faiss-cpu", "bm25s", "pyarrow", "datasets"):
        assert versions[package], package
    assert manifest["summary"]["rows"] == result.summary["rows"] == 5


def test_manifest_without_a_model(tiny_beir, tmp_path):
    out = tmp_path / "bm25.jsonl"
    hardneg.mine(tiny_beir, out, preset="dpr", show_progress=False)
    manifest = json.loads((tmp_path / "bm25.jsonl.manifest.json").read_text())
    assert manifest["model"] is None and manifest["parameters"]["sampler"] == "bm25"
