"""Options shared by several commands, each declared once.

Every configuration dataclass (``hardneg mine``'s, ``TrainConfig``, ``EvalConfig``, ...) is built from
:func:`option` fields, from which the CLI generates its flags, so ``--batch-size 32`` and
``batch_size=32`` are one parameter. Groups of options that several commands take
(:class:`DataOptions`, :class:`ModelOptions`, :class:`EncodingOptions`) are dataclasses the
configurations inherit, so a flag means the same thing, with the same help and checks, everywhere.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardneg.data.options import EXTRA_POSITIVES_HELP, DataOptions  # noqa: F401  (declared beside the data they load)
from hardneg.errors import ConfigError
from hardneg.fields import (  # noqa: F401  (declared there, below every stage; the commands import them from here)
    MAX_INTEGER,
    SEED_RANGE,
    Options,
    check_choices,
    check_number,
    check_positive,
    option,
)

PRECISIONS = ("float32", "bf16", "int8")
"""Encoding arithmetic (:mod:`hardneg.encoding.precision`); the name is part of the embedding cache key."""
TRAIN_PRECISIONS = ("float32", "bf16")
"""Training arithmetic: bf16 trains under bfloat16 mixed precision."""
PRECISION_ALIASES = {"fp32": "float32", "bfloat16": "bf16"}
"""Other spellings accepted wherever a precision is asked for."""
BACKENDS = ("torch", "onnx", "openvino")
"""What runs the encoder (:mod:`hardneg.encoding.backends`); part of the embedding cache key except for ``torch``."""
BACKEND_PRECISIONS = {"torch": PRECISIONS, "onnx": ("float32", "int8"), "openvino": PRECISIONS}
"""The precisions each backend runs (ONNX Runtime's CPU provider has no bfloat16 kernels for these graphs)."""
ENCODE_DEVICE = re.compile(r"cpu|cuda(:\d+)?|mps")
"""A device an encoding process can run on: ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""


def default_cache_dir() -> Path:
    """Where embeddings, indexes and run parts are cached: $HARDNEG_CACHE, else (also when it is set but empty,
    which would otherwise be the current folder) ~/.cache/hardneg."""
    return Path(os.environ.get("HARDNEG_CACHE", "").strip() or Path.home() / ".cache" / "hardneg")


def canonical_precision(value: str, allowed: tuple[str, ...] = PRECISIONS) -> str:
    """``value`` in hardneg's spelling (``bfloat16`` -> ``bf16``), or a ConfigError naming the allowed ones."""
    name = PRECISION_ALIASES.get(value, value)
    if name not in allowed:
        raise ConfigError(f"precision must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return name


def check_backend_precision(backend: str, precision: str) -> None:
    """Raise a ConfigError when ``backend`` cannot run ``precision`` (:data:`BACKEND_PRECISIONS`)."""
    allowed = BACKEND_PRECISIONS[backend]
    if precision not in allowed:
        raise ConfigError(
            f"backend {backend!r} runs precision {' or '.join(map(repr, allowed))}, not {precision!r}"
            + ("; bf16 runs under backend 'torch' or 'openvino'" if precision == "bf16" else "")
        )


def json_options(name: str, value: Any, forbidden: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON object an option holds as text (or already as a dict; empty when unset), or a ConfigError naming
    the option: text that is not a JSON object, or keys among ``forbidden``."""
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        options = dict(value)
    else:
        try:
            options = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name} must be a JSON object: {exc.msg} at column {exc.colno} in {value!r}") from exc
        if not isinstance(options, dict):
            raise ConfigError(f"{name} must be a JSON object, got {value!r}")
    clash = sorted(set(options) & set(forbidden))
    if clash:
        raise ConfigError(f"{name} cannot set {clash}: the loop sets them")
    return options


def values_of(config: Any, cls: type) -> dict[str, Any]:
    """The values of ``cls``'s fields in ``config`` (to build a smaller options object from a larger one)."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(cls)}


@dataclass
class ModelOptions(Options):
    """Which sentence-transformers model to load, and how."""

    model: str | None = option(
        None, "sentence-transformers model: local folder or name (default: offline all-MiniLM-L6-v2)", group="encoding"
    )
    device: str | None = option(None, "torch device (default: cuda if available, else cpu)", group="encoding")
    max_seq_length: int | None = option(None, "truncate texts to this many tokens (default: the model's)", group="encoding")
    trust_remote_code: bool = option(False, "allow model code from the model folder to run", group="encoding")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self, "max_seq_length")


@dataclass
class EncodingOptions(ModelOptions):
    """How texts are turned into vectors; shared by ``mine``, ``eval``, ``evolve`` and ``fooling``."""

    batch_size: int = option(64, "texts per encoding batch", group="encoding")
    query_prompt: str | None = option(None, "text prepended to every query, e.g. 'query: '", group="encoding")
    document_prompt: str | None = option(None, "text prepended to every document, e.g. 'passage: '", group="encoding")
    precision: str | None = option(
        None,
        "encoding arithmetic: 'float32', 'bf16' (also 'bfloat16') or 'int8'; vectors of each are cached separately "
        "(default: float32, or the faster path measured to keep quality on this device: docs/mining.md, 'Defaults')",
        choices=PRECISIONS,
        aliases=PRECISION_ALIASES,
        group="encoding",
    )
    backend: str | None = option(
        None,
        "what runs the encoder: 'torch', or the model exported to 'onnx' (ONNX Runtime, pip install 'hardneg[onnx]') "
        "or 'openvino' (pip install 'hardneg[openvino]'); exports are cached by the model's weights, vectors per backend "
        "(default: torch, or the faster path measured to keep quality on this device: docs/mining.md, 'Defaults')",
        choices=BACKENDS,
        group="encoding",
    )
    encode_processes: int = option(
        1, "encode in this many processes on this machine (CPU cores or GPUs split between them); same vectors", group="encoding"
    )
    encode_devices: str | None = option(
        None,
        "encode in one process per listed device, comma-separated: 'cuda:0,cuda:1' or 'cpu,cpu' (each 'cpu', 'cuda', "
        "'cuda:N' or 'mps'); sets --encode-processes to their number; same vectors, same cache",
        group="encoding",
    )
    cache_dir: str | None = option(None, "embedding cache folder (default: $HARDNEG_CACHE or ~/.cache/hardneg)", group="encoding")
    use_cache: bool = option(True, "reuse and store embeddings keyed by the model's weights", group="encoding")
    show_progress: bool = option(True, "progress bars", group="output")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.precision is not None:
            self.precision = canonical_precision(self.precision)
        if self.backend is not None:
            check_choices(self, "backend")
        check_backend_precision(self.backend or "torch", self.precision or "float32")
        check_positive(self, "batch_size", "encode_processes")
        self._check_devices()

    def _check_devices(self) -> None:
        """Normalise ``encode_devices`` (a list is joined) and set ``encode_processes`` to its length; a ConfigError
        for an unknown device or a process count (other than the default 1) that disagrees with the list."""
        if self.encode_devices is None:
            return
        if isinstance(self.encode_devices, list | tuple):
            self.encode_devices = ",".join(map(str, self.encode_devices))
        devices = [d.strip() for d in str(self.encode_devices).split(",")]
        wrong = [d for d in devices if not ENCODE_DEVICE.fullmatch(d)]
        if wrong:
            raise ConfigError(
                f"encode_devices must list devices 'cpu', 'cuda', 'cuda:N' or 'mps', comma-separated; "
                f"got {', '.join(map(repr, wrong))} in {self.encode_devices!r}"
            )
        if self.encode_processes not in (1, len(devices)):
            raise ConfigError(
                f"encode_devices lists {len(devices)} device(s) ({self.encode_devices!r}), one process each, but "
                f"encode_processes is {self.encode_processes}: give one of the two, or make them agree"
            )
        self.encode_devices = ",".join(devices)
        self.encode_processes = len(devices)

    @property
    def devices(self) -> tuple[str, ...] | None:
        """The devices of ``encode_devices``, one per encoding process; ``None`` when not set."""
        return tuple(self.encode_devices.split(",")) if self.encode_devices else None

    @property
    def cache_root(self) -> Path:
        """The cache folder: ``cache_dir``, else :func:`default_cache_dir`."""
        return Path(self.cache_dir) if self.cache_dir else default_cache_dir()

    @property
    def embedding_cache(self) -> Path | None:
        """The folder embeddings are cached in, ``None`` when ``use_cache`` is off."""
        return self.cache_root if self.use_cache else None
