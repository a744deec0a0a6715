"""A model known by its files: its weights' fingerprint without loading it, and the model loaded on first use.

Loading all-MiniLM-L6-v2 imports torch and transformers and builds the modules (seconds), and
fingerprinting its weights hashes 90 MB of tensors; a run whose every vector is already in the
embedding cache needs neither. The first load of a model folder records, in the cache folder
(``models/KEY.json``), the weights' fingerprint (:func:`~hardneg.encoding.model.fingerprint_model`),
the maximum sequence length of the loaded model, the arguments its modules take (``task`` for a
``Router``: part of the cache key) and whether the exported backends can run it (a default path may
be one). A record written before the last of these was kept is not used: the model is loaded once
more and the record written again. ``KEY`` hashes the contents of the files
sentence-transformers reads from the folder (those at its top and in the module folders that
``modules.json`` names) and the load settings that change the vectors. A later run with the same
files finds the record and hands out a :class:`DeferredModel`: the encoder's cache keys are the
same as with the loaded model, and the model is loaded only when a text is missing from the cache.
Any change of a file (another training step, an edited config) changes ``KEY``, so a record never
answers for other weights.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardneg.encoding.model import check_model_source, fingerprint_model, hub_folder, load_model, resolve_model_name
from hardneg.io import write_json_atomic

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from hardneg.options import ModelOptions

logger = logging.getLogger(__name__)


class DeferredModel:
    """A model that is loaded on first :meth:`get`; what the encoder needs before that is known without loading.

    Pickled (to a worker process or a Ray actor), it travels as the loaded model, as a model object would.
    """

    def __init__(
        self,
        load: Callable[[], SentenceTransformer],
        max_seq_length: int,
        device: str | None,
        model_kwargs: list[str] | None = None,
        exportable: bool = False,
    ):
        self._load = load
        self._model: SentenceTransformer | None = None
        self.max_seq_length = max_seq_length
        self.device = device
        """The device asked for (``None``: the one sentence-transformers picks when it loads)."""
        self.model_kwargs = list(model_kwargs or [])
        self.exportable = exportable
        """Whether the exported backends can run it (:func:`hardneg.encoding.backends.exportable`), as recorded."""

    def get_model_kwargs(self) -> list[str]:
        """The arguments the model's modules take, as the loaded model's ``get_model_kwargs`` gives them."""
        return list(self.model_kwargs)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def get(self) -> SentenceTransformer:
        if self._model is None:
            logger.debug("loading the model: a text is missing from the embedding cache")
            self._model = self._load()
        return self._model

    def __reduce__(self) -> tuple[Callable[[Any], Any], tuple[Any]]:
        return _as_is, (self.get(),)


def _as_is(model: Any) -> Any:
    return model


def model_folder(source: str) -> Path | None:
    """The folder a model is loaded from: ``source`` itself, or a hub id's snapshot in the local cache."""
    path = Path(source).expanduser()
    return path if path.is_dir() else hub_folder(source)


def _model_files(folder: Path) -> list[Path]:
    """The files sentence-transformers reads: the folder's own, and those of the module folders in ``modules.json``."""
    files = [p for p in folder.iterdir() if p.is_file()]
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        modules = []
    for module in modules if isinstance(modules, list) else []:
        sub = folder / str(module.get("path", "")) if isinstance(module, dict) else folder
        if sub != folder and sub.is_dir():
            files += [p for p in sub.rglob("*") if p.is_file()]
    return sorted(set(files))


def files_key(folder: Path, settings: str) -> str:
    """A hash of the contents of the model's files (:func:`_model_files`) and of ``settings``."""
    h = hashlib.blake2b(digest_size=16)
    h.update(settings.encode())
    for path in _model_files(folder):
        h.update(str(path.relative_to(folder)).encode())
        with open(path, "rb") as fh:
            h.update(hashlib.file_digest(fh, "blake2b").digest())
    return h.hexdigest()


ACCELERATOR_NODES = ("nvidia[0-9]*", "kfd", "dxg")
"""Device files of a GPU a torch build could use: NVIDIA's, AMD ROCm's, and WSL's GPU bridge."""


def accelerator_possible() -> bool:
    """Whether this machine may have a device other than the CPU for torch, found without importing torch.

    On Linux a GPU torch can use has a device file (``/dev/nvidia0``, ``/dev/kfd``, ``/dev/dxg``); where
    none is there, sentence-transformers can only pick the CPU. Elsewhere (macOS's ``mps``, Windows) only
    torch can tell.
    """
    if not sys.platform.startswith("linux"):
        return True
    dev = Path("/dev")
    return any(any(dev.glob(pattern)) for pattern in ACCELERATOR_NODES)


def device_type(model: Any) -> str:
    """The torch device type of ``model``; of a :class:`DeferredModel`, the one it will load on (without
    importing torch on a Linux machine with no GPU device file, :func:`accelerator_possible`)."""
    if not isinstance(model, DeferredModel):
        device = getattr(model, "device", None)
        return device.type if device is not None else "cpu"
    if model.device:
        return model.device.split(":", 1)[0]
    if not accelerator_possible():
        return "cpu"
    import torch  # as sentence-transformers picks it

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def open_model(options: ModelOptions, cache_root: Path | None) -> tuple[Any, str]:
    """``(model, fingerprint)`` for ``options.model``: a :class:`DeferredModel` when ``cache_root`` holds the
    record of an earlier load of the same files, else the model loaded now (and its record written there)."""

    def load() -> SentenceTransformer:
        return load_model(
            options.model,
            device=options.device,
            max_seq_length=options.max_seq_length,
            trust_remote_code=options.trust_remote_code,
            show_progress=getattr(options, "show_progress", True),
        )

    folder = model_folder(check_model_source(resolve_model_name(options.model))) if cache_root is not None else None
    if folder is None:
        model = load()
        return model, fingerprint_model(model)
    record = Path(cache_root) / "models" / f"{files_key(folder, f'max_seq_length={options.max_seq_length}')}.json"
    try:
        known = json.loads(record.read_text(encoding="utf-8"))
        model_kwargs = [str(name) for name in known["model_kwargs"]]  # a record without them: load once, record again
        exportable = known["exportable"]
        if not isinstance(exportable, bool):
            raise TypeError("exportable")
        deferred = DeferredModel(load, int(known["max_seq_length"]), options.device, model_kwargs, exportable)
        return deferred, str(known["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    model = load()
    fingerprint = fingerprint_model(model)
    get_model_kwargs = getattr(model, "get_model_kwargs", None)
    model_kwargs = sorted(get_model_kwargs()) if callable(get_model_kwargs) else []
    from hardneg.encoding.backends import exportable

    write_json_atomic(
        record,
        {
            "fingerprint": fingerprint,
            "max_seq_length": model.max_seq_length,
            "model_kwargs": model_kwargs,
            "exportable": exportable(model),
            "folder": str(folder),
        },
    )
    return model, fingerprint
