"""The drop-in's arguments as :func:`hardneg.mine` parameters.

sentence-transformers' ``mine_hard_negatives`` writes its defaults into its signature
(``sampling_strategy="top"``, ``relative_margin=None``, ...), so a default cannot be told from a
choice by its value. The drop-in records which arguments its caller passed
(:func:`tracks_passed_arguments`); :func:`preset_choices` sends only those of the preset's
concern, so a ``preset`` supplies every value the caller left out and the caller's own values
override it, as flags override ``--preset`` on the command line. Without a preset the drop-in
starts from ``top``, whose values are the peer's defaults.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

PASSED = "_passed_arguments"
"""Key under which :func:`tracks_passed_arguments` hands the names of the given arguments to the function."""

PEER_PRESET = "top"
"""The preset whose values are sentence-transformers' defaults: the start of a call without ``preset``."""

PROTECTING_PRESET = "default"

PRESET_ARGUMENTS = {
    "range_min": "range_min",
    "range_max": "range_max",
    "max_score": "max_score",
    "min_score": "min_score",
    "absolute_margin": "absolute_margin",
    "relative_margin": "relative_margin",
    "num_negatives": "num_negatives",
    "sampling_strategy": "selection",
}
"""Peer arguments that are mining choices (a preset's concern), and the :func:`hardneg.mine` parameter each sets."""

FALSE_NEGATIVE_CONTROLS = (
    "absolute_margin",
    "relative_margin",
    "max_score",
    "denoise_threshold",
    "promote_threshold",
    "near_duplicate_threshold",
)

TEACHER_DEPTH_FACTOR = 2
"""With a cross-encoder, search at most this many times the rank window (default 100: depth 200)."""

CPU_PROCESSES = 4
"""Encoding processes of ``use_multi_process=True`` without a GPU (sentence-transformers starts 4 CPU workers)."""

F = TypeVar("F", bound=Callable[..., Any])


def tracks_passed_arguments(func: F) -> F:
    """Call ``func`` with ``**{PASSED: names of the arguments the caller gave}`` added to its keywords.

    ``func`` must take ``**params``; its signature (defaults included) stays what callers see.
    """
    signature = inspect.signature(func)

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        given = signature.bind(*args, **kwargs).arguments
        names = {name for name in given if signature.parameters[name].kind is not inspect.Parameter.VAR_KEYWORD}
        return func(*args, **kwargs, **{PASSED: frozenset(names | set(kwargs))})

    return call  # type: ignore[return-value]


def preset_choices(values: dict[str, Any], passed: frozenset[str]) -> dict[str, Any]:
    """The :func:`hardneg.mine` parameters of the mining choices the caller passed; the preset supplies the rest."""
    return {field: values[arg] for arg, field in PRESET_ARGUMENTS.items() if arg in passed}


def warn_if_unprotected(config_values: dict[str, Any], preset: str | None) -> None:
    """One warning when nothing keeps false negatives out: no preset, no margin or score cap, ``top`` from rank 0."""
    if preset is not None or config_values.get("selection", "top") != "top" or config_values.get("range_min", 0) > 0:
        return
    if any(config_values.get(name) is not None for name in FALSE_NEGATIVE_CONTROLS):
        return
    logger.warning(
        "mining the top-ranked candidates with no false-negative control: the best-scored non-positives are often "
        "unlabelled positives. preset=%r drops candidates scored above 95%% of the positive's score and samples "
        "3 negatives from the top 50 survivors (docs/migrating.md: planted false negatives per preset on the demo).",
        PROTECTING_PRESET,
    )


def encode_processes(use_multi_process: list[str] | bool) -> int:
    """Processes for ``use_multi_process``: one per listed device; ``True``: one per GPU, else 4 on the CPU."""
    if isinstance(use_multi_process, list | tuple):
        return max(1, len(use_multi_process))
    if not use_multi_process:
        return 1
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return gpus or min(CPU_PROCESSES, os.cpu_count() or 1)


def encode_devices(use_multi_process: list[str] | bool) -> str | None:
    """hardneg's ``encode_devices`` for ``use_multi_process``: the listed devices (one process each), else ``None``."""
    if isinstance(use_multi_process, list | tuple) and use_multi_process:
        return ",".join(str(device) for device in use_multi_process)  # a torch.device reads as "cuda:0"
    return None


def teacher_max_depth(range_min: int, range_max: int | None) -> int:
    """The deepest rank a cross-encoder rescores by default: twice the rank window (hardneg's 100 when unset)."""
    window_end = range_max if range_max is not None else range_min + 100
    return TEACHER_DEPTH_FACTOR * window_end
