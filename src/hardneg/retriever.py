"""A bi-encoder ready to retrieve: load a model, encode through the cache, search exactly.

Evaluation, training diagnostics, the co-evolution loop and the candidate-pool refresh all need
the same three steps on a (possibly freshly trained) model; :class:`DenseRetriever` is that one
place. Encoding goes through :class:`~hardneg.encode.Encoder`, so a checkpoint's corpus vectors
are computed once and reused by every later stage that asks for the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hardneg.candidates import Candidates, DenseSearch
from hardneg.config import _f
from hardneg.encode import Embeddings, Encoder, default_cache_dir
from hardneg.errors import ConfigError
from hardneg.model import fingerprint_model, load_model, resolve_model_name
from hardneg.scoring import DenseScorer

PRECISIONS = ("float32", "bfloat16")
ENCODER_PRECISION = {"float32": "float32", "bfloat16": "bf16"}  # the names of hardneg.precision


@dataclass
class EncodingOptions:
    """How texts are turned into vectors; shared by ``eval``, ``train`` and ``evolve``."""

    model: str | None = _f(
        None, "sentence-transformers model: local folder or name (default: offline all-MiniLM-L6-v2)", group="encoding"
    )
    device: str | None = _f(None, "torch device (default: cuda if available, else cpu)", group="encoding")
    batch_size: int = _f(64, "texts per encoding batch", group="encoding")
    max_seq_length: int | None = _f(None, "truncate texts to this many tokens (default: the model's)", group="encoding")
    query_prompt: str | None = _f(None, "text prepended to every query, e.g. 'query: '", group="encoding")
    document_prompt: str | None = _f(None, "text prepended to every document, e.g. 'passage: '", group="encoding")
    precision: str = _f(
        "float32",
        "encoding arithmetic: 'bfloat16' encodes with bfloat16 weights (hardneg.precision; faster on CPUs with AVX-512 BF16; "
        "cached separately from float32 vectors)",
        choices=PRECISIONS,
        group="encoding",
    )
    cache_dir: str | None = _f(None, "embedding cache folder (default: $HARDNEG_CACHE or ~/.cache/hardneg)", group="encoding")
    use_cache: bool = _f(True, "reuse and store embeddings keyed by the model's weights", group="encoding")
    trust_remote_code: bool = _f(False, "allow model code from the model folder to run", group="encoding")
    show_progress: bool = _f(True, "progress bars", group="output")

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, got {self.precision!r}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_seq_length is not None and self.max_seq_length < 1:
            raise ConfigError(f"max_seq_length must be >= 1, got {self.max_seq_length}")

    def encoding_dict(self) -> dict[str, Any]:
        """Only the encoding fields (to build another options object from a larger config)."""
        import dataclasses

        return {f.name: getattr(self, f.name) for f in dataclasses.fields(EncodingOptions)}


class DenseRetriever:
    """One model's encoder and exact cosine search.

    Args:
        model: a loaded ``SentenceTransformer`` (its current weights are what is encoded).
        options: encoding settings; ``options.model`` only names the model in manifests.
        fingerprint: the weights' fingerprint; computed when not given. Pass a fresh one after
            the weights change (a training step), or the cache returns the old vectors.
    """

    def __init__(self, model: Any, options: EncodingOptions, *, fingerprint: str | None = None):
        self.model = model
        self.options = options
        self.fingerprint = fingerprint or fingerprint_model(model)
        cache = Path(options.cache_dir) if options.cache_dir else default_cache_dir()
        # The encoder's precision is part of its cache key: bfloat16 vectors never answer for float32 ones.
        self.encoder = Encoder(
            model,
            self.fingerprint,
            precision=ENCODER_PRECISION[options.precision],
            batch_size=options.batch_size,
            query_prompt=options.query_prompt,
            document_prompt=options.document_prompt,
            cache_dir=cache if options.use_cache else None,
            show_progress=options.show_progress,
        )

    @classmethod
    def load(cls, options: EncodingOptions) -> DenseRetriever:
        """Load ``options.model`` (default: the offline all-MiniLM-L6-v2)."""
        model = load_model(
            options.model,
            device=options.device,
            max_seq_length=options.max_seq_length,
            trust_remote_code=options.trust_remote_code,
        )
        return cls(model, options)

    @property
    def info(self) -> dict[str, Any]:
        """What identifies the vectors, for manifests."""
        return {
            "model": resolve_model_name(self.options.model),
            "fingerprint": self.fingerprint,
            "max_seq_length": self.model.max_seq_length,
            "query_prompt": self.options.query_prompt,
            "document_prompt": self.options.document_prompt,
            "precision": self.options.precision,
        }

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts, "query").to_array()

    def encode_documents(self, texts: list[str]) -> Embeddings:
        return self.encoder.encode(texts, "document")

    def search(self, query_embeddings: np.ndarray, documents: Embeddings, k: int) -> Candidates:
        """Exact top-``k`` by cosine for every query row."""
        return DenseSearch(query_embeddings, documents).search(np.arange(len(query_embeddings)), k)

    def scorer(self, query_embeddings: np.ndarray, documents: Embeddings) -> DenseScorer:
        return DenseScorer(query_embeddings, documents)
