"""The encoding path used when neither ``--backend`` nor ``--precision`` is given: chosen per device, from measurements.

A faster path becomes the default only on the kind of device where it was measured to keep quality
(docs/benchmarks.md); everywhere else, and whenever the path's packages are not installed, the default is
torch float32. An exported backend (OpenVINO) is a default only for a model a run loads from its files and
can export (:func:`choose`'s ``exportable``). Giving either option turns the choice off: ``--precision int8``
alone means torch int8, ``--backend onnx`` alone ONNX float32. The tests a path passes, the table today,
the manifest record and ``HARDNEG_MEASURED_DEFAULTS=off``: ``docs/mining.md`` (Defaults).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hardneg.encoding.backends import required_modules


@dataclass(frozen=True)
class MeasuredDefault:
    """A path measured faster than torch float32, and as good, on CPUs with all of ``flags`` and none of ``without``."""

    backend: str
    precision: str
    flags: frozenset[str]
    without: frozenset[str]
    reason: str
    """What was measured, where and when: recorded in every manifest that takes this path."""


MEASURED: tuple[MeasuredDefault, ...] = (
    MeasuredDefault(
        "openvino",
        "bf16",
        frozenset({"avx512_bf16", "vendor:AuthenticAMD"}),
        frozenset(),
        "measured on an AMD EPYC with AVX-512 BF16 and VNNI, 2026-12-06 (docs/benchmarks.md): OpenVINO bfloat16 "
        "encoded 2.08x (SciFact) and 2.13x (NFCorpus) faster than torch float32, nDCG@10 within 0.003 of float32's on "
        "both test splits, and models trained on what it mined within the seed spread on both; taken where "
        "OpenVINO is installed (by default on x86-64); --precision float32 gives float32's rows",
    ),
    MeasuredDefault(
        "torch",
        "bf16",
        frozenset({"avx512_bf16", "vendor:AuthenticAMD"}),
        frozenset(),
        "measured on an AMD EPYC with AVX-512 BF16 and VNNI, 2026-12-06 (docs/benchmarks.md): torch bfloat16 encoded "
        "1.91x (SciFact) and 1.97x (NFCorpus) faster than float32, nDCG@10 within 0.003 of float32's on both test "
        "splits, and models trained on what it mined within the seed spread on both; --precision float32 gives "
        "float32's rows",
    ),
)
"""Every path measured to qualify, per kind of CPU (benchmarks/encode.py, docs/benchmarks.md); checked
in order, the first whose CPU flags match and whose packages are installed is the default.

A path enters only after both tests on both datasets (SciFact and NFCorpus): its own nDCG@10 within 0.003
of torch float32's, and models trained on what it mined within the seed standard deviation of float32's
(docs/benchmarks.md)."""

SWITCH = "HARDNEG_MEASURED_DEFAULTS"
"""The environment variable that switches :data:`MEASURED` off (``off``, ``0``, ``false`` or ``no``)."""


@dataclass(frozen=True)
class EncodingChoice:
    backend: str
    precision: str
    reason: str

    def info(self) -> dict[str, str]:
        return {"backend": self.backend, "precision": self.precision, "encoding_choice": self.reason}


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo, and its vendor as one more, ``vendor:AuthenticAMD`` or
    ``vendor:GenuineIntel`` (empty where there is no /proc/cpuinfo): two vendors' CPUs with the same flags ran the
    same path at different speeds, so an entry measured on one names its vendor."""
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("vendor_id") and not any(f.startswith("vendor:") for f in flags):
                flags.add("vendor:" + line.split(":", 1)[1].strip())
            elif line.startswith("flags"):
                return flags | set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return flags


def _installed(backend: str, precision: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in required_modules(backend, precision))


def choose(
    backend: str | None,
    precision: str | None,
    device: str | Callable[[], str],
    exportable: bool | Callable[[], bool] = False,
) -> EncodingChoice:
    """The path to encode with on ``device`` (a torch device type), given the options set (``None``: not given).

    ``device`` may be a function that finds it: it is called only when a measured path could apply
    (finding the device of a model not yet loaded may import torch, which a run served from the cache
    skips where it can: :func:`hardneg.encoding.deferred.device_type`).

    ``exportable`` (or a function giving it, called only when an exported backend's entry matches) says
    whether an exported backend may be the default for this model: one the backends can run, loaded from
    its files for a run (:meth:`hardneg.candidates.retriever.DenseRetriever.load`). A model object being
    trained is not: each new set of weights would be exported again. Those entries are skipped otherwise.
    """
    if backend is not None or precision is not None:
        return EncodingChoice(backend or "torch", precision or "float32", "given")
    table = () if os.environ.get(SWITCH, "").strip().lower() in ("off", "0", "false", "no") else MEASURED
    if not table:
        why = f"{SWITCH} switches the measured paths off" if MEASURED else "no faster path measured to keep quality on any device"
        return EncodingChoice("torch", "float32", f"default: {why}")
    device = device() if callable(device) else device
    if device == "cpu":
        flags = cpu_flags()
        for m in table:
            if not (m.flags <= flags and not (m.without & flags) and _installed(m.backend, m.precision)):
                continue
            if m.backend != "torch":
                if callable(exportable):
                    exportable = bool(exportable())
                if not exportable:
                    continue
            return EncodingChoice(m.backend, m.precision, m.reason)
    return EncodingChoice("torch", "float32", f"default: no faster path measured to keep quality on this {device}")
