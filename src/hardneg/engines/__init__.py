"""Engines run the mining of query batches: in this process, or as tasks on a Ray cluster.

Every engine calls the same :meth:`hardneg.mining.batch.BatchMiner.mine_queries` for each batch and hands
the results back in batch order, so the rows written do not depend on the engine.
"""

from __future__ import annotations

from hardneg.engines.base import Engine, LocalEngine, QueryMiner

__all__ = ["Engine", "LocalEngine", "QueryMiner", "make_engine"]


def make_engine(name: str, **options) -> Engine:
    """The engine called ``name`` (``"local"`` or ``"ray"``); ``options`` go to its constructor."""
    if name == "local":
        return LocalEngine()
    if name == "ray":
        from hardneg.engines.ray import RayEngine

        return RayEngine(**options)
    raise ValueError(f"engine must be 'local' or 'ray', got {name!r}")
