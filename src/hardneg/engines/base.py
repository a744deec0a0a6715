"""What an engine is given and what it returns, and the local engine.

An engine knows a batch miner only by the one method it calls (:class:`QueryMiner`), so engines import nothing of
mining: the miner imports the engines, never the other way round."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

if TYPE_CHECKING:
    from hardneg.encoding.encode import Embeddings, Encoder

__all__ = ["Engine", "LocalEngine", "QueryMiner"]

Result = TypeVar("Result", covariant=True)


class QueryMiner(Protocol[Result]):
    """What an engine runs for each batch (:class:`hardneg.mining.batch.BatchMiner` is one)."""

    observers: Sequence[Any]
    """Callbacks of each mined batch; an engine that runs batches elsewhere cannot call them, and refuses."""

    def mine_queries(self, queries: np.ndarray, n: int) -> Result:
        """Mine the queries at ``queries`` with ``n`` negatives each."""


class Engine(Protocol):
    """Runs the two parallel stages of mining: encoding shards, and mining query batches."""

    def encode(self, encoder: Encoder, texts: Sequence[str], kind: str) -> Embeddings:
        """``encoder.encode(texts, kind)``, with the shards missing from its cache encoded by this engine."""

    def map(self, miner: QueryMiner[Result], n: int, batches: Sequence[np.ndarray]) -> Iterator[Result]:
        """Mine each batch of query indices with ``n`` negatives; yield the results in order."""

    def close(self) -> None:
        """Release what the engine holds (workers, connections)."""


class LocalEngine:
    """The local engine: shards are encoded and batches mined one after the other, in this process."""

    name = "local"

    def encode(self, encoder: Encoder, texts: Sequence[str], kind: str) -> Embeddings:
        return encoder.encode(texts, kind)

    def map(self, miner: QueryMiner[Result], n: int, batches: Sequence[np.ndarray]) -> Iterator[Result]:
        for queries in batches:
            yield miner.mine_queries(queries, n)

    def close(self) -> None:
        pass
