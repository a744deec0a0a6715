"""Mining with embeddings made elsewhere: another encoder, another machine, or a benchmark's synthetic vectors.

Pass a :class:`PrecomputedEmbeddings` to :func:`hardneg.mining.run` (or :class:`hardneg.mining.run.Miner`)
and no model is loaded: dense search, the scores filters use, and the recall check of an
approximate index all read these vectors. Rows ``i`` must belong to query ``i`` and document
``i`` of the data, in the order the data loader reads them.

    >>> emb = PrecomputedEmbeddings.from_folder("vectors/")   # vectors/queries/*.npy, vectors/documents/*.npy
    >>> hardneg.mine("my-beir-folder", "train.parquet", embeddings=emb)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hardneg.encoding.encode import Embeddings
from hardneg.errors import ConfigError


def _file_key(path: Path) -> str:
    stat = path.stat()
    return hashlib.blake2b(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode(), digest_size=16).hexdigest()


def _content_key(array: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(array).tobytes(), digest_size=16).hexdigest()


def _as_embeddings(value: np.ndarray | Embeddings) -> Embeddings:
    if isinstance(value, Embeddings):
        return value if value.keys else Embeddings(value.shards, [_content_key(s) for s in value.shards])
    array = np.asarray(value, dtype=np.float32)
    return Embeddings([array], [_content_key(array)])


@dataclass
class PrecomputedEmbeddings:
    """Normalised float32 query and document embeddings, as arrays or :class:`~hardneg.encoding.encode.Embeddings` shards.

    Args:
        queries: one row per query, in the data's query order.
        documents: one row per corpus document, in the corpus order.
        name: what made them, recorded in the manifest in place of a model name.
    """

    queries: np.ndarray | Embeddings
    documents: np.ndarray | Embeddings
    name: str = "precomputed"

    def __post_init__(self) -> None:
        self.queries = _as_embeddings(self.queries)
        self.documents = _as_embeddings(self.documents)
        if self.queries.dim != self.documents.dim:
            raise ConfigError(f"query embeddings have {self.queries.dim} dimensions, document embeddings {self.documents.dim}")

    @classmethod
    def from_folder(cls, folder: str | Path, name: str | None = None) -> PrecomputedEmbeddings:
        """``folder/queries/*.npy`` and ``folder/documents/*.npy`` (shards in name order), memory-mapped."""
        folder = Path(folder)
        parts = {}
        for kind in ("queries", "documents"):
            files = sorted((folder / kind).glob("*.npy"))
            if not files:
                raise ConfigError(f"no .npy shards in {folder / kind}")
            shards = [np.load(f, mmap_mode="r", allow_pickle=False) for f in files]
            for f, s in zip(files, shards):
                if s.ndim != 2 or s.dtype != np.float32:
                    raise ConfigError(f"{f}: expected a 2-d float32 array, got shape {s.shape} and dtype {s.dtype}")
            parts[kind] = Embeddings(shards, [_file_key(f) for f in files])
        return cls(parts["queries"], parts["documents"], name=name or str(folder))

    def check(self, n_queries: int, n_documents: int) -> None:
        """Raise unless there is one row per query and per document of the data."""
        if len(self.queries) != n_queries or len(self.documents) != n_documents:
            raise ConfigError(
                f"embeddings have {len(self.queries)} queries and {len(self.documents)} documents, "
                f"the data has {n_queries} queries and {n_documents} documents"
            )

    def model_info(self) -> dict[str, Any]:
        """What the manifest records in place of a model: the name and a hash of the shards' keys."""
        h = hashlib.blake2b(digest_size=16)
        for key in self.queries.keys + ["|"] + self.documents.keys:
            h.update(key.encode())
        return {"model": self.name, "fingerprint": h.hexdigest(), "precomputed": True}
