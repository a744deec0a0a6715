"""Encoding backends (ONNX Runtime, OpenVINO) and multi-process encoding, on the offline model and the demo."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import hardneg
from hardneg.encoding.encode import Encoder
from hardneg.encoding.model import fingerprint_model
from hardneg.errors import ConfigError
from hardneg.options import EncodingOptions

TEXTS = [
    "What is the capital of France?",
    "Paris is the capital of France. The city lies on the River Seine.",
    "Bake the cookies for twelve minutes.",
    "Lyon is the third largest city in France and is famous for its food.",
    "Mars is red.",
]

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnx"))
HAS_OPENVINO = all(importlib.util.find_spec(m) for m in ("openvino", "onnx"))
HAS_NNCF = importlib.util.find_spec("nncf") is not None  # OpenVINO int8 only
needs_onnx = pytest.mark.skipif(not HAS_ONNX, reason="pip install 'hardneg[onnx]'")
needs_openvino = pytest.mark.skipif(not HAS_OPENVINO, reason="pip install 'hardneg[openvino]'")
needs_nncf = pytest.mark.skipif(not HAS_NNCF, reason="pip install 'hardneg[openvino]'")


def encoder(model, tmp_path, **kwargs) -> Encoder:
    return Encoder(model, fingerprint_model(model), cache_dir=tmp_path, export_dir=tmp_path, show_progress=False, **kwargs)


@pytest.fixture(scope="module")
def reference(model) -> np.ndarray:
    return Encoder(model, "ref", show_progress=False).encode_texts(TEXTS, "document")


# --- options ------------------------------------------------------------------------------------


def test_backend_and_precision_are_checked_together():
    with pytest.raises(ConfigError, match="backend 'onnx' runs precision 'float32' or 'int8', not 'bf16'"):
        EncodingOptions(backend="onnx", precision="bfloat16")
    with pytest.raises(ConfigError, match="backend must be one of"):
        EncodingOptions(backend="tensorrt")
    with pytest.raises(ConfigError, match="encode_processes must be >= 1"):
        EncodingOptions(encode_processes=0)


def test_a_missing_package_names_the_extra(model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with pytest.raises(ConfigError, match=r"needs the package 'onnxruntime'.*pip install 'hardneg\[onnx\]'"):
        encoder(model, tmp_path, backend="onnx").encode_texts(TEXTS, "document")


def test_only_openvino_int8_needs_nncf(monkeypatch):
    import types

    from hardneg.encoding.backends import require, required_modules

    assert "nncf" not in required_modules("openvino", "bf16") + required_modules("openvino", "float32")
    assert "nncf" in required_modules("openvino", "int8")
    for name in ("openvino", "onnx"):  # present, whether or not this machine has them
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "nncf", None)
    require("openvino", "bf16")
    with pytest.raises(ConfigError, match=r"needs the package 'nncf'.*hardneg\[openvino\]"):
        require("openvino", "int8")


def test_the_cli_takes_backend_and_processes():
    from hardneg.cli import build_parser

    args = build_parser().parse_args(["eval", "--backend", "onnx", "--precision", "int8", "--encode-processes", "2"])
    assert (args.backend, args.precision, args.encode_processes) == ("onnx", "int8", 2)


# --- exported backends --------------------------------------------------------------------------


@needs_onnx
def test_onnx_float32_gives_torch_vectors_and_its_own_cache_key(model, tmp_path, reference):
    enc = encoder(model, tmp_path, backend="onnx")
    emb = enc.encode(TEXTS, "document")
    np.testing.assert_allclose(emb.to_array(), reference, atol=1e-5)
    assert enc._shard_key(TEXTS, "document") != encoder(model, tmp_path)._shard_key(TEXTS, "document")
    folder = tmp_path / "exported" / fingerprint_model(model) / "onnx-float32"
    record = json.loads((folder / "export.json").read_text())
    assert set(record["files"]) == {"model.onnx"}


@needs_onnx
def test_an_export_is_made_once_per_weights_and_remade_when_damaged(model, tmp_path, monkeypatch, caplog):
    encoder(model, tmp_path, backend="onnx", precision="int8").encode_texts(TEXTS, "document")
    folder = tmp_path / "exported" / fingerprint_model(model) / "onnx-int8"
    backends = importlib.import_module("hardneg.encoding.backends")
    calls = []
    real_export = backends._export
    monkeypatch.setattr(backends, "_export", lambda *a: calls.append(a) or real_export(*a))
    encoder(model, tmp_path, backend="onnx", precision="int8").encode_texts(TEXTS, "document")
    assert calls == []
    with open(folder / "model.onnx", "r+b") as fh:  # damage one byte
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    emb = encoder(model, tmp_path, backend="onnx", precision="int8").encode_texts(TEXTS, "document")
    assert len(calls) == 1 and "damaged" in caplog.text
    assert emb.shape == (len(TEXTS), 384)


@needs_onnx
def test_onnx_int8_stays_close_and_the_model_folder_is_untouched(model, tmp_path, reference):
    from pathlib import Path

    from hardneg.encoding.model import default_model_path

    before = sorted(p.name for p in Path(default_model_path()).rglob("*"))
    emb = encoder(model, tmp_path, backend="onnx", precision="int8").encode_texts(TEXTS, "document")
    assert sorted(p.name for p in Path(default_model_path()).rglob("*")) == before
    cosine = (emb * reference).sum(1)
    assert cosine.min() > 0.97, cosine
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


@needs_openvino
@pytest.mark.parametrize("precision, floor", [("float32", 0.99999), pytest.param("int8", 0.99, marks=needs_nncf), ("bf16", 0.99)])
def test_openvino_stays_close_to_torch(model, tmp_path, reference, precision, floor):
    from hardneg.encoding.backends import cpu_has_native_bf16

    if precision == "bf16" and not cpu_has_native_bf16():
        pytest.skip("this CPU has no native bf16")
    emb = encoder(model, tmp_path, backend="openvino", precision=precision).encode_texts(TEXTS, "query")
    assert (emb * reference).sum(1).min() > floor


@needs_openvino
def test_openvino_runs_batches_at_once_with_the_outputs_of_one_at_a_time_in_their_rows(model, tmp_path):
    from hardneg.encoding.backends import ExportedEncoder

    exported = ExportedEncoder(model, "openvino", "float32", fingerprint_model(model), tmp_path)
    jobs = []
    for tag, size in enumerate([3, 1, 4, 2, 5]):  # each batch its own shape, so an output given to the wrong tag shows
        tokens = model.tokenize(TEXTS[:size])
        jobs.append((tag, {name: tokens[name].numpy().astype(np.int64) for name in exported.input_names}))
    together = dict(exported.run(iter(jobs)))
    assert sorted(together) == list(range(len(jobs)))
    for job in jobs:
        [(tag, alone)] = list(exported.run(iter([job])))
        np.testing.assert_array_equal(together[tag], alone)
    texts = [f"{text} ({i})" for i in range(8) for text in TEXTS]  # 40 texts in batches of 4: rows land where they belong
    reference = Encoder(model, "ref", show_progress=False).encode_texts(texts, "document")
    assert (exported.encode(texts, batch_size=4) * reference).sum(1).min() > 0.99999


@needs_openvino
def test_openvino_bf16_is_refused_where_the_cpu_lacks_it(model, tmp_path):
    from hardneg.encoding.backends import cpu_has_native_bf16

    if cpu_has_native_bf16():
        pytest.skip("this CPU runs bf16 natively")
    with pytest.raises(ConfigError, match="AVX512-BF16 or AMX"):
        encoder(model, tmp_path, backend="openvino", precision="bf16").encode_texts(TEXTS, "document")


@needs_onnx
def test_mining_records_the_backend_and_without_cache_exports_nowhere(tmp_path):
    cache = tmp_path / "cache"
    kwargs = dict(preset="top", backend="onnx", precision="int8", show_progress=False)
    result = hardneg.mine("demo", tmp_path / "out.jsonl", cache_dir=str(cache), use_cache=False, **kwargs)
    assert result.manifest["model"]["backend"] == "onnx" and result.manifest["model"]["precision"] == "int8"
    assert not (cache / "exported").exists() and not (cache / "embeddings").exists()


# --- several processes --------------------------------------------------------------------------


def test_two_processes_mine_the_same_rows_as_one(tmp_path):
    kwargs = dict(preset="top", batch_size=16, use_cache=False, show_progress=False, seed=3)
    one = hardneg.mine("demo", tmp_path / "one.jsonl", **kwargs)
    two = hardneg.mine("demo", tmp_path / "two.jsonl", encode_processes=2, **kwargs)
    assert two.summary["texts_encoded"] == one.summary["texts_encoded"] > 300
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert two.manifest["parameters"]["encode_processes"] == 2


# --- the default path ---------------------------------------------------------------------------


def test_the_default_path_is_a_measured_one_for_this_cpu_else_torch_float32(monkeypatch):
    from hardneg.encoding import defaults

    monkeypatch.setattr(defaults, "cpu_flags", lambda: {"avx", "avx2"})
    fast = defaults.MeasuredDefault("torch", "int8", frozenset({"avx2"}), frozenset({"avx512f"}), "measured")
    monkeypatch.setattr(defaults, "MEASURED", (fast,))
    monkeypatch.delenv(defaults.SWITCH)  # the tests switch the table off (conftest.py)
    assert defaults.choose(None, None, "cpu") == defaults.EncodingChoice("torch", "int8", "measured")
    assert defaults.choose(None, None, "cuda").precision == "float32"  # measured on this CPU only
    assert defaults.choose(None, "bf16", "cpu") == defaults.EncodingChoice("torch", "bf16", "given")
    assert defaults.choose("onnx", None, "cpu") == defaults.EncodingChoice("onnx", "float32", "given")
    monkeypatch.setattr(defaults, "cpu_flags", lambda: {"avx", "avx2", "avx512f"})
    assert defaults.choose(None, None, "cpu").precision == "float32"


def test_the_measured_bf16_paths_apply_only_to_the_vendor_they_were_measured_on(monkeypatch):
    """OpenVINO and torch bfloat16 were measured faster on an AMD EPYC with AVX-512 BF16; on an Intel Xeon with the
    same flag a cold SciFact mine on OpenVINO bfloat16 took longer than the peer's (benchmarks/results/
    mine_vs_st_default_install.json): an Intel CPU keeps torch float32 until a path is measured there."""
    from hardneg.encoding import defaults

    monkeypatch.delenv(defaults.SWITCH)
    monkeypatch.setattr(defaults, "_installed", lambda backend, precision: True)
    monkeypatch.setattr(defaults, "cpu_flags", lambda: {"avx512_bf16", "vendor:GenuineIntel"})
    assert defaults.choose(None, None, "cpu", exportable=True).precision == "float32"
    monkeypatch.setattr(defaults, "cpu_flags", lambda: {"avx512_bf16", "vendor:AuthenticAMD"})
    chosen = defaults.choose(None, None, "cpu", exportable=True)
    assert (chosen.backend, chosen.precision) == ("openvino", "bf16")
    chosen = defaults.choose(None, None, "cpu", exportable=False)
    assert (chosen.backend, chosen.precision) == ("torch", "bf16")


def test_the_cpu_flags_name_the_vendor():
    from hardneg.encoding import defaults

    flags = defaults.cpu_flags()
    if Path("/proc/cpuinfo").is_file():
        assert sum(f.startswith("vendor:") for f in flags) == 1


def test_the_environment_switches_the_measured_paths_off(monkeypatch):
    from hardneg.encoding import defaults

    monkeypatch.setattr(defaults, "cpu_flags", lambda: {"avx512_vnni"})
    monkeypatch.setattr(defaults, "MEASURED", (defaults.MeasuredDefault("torch", "int8", frozenset(), frozenset(), "m"),))
    for value in ("off", "0", "False", "no"):
        monkeypatch.setenv(defaults.SWITCH, value)
        choice = defaults.choose(None, None, "cpu")
        assert (choice.precision, defaults.SWITCH in choice.reason) == ("float32", True)
    monkeypatch.setenv(defaults.SWITCH, "on")
    assert defaults.choose(None, None, "cpu").precision == "int8"


def test_every_measured_path_says_where_and_when_it_was_measured():
    from hardneg.encoding import defaults

    for m in defaults.MEASURED:
        assert m.flags and "measured on" in m.reason and "docs/benchmarks.md" in m.reason
        assert any(str(year) in m.reason for year in range(2024, 2100))


def test_a_deferred_model_knows_it_loads_on_the_cpu_without_torch_where_no_gpu_device_file_is(monkeypatch):
    from hardneg.encoding import deferred

    model = deferred.DeferredModel(lambda: None, 128, None)
    monkeypatch.setattr(deferred.sys, "platform", "linux")
    monkeypatch.setattr(deferred, "ACCELERATOR_NODES", ("no-such-device-*",))
    assert deferred.accelerator_possible() is False and deferred.device_type(model) == "cpu"
    monkeypatch.setattr(deferred, "ACCELERATOR_NODES", ("null",))  # /dev/null: a device file that is always there
    assert deferred.accelerator_possible() is True
    monkeypatch.setattr(deferred.sys, "platform", "darwin")  # mps: only torch can tell
    assert deferred.accelerator_possible() is True
    assert deferred.device_type(deferred.DeferredModel(lambda: None, 128, "cuda:1")) == "cuda"


def test_the_manifest_records_the_path_and_why(tmp_path):
    result = hardneg.mine("demo", preset="top", use_cache=False, show_progress=False)
    model = result.manifest["model"]
    assert {"backend", "precision", "encoding_choice"} <= set(model)
    assert result.manifest["parameters"]["precision"] is None  # not given: chosen per device


def test_evaluation_scores_in_float32_unless_asked():
    from hardneg.drivers.evaluate import EvalConfig

    assert EvalConfig().precision == "float32" and EvalConfig(precision="int8").precision == "int8"


def test_an_exported_default_is_taken_only_for_a_model_that_can_be_exported(monkeypatch):
    from hardneg.encoding import defaults

    monkeypatch.setattr(defaults, "cpu_flags", lambda: {"avx512_bf16"})
    monkeypatch.setattr(defaults, "_installed", lambda backend, precision: True)
    exported = defaults.MeasuredDefault("openvino", "bf16", frozenset({"avx512_bf16"}), frozenset(), "exported")
    torch_bf16 = defaults.MeasuredDefault("torch", "bf16", frozenset({"avx512_bf16"}), frozenset(), "torch")
    monkeypatch.setattr(defaults, "MEASURED", (exported, torch_bf16))
    monkeypatch.delenv(defaults.SWITCH)
    asked: list[int] = []
    assert defaults.choose(None, None, "cpu", lambda: asked.append(1) or True).reason == "exported"
    assert defaults.choose(None, None, "cpu", lambda: False).reason == "torch"
    assert defaults.choose(None, None, "cpu").reason == "torch"  # a model object (training): never exported by default
    monkeypatch.setattr(defaults, "MEASURED", (torch_bf16,))
    assert defaults.choose(None, None, "cpu", lambda: asked.append(2) or True).reason == "torch"
    assert asked == [1]  # asked only when an exported entry could apply


def test_whether_a_model_can_be_exported_is_recorded_with_it(model, tmp_path, monkeypatch):
    from hardneg.candidates.retriever import DenseRetriever, can_export
    from hardneg.encoding.backends import exportable
    from hardneg.encoding.deferred import DeferredModel, open_model
    from hardneg.options import EncodingOptions

    folder = tmp_path / "model"
    model.save(str(folder))
    options = EncodingOptions(model=str(folder), device="cpu", show_progress=False, cache_dir=str(tmp_path / "cache"))
    loaded, _ = open_model(options, options.embedding_cache)
    deferred, _ = open_model(options, options.embedding_cache)
    assert isinstance(deferred, DeferredModel) and not isinstance(loaded, DeferredModel)
    assert exportable(loaded) and can_export(loaded) and can_export(deferred) and not deferred.loaded
    assert not exportable(object())
    record = next((tmp_path / "cache" / "models").glob("*.json"))
    known = json.loads(record.read_text())
    del known["exportable"]  # as records were written before
    record.write_text(json.dumps(known))
    assert not isinstance(open_model(options, options.embedding_cache)[0], DeferredModel)  # loaded, to find out
    assert json.loads(record.read_text())["exportable"] is True
    from hardneg.encoding import defaults

    monkeypatch.setattr(defaults, "cpu_flags", lambda: {"avx512_bf16"})
    monkeypatch.setattr(defaults, "_installed", lambda backend, precision: True)
    entry = defaults.MeasuredDefault("openvino", "bf16", frozenset({"avx512_bf16"}), frozenset(), "exported")
    monkeypatch.setattr(defaults, "MEASURED", (entry,))
    monkeypatch.delenv(defaults.SWITCH)
    assert DenseRetriever.load(options).choice.backend == "openvino"  # loaded from its files for the run
    assert DenseRetriever(loaded, options).choice.backend == "torch"  # a model object: it may be in training
