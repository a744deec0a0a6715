"""A bi-encoder ready to retrieve: load a model, encode through the cache, search exactly.

Evaluation, training diagnostics, the co-evolution loop and the candidate-pool refresh all need
the same three steps on a (possibly freshly trained) model; :class:`DenseRetriever` is that one
place. Encoding goes through :class:`~hardneg.encoding.encode.Encoder`, so a checkpoint's corpus vectors
are computed once and reused by every later stage that asks for the same weights.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import numpy as np

from hardneg.candidates.base import Candidates
from hardneg.candidates.dense import DenseSearch
from hardneg.encoding.defaults import EncodingChoice, choose
from hardneg.encoding.deferred import DeferredModel, device_type, open_model
from hardneg.encoding.encode import Embeddings, Encoder
from hardneg.encoding.model import Embedder, fingerprint_model, resolve_model_name
from hardneg.errors import ConfigError
from hardneg.options import EncodingOptions

logger = logging.getLogger(__name__)


def can_export(model: Any) -> bool:
    """Whether the exported backends can run ``model``: recorded for a model not loaded yet, else checked."""
    if isinstance(model, DeferredModel):
        return model.exportable
    from hardneg.encoding.backends import exportable

    return exportable(model)


class DenseRetriever:
    """One model's encoder and exact cosine search.

    Args:
        model: a loaded ``SentenceTransformer`` (its current weights are what is encoded), or a
            :class:`~hardneg.encoding.deferred.DeferredModel` with its fingerprint.
        options: encoding settings; ``options.model`` only names the model in manifests.
        fingerprint: the weights' fingerprint; computed when not given. Pass a fresh one after
            the weights change (a training step), or the cache returns the old vectors.
    """

    def __init__(
        self,
        model: Any,
        options: EncodingOptions,
        *,
        fingerprint: str | None = None,
        shard_size: int = 50_000,
        export_by_default: bool = False,
    ):
        self.model = model
        self.options = options
        self.fingerprint = fingerprint or fingerprint_model(model)
        if isinstance(model, Embedder):  # encoded as it is: no torch model to cast, export or ship to processes
            self.choice = _embedder_choice(options)
        else:
            # the path: the options given, else the default measured for this device (hardneg.encoding.defaults);
            # an exported backend only for a model loaded from its files for this run, and one it can export
            exportable = functools.partial(can_export, model) if export_by_default else False
            self.choice = choose(options.backend, options.precision, functools.partial(device_type, model), exportable)
        cache_dir = options.embedding_cache if self.fingerprint else None
        if cache_dir is None and options.embedding_cache is not None:
            logger.warning(
                "the embedding cache is off for this run: the embedder has no weights to fingerprint; pass cache_key= "
                "(a name that changes whenever its vectors do) to cache its vectors"
            )
        # The encoder's precision and backend are part of its cache key: bfloat16 vectors never answer for float32 ones.
        self.encoder = Encoder(
            model,
            self.fingerprint,
            precision=self.choice.precision,
            backend=self.choice.backend,
            export_dir=options.embedding_cache,
            processes=options.encode_processes,
            devices=options.devices,
            batch_size=options.batch_size,
            query_prompt=options.query_prompt,
            document_prompt=options.document_prompt,
            cache_dir=cache_dir,
            shard_size=shard_size,
            show_progress=options.show_progress,
        )

    @classmethod
    def load(cls, options: EncodingOptions, *, shard_size: int = 50_000) -> DenseRetriever:
        """Load ``options.model`` (default: the offline all-MiniLM-L6-v2).

        With the embedding cache on, a model folder loaded before is not loaded now: its fingerprint is
        looked up by its files, and the model loads only when a text is missing from the cache
        (:mod:`hardneg.encoding.deferred`).
        """
        model, fingerprint = open_model(options, options.embedding_cache)
        return cls(model, options, fingerprint=fingerprint, shard_size=shard_size, export_by_default=True)

    @property
    def info(self) -> dict[str, Any]:
        """What identifies the vectors, for manifests."""
        return {
            "model": resolve_model_name(self.options.model),
            "fingerprint": self.fingerprint,
            "max_seq_length": self.model.max_seq_length,
            "query_prompt": self.options.query_prompt,
            "document_prompt": self.options.document_prompt,
            **self.choice.info(),  # precision, backend and why
        }

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts, "query").to_array()

    def encode_documents(self, texts: list[str]) -> Embeddings:
        return self.encoder.encode(texts, "document")

    def search(self, query_embeddings: np.ndarray, documents: Embeddings, k: int) -> Candidates:
        """Exact top-``k`` by cosine for every query row."""
        return DenseSearch(query_embeddings, documents).search(np.arange(len(query_embeddings)), k)


def _embedder_choice(options: EncodingOptions) -> EncodingChoice:
    """float32 through the embedder itself: the only path an :class:`Embedder` has (another asked for is an error)."""
    if options.backend not in (None, "torch") or options.precision not in (None, "float32"):
        raise ConfigError(
            f"backend={options.backend!r}, precision={options.precision!r}: an embedder that is not a SentenceTransformer "
            "encodes as it is (float32); leave backend and precision unset"
        )
    if options.encode_processes > 1 or options.devices:
        raise ConfigError(
            "encode_processes / encode_devices (use_multi_process) start copies of a SentenceTransformer; "
            "an embedder that is not one encodes in this process"
        )
    return EncodingChoice("torch", "float32", "an embedder that is not a SentenceTransformer: encoded as it is")
