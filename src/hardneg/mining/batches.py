"""The query batches of a mining run, in order: reused from a killed run's parts or mined by an engine.

:class:`MinedBatches` is what :meth:`hardneg.mining.run.Miner.run` iterates over. It splits the queries
into batches of ``query_chunk_size``, looks up which batches a previous run with the same key
already finished (:mod:`hardneg.mining.resume`), has the engine mine the others, and yields every
batch's :class:`~hardneg.mined.MinedBatch` in query order while adding its counters and
timings to the run's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hardneg.engines import Engine
from hardneg.mined import MinedBatch
from hardneg.mining.batch import BatchMiner, Timer
from hardneg.mining.resume import PartStore, merge_into, run_key


class RunOptions(Protocol):
    """What the batches read of the run's options: the batch size, and where and whether to keep finished batches."""

    query_chunk_size: int
    out: str | None
    resume: bool

    @property
    def cache_root(self) -> Path: ...

    def to_dict(self) -> dict[str, Any]: ...


class MiningRun(Protocol):
    """What the batches read of the run around them (:class:`~hardneg.mining.run.Miner` is one)."""

    config: RunOptions
    batch_miner: BatchMiner
    model_info: dict[str, Any] | None
    timer: Timer


class MinedBatches:
    """Iterate over the mined batches of ``miner``'s run; call :meth:`finish` once the output is written.

    Args:
        miner: the run (a :class:`~hardneg.mining.run.Miner`) whose batch miner is built.
        n: negatives per query.
        stats: the run's statistics; each batch's are merged into it in order.
        engine: runs the batches that are not already done.
        inputs: the data's inputs (:attr:`~hardneg.data.RetrievalData.inputs`), part of the key a resumed run is
            found by.
    """

    def __init__(self, miner: MiningRun, n: int, stats: Any, engine: Engine, *, inputs: dict[str, Any]):
        c = miner.config
        n_queries = len(miner.batch_miner.tables.query_ids)
        self.miner, self.n, self.stats = miner, n, stats
        self.batches = [np.arange(b, min(b + c.query_chunk_size, n_queries)) for b in range(0, n_queries, c.query_chunk_size)]
        self.engine = engine
        self.store: PartStore | None = None
        self.done: set[int] = set()
        self.reused = 0
        if c.out and c.resume:
            from hardneg._version import __version__

            key = run_key(c.to_dict(), inputs=inputs, model=miner.model_info, code=__version__)
            self.store = PartStore(c.cache_root / "runs", c.out, key)
            # Before the writer opens its temporary file: a killed run's leftovers are removed here.
            self.done = self.store.open()

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[MinedBatch]:
        done = self.done
        todo = [self.batches[i] for i in range(len(self.batches)) if i not in done]
        computed = self.engine.map(self.miner.batch_miner, self.n, todo) if todo else iter(())
        stats_type = type(self.stats)
        try:
            for i in range(len(self.batches)):
                if i in done:
                    part = self.store.load(i, mined=MinedBatch, stats=stats_type)
                    mined, stats = part["mined"], part["stats"]
                    self.reused += 1
                else:
                    result = next(computed)
                    mined, stats = result.mined, result.stats
                    for stage, seconds in result.seconds.items():
                        self.miner.timer.seconds[stage] = self.miner.timer.seconds.get(stage, 0.0) + seconds
                    if self.store:
                        self.store.save(i, mined=mined, stats=stats)
                merge_into(self.stats, stats)
                yield mined
        finally:
            self.engine.close()

    def finish(self) -> None:
        """The output is complete: the parts are no longer needed."""
        if self.store:
            self.store.remove()
