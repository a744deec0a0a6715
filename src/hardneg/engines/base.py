"""What an engine is given and what it returns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from hardneg.writers import MinedBatch

if TYPE_CHECKING:
    from hardneg.encode import Embeddings, Encoder
    from hardneg.mine import Miner


@dataclass
class BatchResult:
    """What mining one batch of queries produced."""

    mined: MinedBatch
    stats: Any
    """The batch's counters (the miner's statistics type), merged into the run's in order."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Time spent per stage on this batch."""


class Engine(Protocol):
    """Runs the two parallel stages of mining: encoding shards, and mining query batches."""

    def encode(self, encoder: Encoder, texts: Sequence[str], kind: str) -> Embeddings:
        """``encoder.encode(texts, kind)``, with the shards missing from its cache encoded by this engine."""

    def map(self, miner: Miner, n: int, batches: Sequence[np.ndarray]) -> Iterator[BatchResult]:
        """Mine each batch of query indices with ``n`` negatives; yield the results in order."""

    def close(self) -> None:
        """Release what the engine holds (workers, connections)."""
