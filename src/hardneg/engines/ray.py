"""The Ray engine: embedding shards and query batches run as tasks on Ray actors (Moritz et al. 2018, "Ray").

Nothing is reimplemented: to encode a shard an actor calls :meth:`hardneg.encoding.encode.Encoder.encode_texts`
on its texts, to mine a batch it calls :meth:`hardneg.mining.batch.BatchMiner.mine_queries` on its query
indices, exactly what the local engine calls. The driver keeps everything that must be in order or on
disk (the cache, the resume parts, the rows) and takes batch results back in query order (``ActorPool.map``
is ordered), so the output is identical to the local engine's, also when a lost node's work runs again on a
surviving actor. What travels, what a worker needs and what a lost node costs: ``docs/scale.md`` (Ray) and
``docs/reliability.md`` (Interrupted runs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hardneg.engines.base import QueryMiner, Result
from hardneg.errors import ConfigError

if TYPE_CHECKING:
    from hardneg.encoding.encode import Embeddings, Encoder

logger = logging.getLogger(__name__)


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("engine='ray' needs Ray: pip install 'hardneg[ray]'") from exc
    return ray


class _Worker:
    """A Ray actor holding the current stage's state (an encoder or a prepared miner) and running its tasks."""

    def __init__(self):
        self.state: Any = None

    def hold(self, state: Any) -> None:
        self.state = state

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        return self.state.encode_texts(texts, kind)

    def mine(self, queries: np.ndarray, n: int) -> Any:
        return self.state.mine_queries(queries, n)


class RayEngine:
    """Encode shards and mine query batches on Ray actors, one CPU each.

    Args:
        address: a running cluster (``"auto"``, ``"ray://head:10001"``); ``None`` starts a local
            Ray for the run (and stops it after) unless this process is already connected.
        num_cpus: CPUs of that local Ray (default: all of this machine's).
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        self.address, self.num_cpus = address, num_cpus
        self._started = False
        self._actors: list | None = None

    def _connect(self):
        ray = _ray()
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False)
                self._started = True
        return ray

    def _hold(self, state: Any) -> list:
        """The engine's actors (started once, one CPU each), all holding ``state``; actors that are gone are dropped."""
        ray = self._connect()
        if self._actors is None:
            n = max(1, int(ray.cluster_resources().get("CPU", 1)))  # one actor per CPU of the cluster
            self._actors = [ray.remote(num_cpus=1)(_Worker).remote() for _ in range(n)]
        shared = ray.put(state)  # one copy in the object store, read by every actor
        held = {actor: actor.hold.remote(shared) for actor in self._actors}
        for actor, ref in held.items():
            try:
                ray.get(ref)
            except ray.exceptions.RayActorError:
                self._lost(actor, "while receiving its work")
        return self._actors

    def _lost(self, actor, when: str) -> None:
        self._actors.remove(actor)
        if not self._actors:
            raise ConfigError(
                "every Ray worker was lost (their nodes left the cluster); rerun the same command to continue from the saved batches"
            )
        logger.warning("a Ray worker was lost %s (its node left the cluster?); %d remain", when, len(self._actors))

    def _ordered_map(self, state: Any, call: Callable[[Any, Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        """``call(actor, item)`` for every item on the actors holding ``state``, results yielded in item order.

        An item whose actor died, or whose result was lost with its node, runs again on a surviving actor.
        """
        ray = _ray()
        idle = deque(self._hold(state))
        todo = deque(enumerate(items))
        running: dict[Any, tuple[int, Any, Any]] = {}
        done: dict[int, Any] = {}
        following = 0
        while following < len(items):
            while todo and idle:
                index, item = todo.popleft()
                actor = idle.popleft()
                running[call(actor, item)] = (index, item, actor)
            (ref,), _ = ray.wait(list(running), num_returns=1)
            index, item, actor = running.pop(ref)
            try:
                done[index] = ray.get(ref)
                idle.append(actor)
            except ray.exceptions.RayActorError:
                self._lost(actor, f"while running item {index}")
                todo.appendleft((index, item))
            except ray.exceptions.ObjectLostError:  # the actor may live on; if not, its next item says so
                logger.warning("the result of item %d was lost with its node; it runs again", index)
                todo.appendleft((index, item))
                idle.append(actor)
            while following in done:
                yield done.pop(following)
                following += 1

    def encode(self, encoder: Encoder, texts: Sequence[str], kind: str) -> Embeddings:
        def encode_missing(chunks: list[Sequence[str]], kind: str) -> Iterator[np.ndarray]:
            shipped = dataclasses.replace(encoder, show_progress=False)  # converted per worker, on first use
            logger.info("encoding %d %s shards on Ray", len(chunks), kind)
            yield from self._ordered_map(shipped, lambda actor, chunk: actor.encode.remote(list(chunk), kind), chunks)

        return encoder.encode(texts, kind, encode_missing=encode_missing)

    def map(self, miner: QueryMiner[Result], n: int, batches: Sequence[np.ndarray]) -> Iterator[Result]:
        if miner.observers:
            raise ConfigError("engine='ray' cannot call observers of mined batches (the audit uses them); use engine='local'")
        # The batch miner holds the prepared sources and nothing of the run (no model, no engine).
        logger.info("mining %d query batches on Ray", len(batches))
        yield from self._ordered_map(miner, lambda actor, queries: actor.mine.remote(queries, n), batches)

    def close(self) -> None:
        if self._actors:
            ray = _ray()
            for actor in self._actors:
                with contextlib.suppress(Exception):  # an actor whose node is gone
                    ray.kill(actor)
            self._actors = None
        if self._started:
            _ray().shutdown()
            self._started = False
