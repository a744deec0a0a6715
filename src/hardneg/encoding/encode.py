"""Encoding texts into normalised embeddings, in shards, with an on-disk cache.

Every shard (``shard_size`` texts) is saved as a ``.npy`` file named by a hash of the model's weight
fingerprint, the prompt, the maximum sequence length and the shard's texts, then memory-mapped; its SHA-256
is kept beside it (``KEY.npy.sha256``) and checked before use, and a damaged shard is encoded again, never
used silently. What the cache gives the user: ``docs/mining.md`` (Encoding and the cache); the cost of the
check: ``docs/reliability.md``.

Queries are encoded with ``task="query"`` and documents with ``task="document"``, as sentence-transformers'
``encode_query`` / ``encode_document`` encode them: a model with a ``Router`` module (a query path and a
document path) takes each through its own path. Such a model's shard names say so (vectors cached
before the task was passed came through its default path and are not reused); for any other model
the task changes neither the vectors nor the shard names.
"""

from __future__ import annotations

import hashlib
import logging
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from hardneg.encoding.deferred import DeferredModel
from hardneg.encoding.model import routes_by_task, task_argument
from hardneg.encoding.precision import encode_normalised, model_for_precision
from hardneg.io import atomic_path, disk_full, verify_checksum

logger = logging.getLogger(__name__)

Kind = Literal["query", "document"]
EncodeMissing = Callable[[list[Sequence[str]], Kind], Iterable[np.ndarray]]


@dataclass
class Embeddings:
    """Row-normalised float32 embeddings stored as consecutive shards (arrays or memory maps)."""

    shards: list[np.ndarray]
    keys: list[str] = field(default_factory=list)
    """Cache key of each shard (what the vectors were made from), when known: names derived files."""

    def __post_init__(self) -> None:
        self.offsets = np.cumsum([0] + [len(s) for s in self.shards])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @property
    def dim(self) -> int:
        return int(self.shards[0].shape[1]) if self.shards else 0

    def iter_shards(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(offset, shard)`` pairs in order."""
        for offset, shard in zip(self.offsets[:-1], self.shards):
            yield int(offset), shard

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Gather rows by global index (any shape); negative indices give zero rows."""
        indices = np.asarray(indices)
        flat = indices.reshape(-1)
        out = np.zeros((flat.size, self.dim), dtype=np.float32)
        valid = flat >= 0
        shard_of = np.searchsorted(self.offsets, flat, side="right") - 1
        for s, (offset, shard) in enumerate(self.iter_shards()):
            sel = np.nonzero(valid & (shard_of == s))[0]
            if sel.size:
                out[sel] = shard[flat[sel] - offset]
        return out.reshape(*indices.shape, self.dim)

    def to_array(self) -> np.ndarray:
        return np.concatenate([np.asarray(s) for s in self.shards]) if self.shards else np.zeros((0, 0), np.float32)


@dataclass
class EncodeStats:
    encoded: int = 0
    cached: int = 0
    seconds: float = 0.0
    prepare_seconds: float = 0.0
    """Of ``seconds``, the time spent making the model ready: cast to the precision, or exported and compiled."""


@dataclass
class Encoder:
    """Encode queries and documents with one sentence-transformers model.

    Args:
        model: a loaded ``SentenceTransformer``, or a :class:`~hardneg.encoding.deferred.DeferredModel`
            (loaded only when a text is missing from the cache).
        fingerprint: the model's weight fingerprint (:func:`hardneg.encoding.model.fingerprint_model`).
        query_prompt / document_prompt: strings prepended to queries / documents (e.g. ``"query: "``).
        cache_dir: where embedding shards are kept; ``None`` keeps them in memory only.
        shard_size: texts per shard: the unit of caching and of resuming.
        precision: ``"float32"``, ``"bf16"`` or ``"int8"`` (:mod:`hardneg.encoding.precision`); part of the cache key.
        backend: ``"torch"``, ``"onnx"`` or ``"openvino"`` (:mod:`hardneg.encoding.backends`); part of the cache
            key (``torch`` adds nothing, so vectors cached before backends existed stay valid).
        export_dir: the cache folder exported models are kept in (``None``: a temporary folder per encoder).
        processes: encode each shard in this many processes on this machine (:mod:`hardneg.encoding.processes`).
        devices: the device of each of those processes (``("cuda:0", "cuda:1")``); ``None``: CPU threads split, or
            with the model on CUDA one GPU each. Not part of the cache key: every device gives the same vectors.
    """

    model: object
    fingerprint: str
    batch_size: int = 64
    query_prompt: str | None = None
    document_prompt: str | None = None
    cache_dir: Path | None = None
    shard_size: int = 50_000
    show_progress: bool = True
    stats: EncodeStats = field(default_factory=EncodeStats)
    precision: str = "float32"
    backend: str = "torch"
    export_dir: Path | None = None
    processes: int = 1
    devices: tuple[str, ...] | None = None
    _prepared: object = field(default=None, init=False, repr=False)
    _pool: object = field(default=None, init=False, repr=False)

    def _prompt(self, kind: Kind) -> str | None:
        return self.query_prompt if kind == "query" else self.document_prompt

    def _shard_key(self, texts: Sequence[str], kind: Kind) -> str:
        h = hashlib.blake2b(digest_size=16)
        settings = f"{self.fingerprint}|{kind}|{self._prompt(kind)!r}|{self.model.max_seq_length}|{self.precision}|normalized"
        if self.backend != "torch":
            settings += f"|{self.backend}"
        if routes_by_task(self.model):  # the kind above picked the model's path
            settings += "|task"
        h.update(settings.encode())
        for text in texts:
            h.update(len(text).to_bytes(8, "little"))
            h.update(text.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def loaded_model(self) -> object:
        """The model, loaded now if it was deferred."""
        if isinstance(self.model, DeferredModel):
            self.model = self.model.get()
        return self.model

    def prepare(self) -> object:
        """The model as it encodes: converted to the precision, or exported to the backend (once, on first use)."""
        if self._prepared is None:  # a run served from the cache never loads, converts nor exports
            start = time.perf_counter()
            model = self.loaded_model()
            if self.backend == "torch":
                self._prepared = model_for_precision(model, self.precision)
            else:
                from hardneg.encoding.backends import ExportedEncoder
                from hardneg.encoding.model import fingerprint_model

                # named by the weights themselves: an encoder told a stand-in fingerprint (a model in training) is safe
                weights = fingerprint_model(model)
                self._prepared = ExportedEncoder(model, self.backend, self.precision, weights, self.export_dir)
            self.stats.prepare_seconds += time.perf_counter() - start
        return self._prepared

    def encode_texts(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        """Encode ``texts`` now, without the cache: the body of one shard, wherever it runs."""
        if (self.processes > 1 or self.devices) and len(texts) > self.batch_size:
            if self._pool is None:  # started on first use, shut down with the encoder
                from hardneg.encoding.processes import ProcessPool

                self._pool = ProcessPool(self, self.processes, self.devices)
                weakref.finalize(self, self._pool.close)
            return self._pool.encode(texts, kind, self.batch_size)
        prepared = self.prepare()
        kwargs = {"batch_size": self.batch_size, "prompt": self._prompt(kind), "show_progress_bar": self.show_progress}
        kwargs.update(task_argument(self.model, kind))
        if self.backend != "torch":
            return prepared.encode(texts, **kwargs)
        return encode_normalised(prepared, texts, self.precision, **kwargs)

    def _cached(self, key: str, n: int) -> np.ndarray | None:
        if self.cache_dir is None:
            return None
        path = Path(self.cache_dir) / "embeddings" / f"{key}.npy"
        if path.is_file() and verify_checksum(path):
            try:
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
                if arr.shape[0] == n:
                    return arr
            except (ValueError, OSError):
                pass
            logger.warning("ignoring unreadable cache file %s", path)
        return None

    def _store(self, key: str, emb: np.ndarray) -> np.ndarray:
        if self.cache_dir is None:
            return emb
        path = Path(self.cache_dir) / "embeddings" / f"{key}.npy"
        try:
            with atomic_path(path, checksum=True) as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, np.ascontiguousarray(emb, dtype=np.float32), allow_pickle=False)
        except OSError as exc:
            full = disk_full(exc)
            if full is None:
                raise
            # the cache is where a cold run first writes much, so it is where a full disk shows first: say
            # which disk, that nothing is lost, and the ways on
            raise OSError(
                full.errno,
                f"the disk of the embedding cache is full while caching {len(emb):,} embeddings "
                f"({full.strerror.split(' while ')[0]}); nothing was lost: the partial file was removed, the embeddings cached "
                "before are intact. Free space there, point --cache-dir (or "
                "$HARDNEG_CACHE) at another disk, or pass --no-use-cache",
                str(path.parent),
            ) from exc
        return np.load(path, mmap_mode="r", allow_pickle=False)

    def encode(self, texts: Sequence[str], kind: Kind, *, encode_missing: EncodeMissing | None = None) -> Embeddings:
        """Embeddings of ``texts`` (queries or documents), reusing and filling the cache.

        ``encode_missing(chunks, kind)`` encodes the shards not in the cache and yields their arrays
        in order; each is stored as soon as it arrives. By default they are encoded here one after
        the other; an engine passes its own to spread them over workers.
        """
        start = time.perf_counter()
        n_shards = max(1, -(-len(texts) // self.shard_size))
        chunks = [texts[s * self.shard_size : (s + 1) * self.shard_size] for s in range(n_shards)]
        keys = [self._shard_key(chunk, kind) for chunk in chunks]
        shards = [self._cached(key, len(chunk)) for key, chunk in zip(keys, chunks)]
        missing = [s for s, shard in enumerate(shards) if shard is None]
        self.stats.cached += sum(len(chunks[s]) for s in range(n_shards) if shards[s] is not None)
        if missing:
            compute = encode_missing or self._encode_here
            for s, emb in zip(missing, compute([chunks[s] for s in missing], kind)):
                if len(emb) != len(chunks[s]):
                    raise RuntimeError(f"{kind} shard {s}: {len(emb)} embeddings for {len(chunks[s])} texts")
                shards[s] = self._store(keys[s], emb)
                self.stats.encoded += len(chunks[s])
        self.stats.seconds += time.perf_counter() - start
        return Embeddings(shards, keys if self.fingerprint else [])  # no fingerprint: nothing may be named after it

    def _encode_here(self, chunks: list[Sequence[str]], kind: Kind) -> Iterator[np.ndarray]:
        for i, chunk in enumerate(chunks):
            if self.show_progress:
                logger.info("%s shard %d/%d to encode: %d texts", kind, i + 1, len(chunks), len(chunk))
            yield self.encode_texts(chunk, kind)
