"""The local engine: shards are encoded and batches mined one after the other, in this process."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from hardneg.engines.base import QueryMiner, Result

if TYPE_CHECKING:
    from hardneg.encoding.encode import Embeddings, Encoder


class LocalEngine:
    name = "local"

    def encode(self, encoder: Encoder, texts: Sequence[str], kind: str) -> Embeddings:
        return encoder.encode(texts, kind)

    def map(self, miner: QueryMiner[Result], n: int, batches: Sequence[np.ndarray]) -> Iterator[Result]:
        for queries in batches:
            yield miner.mine_queries(queries, n)

    def close(self) -> None:
        pass
