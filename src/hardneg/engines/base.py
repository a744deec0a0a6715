"""What an engine is given and what it returns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from hardneg.mining.batch import BatchMiner, BatchResult

if TYPE_CHECKING:
    from hardneg.encoding.encode import Embeddings, Encoder

__all__ = ["BatchMiner", "BatchResult", "Engine"]


class Engine(Protocol):
    """Runs the two parallel stages of mining: encoding shards, and mining query batches."""

    def encode(self, encoder: Encoder, texts: Sequence[str], kind: str) -> Embeddings:
        """``encoder.encode(texts, kind)``, with the shards missing from its cache encoded by this engine."""

    def map(self, miner: BatchMiner, n: int, batches: Sequence[np.ndarray]) -> Iterator[BatchResult]:
        """Mine each batch of query indices with ``n`` negatives; yield the results in order."""

    def close(self) -> None:
        """Release what the engine holds (workers, connections)."""
