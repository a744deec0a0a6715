"""Encoding precision for mining, where only the ranking of documents matters.

``"float32"`` is the model as it is; ``"bf16"`` a copy cast to bfloat16 (measured faster than
``torch.autocast`` on CPU, which keeps converting float32 weights at every call), embeddings
normalised in float32 after; ``"int8"`` a copy with every ``nn.Linear`` dynamically quantised
(``torch.ao.quantization.quantize_dynamic``; Jacob et al. 2018, "Quantization and Training of Neural
Networks for Efficient Integer-Arithmetic-Only Inference"), CPU only. Each precision gives other vectors,
so the embedding cache key includes it (:class:`~hardneg.encoding.encode.Encoder`). Length bucketing needs
nothing here: sentence-transformers' ``encode`` already sorts the texts by length before batching. What each
costs and keeps: ``docs/scale.md`` (Faster encoding).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from hardneg.errors import ConfigError
from hardneg.options import PRECISIONS


def model_for_precision(model: Any, precision: str) -> Any:
    """The model to encode with at ``precision``: ``model`` itself for float32, else a converted copy."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, got {precision!r}")
    if precision == "float32":
        return model
    import torch

    if precision == "bf16":
        return copy.deepcopy(model).to(torch.bfloat16)
    if model.device.type != "cpu":
        raise ConfigError(f"precision='int8' (dynamic quantisation) runs on CPU only, the model is on {model.device}; use 'bf16'")
    try:
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    except ImportError as exc:
        raise ConfigError(
            f"precision='int8' needs torch.ao.quantization, which torch {torch.__version__} lacks; use 'bf16'"
        ) from exc
    with warnings.catch_warnings():
        # torch marks eager-mode quantisation deprecated (in favour of the separate torchao package)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_(tensor|channel).*")
        return quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear: per_channel_dynamic_qconfig})


def encode_normalised(model: Any, texts: Sequence[str], precision: str, **kwargs: Any) -> np.ndarray:
    """Unit-length float32 embeddings of ``texts`` from a model prepared by :func:`model_for_precision`.

    ``kwargs`` go to ``model.encode`` (batch size, prompt, progress bar).
    """
    if precision == "float32":
        emb = model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True, **kwargs)
        return np.ascontiguousarray(emb, dtype=np.float32)
    if not len(texts):
        return np.zeros((0, model.get_sentence_embedding_dimension()), dtype=np.float32)
    emb = model.encode(list(texts), normalize_embeddings=False, convert_to_tensor=True, **kwargs)
    return unit_rows(emb.float().cpu().numpy().reshape(len(texts), -1))


def unit_rows(emb: np.ndarray) -> np.ndarray:
    """``emb`` with each row scaled to unit length (a zero row stays zero), as contiguous float32."""
    return np.ascontiguousarray(emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12), dtype=np.float32)
