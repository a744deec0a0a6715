"""``hardneg.mine``: the public entry point of mining (``hardneg mine`` calls it with the same parameters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hardneg.encoding.precomputed import PrecomputedEmbeddings
from hardneg.mining.presets import make_config
from hardneg.mining.run import Miner, MineResult


def mine(
    data: str | Path = "demo",
    out: str | Path | None = None,
    *,
    preset: str | None = None,
    embeddings: PrecomputedEmbeddings | None = None,
    **params: Any,
) -> MineResult:
    """Mine hard negatives for the (query, positive) pairs of ``data``.

    Args:
        data: ``"demo"``, a BEIR folder or a pair file.
        out: ``FILE.parquet``, ``FILE.jsonl`` or a folder (Hugging Face dataset). ``None`` returns
            the rows in :attr:`MineResult.table`.
        preset: a named method from :data:`hardneg.mining.presets.PRESETS` (default ``"default"``).
        embeddings: vectors made elsewhere (:class:`~hardneg.encoding.precomputed.PrecomputedEmbeddings`);
            no model is loaded.
        **params: any :class:`~hardneg.mining.config.MineConfig` field; overrides the preset.

    Example:
        >>> result = hardneg.mine("demo", "train.parquet", preset="nv-retriever", seed=1)
        >>> result.summary["queries_short"]
        0
    """
    config = make_config(preset, data=str(data), out=None if out is None else str(out), **params)
    miner = Miner(config, embeddings=embeddings)
    result = miner.run()
    if config.audit:
        from hardneg.defence.audit import audit_config

        result.record("audit", audit_config(config, miner.batch_miner.data).to_dict())
    return result
