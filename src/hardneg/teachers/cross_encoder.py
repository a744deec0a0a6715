"""A cross-encoder teacher: reads query and document together, the strongest relevance judge.

RocketQA (Qu et al. 2021) denoises a dual encoder's hard negatives with a cross-encoder; NV-Retriever
(Moreira et al. 2024) filters them on a teacher's scores. This scorer puts such a teacher's score on
each (query, candidate) pair. Pairs are collected over the whole batch of queries, deduplicated,
and scored in one ``CrossEncoder.predict`` call (which sorts them by length, so batches pad little),
with a progress bar; pairs already scored are never scored again.

Example:
    >>> teacher = CrossEncoderScorer("runs/teacher", data.query_texts, data.corpus_texts)
    >>> teacher.score(np.array([0]), np.array([[4, 17, -1]]))  # probabilities; -1 -> -inf
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from hardneg.errors import ConfigError, ModelError
from hardneg.teachers.base import PairCache, score_pairs

logger = logging.getLogger(__name__)

ACTIVATIONS = ("sigmoid", "raw")


def load_cross_encoder(path: str, *, device: str | None = None, max_length: int | None = None):
    """A sentence-transformers ``CrossEncoder`` with one output, from a local folder or a hub name.

    A missing local path is an error, not a download attempt; remote code never runs.
    """
    from sentence_transformers import CrossEncoder

    from hardneg.encoding.model import check_model_source

    source = check_model_source(path, "teacher")
    try:
        model = CrossEncoder(source, device=device, max_length=max_length)
    except Exception as exc:
        raise ModelError(f"could not load cross-encoder teacher {path!r}: {exc}") from exc
    if model.num_labels != 1:
        raise ModelError(f"teacher {path!r} has {model.num_labels} outputs; a relevance teacher needs exactly one")
    return model


class CrossEncoderScorer:
    """Scores pairs with a ``CrossEncoder``.

    Args:
        model: path or name of a one-output cross-encoder, or a loaded ``CrossEncoder``.
        query_texts / doc_texts: the texts that query and document indices refer to.
        activation: ``"sigmoid"`` for probabilities (RocketQA's thresholds need them) or ``"raw"``
            for logits.
        max_length: truncate each pair to this many tokens (default: the model's).
        bf16: run the forward passes under ``torch.autocast`` in bfloat16: more pairs per second on
            CPUs with AVX-512 BF16 and on recent GPUs, at a small cost in precision (see
            docs/false_negatives.md for a measurement).
    """

    name = "cross-encoder"

    def __init__(
        self,
        model,
        query_texts: Sequence[str],
        doc_texts: Sequence[str],
        *,
        activation: str = "sigmoid",
        batch_size: int = 32,
        max_length: int | None = None,
        device: str | None = None,
        show_progress: bool = True,
        bf16: bool = False,
    ):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if not isinstance(model, str) and getattr(model, "num_labels", 1) != 1:
            raise ConfigError(f"teacher has {model.num_labels} outputs; a relevance teacher needs exactly one")
        self.path = model if isinstance(model, str) else getattr(model, "name_or_path", type(model).__name__)
        self.model = load_cross_encoder(model, device=device, max_length=max_length) if isinstance(model, str) else model
        self.query_texts, self.doc_texts = query_texts, doc_texts
        self.activation, self.batch_size, self.show_progress, self.bf16 = activation, batch_size, show_progress, bf16
        self.is_probability = activation == "sigmoid"
        self.cache = PairCache()
        self.pairs_scored = 0
        self.seconds = 0.0

    def score(self, query_indices: np.ndarray, doc_indices: np.ndarray) -> np.ndarray:
        return score_pairs(self.cache, query_indices, doc_indices, self._predict)

    def _predict(self, queries: np.ndarray, docs: np.ndarray) -> np.ndarray:
        import torch

        start = time.perf_counter()
        pairs = [(self.query_texts[q], self.doc_texts[d]) for q, d in zip(queries.tolist(), docs.tolist())]
        activation = torch.nn.Sigmoid() if self.activation == "sigmoid" else torch.nn.Identity()
        device_type = "cuda" if str(self.model.device).startswith("cuda") else "cpu"
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.bf16):
            scores = self.model.predict(
                pairs,
                batch_size=self.batch_size,
                activation_fn=activation,
                show_progress_bar=self.show_progress and len(pairs) > self.batch_size,
                convert_to_numpy=True,
            )
        self.pairs_scored += len(pairs)
        self.seconds += time.perf_counter() - start
        return np.asarray(scores, dtype=np.float32).reshape(-1)

    def info(self) -> dict[str, Any]:
        from hardneg.encoding.model import fingerprint_model

        return {
            "type": "cross-encoder",
            "path": self.path,
            "fingerprint": fingerprint_model(self.model),
            "activation": self.activation,
            "bf16": self.bf16,
            "max_length": getattr(self.model, "max_seq_length", None),
            "pairs_scored": self.pairs_scored,
            "seconds": round(self.seconds, 3),
        }
