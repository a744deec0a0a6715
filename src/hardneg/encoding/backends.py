"""Encoding with the model exported to ONNX Runtime or OpenVINO instead of running it in PyTorch.

Only the transformer (the model's first module) is exported; tokenising, pooling and
normalising stay the model's own sentence-transformers modules, so prompts, truncation and
pooling mean exactly what they mean under ``torch``. sentence-transformers' own ``backend="onnx"``
goes through ``optimum``, whose releases pin transformers below the version hardneg runs, hence
the direct export (``torch.onnx.export``; int8: ``onnxruntime.quantization.quantize_dynamic``, or
``nncf.compress_weights`` for OpenVINO, data-free, where sentence-transformers' static quantisation
calibrates on a dataset downloaded from the model hub). OpenVINO ``bf16`` runs only on a CPU that
OpenVINO says has BF16: elsewhere it would silently run float32. Which backend and precision run
what: ``docs/mining.md`` (Encoding and the cache).

Exports are cached under ``CACHE/exported/WEIGHTS/BACKEND-PRECISION/`` where ``WEIGHTS`` is the
source model's weight fingerprint (:func:`hardneg.encoding.model.fingerprint_model`): never in
the user's model folder, made once per set of weights, written atomically and checked against
the SHA-256 of each file before use (a damaged export is made again).
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hardneg.encoding.precision import unit_rows
from hardneg.errors import ConfigError, ModelError
from hardneg.io import atomic_path, sha256_file
from hardneg.options import check_backend_precision

logger = logging.getLogger(__name__)

REQUIRES = {"onnx": ("onnxruntime", "onnx"), "openvino": ("openvino", "onnx")}
"""The modules each exported backend imports; all come with ``pip install 'hardneg[BACKEND]'``."""
REQUIRES_FOR_INT8 = {"openvino": ("nncf",)}
"""What int8 needs besides (OpenVINO compresses the weights with NNCF); float32 and bf16 run without it."""
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
EXPORT_FORMAT = 1
"""Bumped when the export changes, so older exports are not reused."""


def required_modules(backend: str, precision: str) -> tuple[str, ...]:
    """The modules encoding with ``backend`` at ``precision`` imports."""
    return REQUIRES.get(backend, ()) + (REQUIRES_FOR_INT8.get(backend, ()) if precision == "int8" else ())


def require(backend: str, precision: str = "float32") -> None:
    """Raise a one-line ConfigError naming the extra to install when ``backend``'s packages are missing."""
    for module in required_modules(backend, precision):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(
                f"backend {backend!r} needs the package {module!r}, which is not installed: pip install 'hardneg[{backend}]'"
            ) from exc


def cpu_has_native_bf16() -> bool:
    """Whether OpenVINO's CPU plugin runs bfloat16 natively here (AVX512-BF16 or AMX)."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


# --- export -------------------------------------------------------------------------------------


def _transformer_of(model: Any) -> Any:
    """The model's first module, which must be a sentence-transformers ``Transformer`` giving token embeddings."""
    first = model[0]
    hf = getattr(first, "auto_model", None)
    config = getattr(first, "modality_config", {}).get("text", {})
    if hf is None or config.get("method") != "forward" or config.get("method_output_name") != "last_hidden_state":
        raise ModelError(
            f"backends 'onnx' and 'openvino' export a Transformer module giving token embeddings; "
            f"this model starts with {type(first).__name__}: use backend 'torch'"
        )
    return hf


def exportable(model: Any) -> bool:
    """Whether the backends can export ``model`` (a loaded one): its first module is a ``Transformer`` giving token
    embeddings. Checked before choosing an exported backend by default, so that other models keep torch."""
    try:
        _transformer_of(model)
    except (ModelError, TypeError, IndexError, KeyError, AttributeError):
        return False
    return True


def _input_names(model: Any) -> list[str]:
    features = model.preprocess(["a", "b c"])
    return [name for name in INPUT_NAMES if name in features]


def export_onnx_float32(model: Any, path: Path) -> None:
    """Write the transformer of ``model`` as an ONNX graph with dynamic batch and sequence axes."""
    import torch

    hf = _transformer_of(model)
    names = _input_names(model)
    if next(hf.parameters()).device.type != "cpu":
        hf = copy.deepcopy(hf).to("cpu")

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, transformer: Any):
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: Any) -> Any:
            return self.transformer(**dict(zip(names, inputs)), return_dict=True).last_hidden_state

    features = model.preprocess(["a short text", "a somewhat longer text, to pad the first one"])
    example = tuple(features[name].to("cpu") for name in names)
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "token_embeddings"]}
    wrapper = TokenEmbeddings(hf).eval()
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter warns about traced shape arithmetic
        torch.onnx.export(
            wrapper,
            example,
            str(path),
            dynamo=False,
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes=axes,
            opset_version=17,
        )


def _export(model: Any, backend: str, precision: str, folder: Path) -> None:
    """Write the files of one export into ``folder``."""
    base = folder / "model_float32.onnx"
    export_onnx_float32(model, base)
    if backend == "onnx":
        if precision == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(base, folder / "model.onnx", weight_type=QuantType.QInt8, per_channel=True)
            base.unlink()
        else:
            base.rename(folder / "model.onnx")
        return
    import openvino as ov

    ov_model = ov.Core().read_model(str(base))
    if precision == "int8":
        import nncf

        nncf.set_log_level(logging.ERROR)  # its statistics table would go to stdout, where --json output goes
        ov_model = nncf.compress_weights(ov_model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    ov.save_model(ov_model, str(folder / "model.xml"), compress_to_fp16=False)
    base.unlink()


def _record(folder: Path) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "files": {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.name != "export.json"},
    }


def _intact(folder: Path) -> bool:
    try:
        record = json.loads((folder / "export.json").read_text(encoding="utf-8"))
        return record["format"] == EXPORT_FORMAT and record["files"] == _record(folder)["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def exported_model(model: Any, backend: str, precision: str, weights: str, root: Path) -> Path:
    """The folder holding ``model`` exported for ``backend`` at ``precision``, made now if it is not cached.

    ``weights`` is the model's weight fingerprint; ``root`` the cache folder.
    """
    folder = Path(root) / "exported" / weights / f"{backend}-{precision}"
    if folder.is_dir():
        if _intact(folder):
            return folder
        logger.warning("exported model %s is damaged or incomplete; exporting again", folder)
    logger.info("exporting the model to %s (%s), once for these weights", backend, precision)
    with atomic_path(folder, directory=True) as tmp:
        _export(model, backend, precision, tmp)
        (tmp / "export.json").write_text(json.dumps(_record(tmp), indent=2) + "\n", encoding="utf-8")
    return folder


# --- running ------------------------------------------------------------------------------------


Jobs = Iterable[tuple[int, dict[str, np.ndarray]]]
Runner = Callable[[Jobs], Iterator[tuple[int, np.ndarray]]]


def _runner(folder: Path, backend: str, precision: str) -> Runner:
    """A function from ``(tag, int64 input arrays)`` jobs to ``(tag, token embeddings)``, running the export in ``folder``.

    ONNX Runtime runs the jobs one at a time, in order. OpenVINO runs them as its throughput mode asks: as many
    requests at once as it has streams (on 2 cores, 2 streams of 1 thread), each taking the next job in turn
    while the others run, and hands results back in the order the jobs came: the cores keep computing while
    Python tokenises the next batch and pools the last. Each request computes what a single one would, bit
    for bit. Results are collected by waiting on each request, not by a callback, which would run in
    OpenVINO's threads and need the GIL.
    """
    import torch

    if backend == "onnx":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = torch.get_num_threads()  # a worker of several processes gets its share
        session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

        def run_in_order(jobs: Jobs) -> Iterator[tuple[int, np.ndarray]]:
            for tag, feeds in jobs:
                yield tag, session.run(None, feeds)[0]

        return run_in_order
    import openvino as ov

    config: dict[str, Any] = {"PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_NUM_THREADS": torch.get_num_threads()}
    config["INFERENCE_PRECISION_HINT"] = "bf16" if precision == "bf16" else "f32"  # f32: never a silent bf16 on a CPU that has it
    compiled = ov.Core().compile_model(str(folder / "model.xml"), "CPU", config)
    requests = [
        compiled.create_infer_request() for _ in range(max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))))
    ]

    def run_concurrently(jobs: Jobs) -> Iterator[tuple[int, np.ndarray]]:
        running: list[int | None] = [None] * len(requests)  # the tag each request is working on

        def collect(slot: int) -> tuple[int, np.ndarray]:
            requests[slot].wait()
            tag = running[slot]
            running[slot] = None
            assert tag is not None
            return tag, np.array(requests[slot].get_output_tensor(0).data, dtype=np.float32, copy=True)

        slot = 0
        try:
            for tag, feeds in jobs:
                if running[slot] is not None:
                    yield collect(slot)
                requests[slot].start_async(feeds)  # the inputs are copied into the request
                running[slot] = tag
                slot = (slot + 1) % len(requests)
            for _ in requests:
                if running[slot] is not None:
                    yield collect(slot)
                slot = (slot + 1) % len(requests)
        finally:  # left early (an error downstream): let what runs finish before the requests are used again
            for request, tag in zip(requests, running):
                if tag is not None:
                    request.wait()

    return run_concurrently


class ExportedEncoder:
    """A sentence-transformers model whose transformer runs in ONNX Runtime or OpenVINO.

    Args:
        model: the loaded ``SentenceTransformer`` (its tokenizer, pooling and normalisation are used).
        backend: ``"onnx"`` or ``"openvino"``.
        precision: one of ``BACKEND_PRECISIONS[backend]``.
        weights: the model's weight fingerprint (names the export).
        root: the cache folder exports are kept in; ``None``: a temporary folder, gone with this object.
    """

    def __init__(self, model: Any, backend: str, precision: str, weights: str, root: Path | None):
        require(backend, precision)
        check_backend_precision(backend, precision)
        if str(getattr(model, "device", "cpu")) != "cpu":
            raise ConfigError(f"backend {backend!r} runs on CPU here; the model is on {model.device}: use backend 'torch'")
        if backend == "openvino" and precision == "bf16" and not cpu_has_native_bf16():
            raise ConfigError("backend 'openvino' with bf16 needs a CPU with AVX512-BF16 or AMX; this one has neither")
        self.model, self.backend, self.precision = model, backend, precision
        self._tmp = None
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="hardneg-export-")
            root = Path(self._tmp.name)
        self.folder = exported_model(model, backend, precision, weights, root)
        self.input_names = _input_names(model)
        self.run = _runner(self.folder, backend, precision)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int,
        prompt: str | None = None,
        show_progress_bar: bool = False,
        task: str | None = None,
    ):
        """Unit-length float32 embeddings of ``texts``, batched by length as ``SentenceTransformer.encode`` does.

        ``task`` (``"query"`` or ``"document"``) goes where ``SentenceTransformer.encode`` sends it: to the
        tokenising and to each later module that takes it (a ``Router`` after the transformer picks its path).
        """
        import torch
        from tqdm.auto import tqdm

        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        out = np.zeros((len(texts), dim()), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts])  # sentence-transformers' length sort: batches pad little
        extra = {"task": task} if task is not None else {}
        starts = range(0, len(texts), batch_size)
        pending: dict[int, Any] = {}  # the tokenised batches running, by their first position in ``order``

        def jobs() -> Jobs:
            for start in tqdm(starts, desc="Batches", disable=not show_progress_bar):
                features = self.model.preprocess([texts[i] for i in order[start : start + batch_size]], prompt=prompt, **extra)
                pending[start] = features
                yield start, {name: features[name].numpy().astype(np.int64) for name in self.input_names}

        with torch.inference_mode():
            for start, tokens in self.run(jobs()):
                features = pending.pop(start)
                features["token_embeddings"] = torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.float32))
                for module in list(self.model)[1:]:
                    features = module(features, **{k: v for k, v in extra.items() if k in getattr(module, "forward_kwargs", ())})
                out[order[start : start + batch_size]] = features["sentence_embedding"].float().numpy()
        return unit_rows(out)
