"""``hardneg.mine``: the public entry point of mining (``hardneg mine`` calls it with the same parameters)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hardneg.data.memory import is_in_memory
from hardneg.data.pairs import pick_column
from hardneg.encoding.model import as_embedder, describe_model
from hardneg.encoding.precomputed import PrecomputedEmbeddings
from hardneg.errors import ConfigError
from hardneg.mining.config import AUTO, make_config
from hardneg.mining.run import Miner, MineResult

logger = logging.getLogger(__name__)


def mine(
    data: Any = "demo",
    out: str | Path | None = None,
    *,
    preset: str | None = None,
    embeddings: PrecomputedEmbeddings | None = None,
    model: Any = None,
    teacher: Any = None,
    corpus: Any = None,
    cache_key: str | None = None,
    **params: Any,
) -> MineResult:
    """Mine hard negatives for the (query, positive) pairs of ``data``.

    Args:
        data: ``"demo"``, a BEIR folder, a pair file, a FlagEmbedding JSONL file, a Hugging Face dataset
            (a ``save_to_disk`` folder, a folder of data files, or a name ``datasets.load_dataset`` can
            load), or in memory: a ``datasets.Dataset``, a ``DatasetDict`` (its ``split``), a dict of
            columns, or a list of ``(anchor, positive)`` tuples.
        out: ``FILE.parquet``, ``FILE.jsonl`` or a folder (Hugging Face dataset). ``None`` returns
            the rows in :attr:`MineResult.table`.
        preset: a named method from :data:`hardneg.mining.config.PRESETS` (default ``"default"``).
        embeddings: vectors made elsewhere (:class:`~hardneg.encoding.precomputed.PrecomputedEmbeddings`);
            no model is loaded.
        model: a model path or name, a loaded ``SentenceTransformer`` (encoded as it is: its
            device, prompts and weights), or any other embedder: an object with ``encode_query`` /
            ``encode_document`` (or ``encode``), or a callable ``texts -> array``
            (:class:`~hardneg.encoding.model.Embedder`).
        teacher: a teacher path (comma-separated: an ensemble), or a loaded one-output ``CrossEncoder``.
        corpus: extra negative candidates for pair data: a corpus file or a list of texts.
        cache_key: for an embedder whose weights hardneg cannot read (not a ``SentenceTransformer``): the
            name its vectors are cached under, changed whenever they change; without it nothing is cached.
        **params: any :class:`~hardneg.mining.config.MineConfig` field; overrides the preset.

    Example:
        >>> result = hardneg.mine("demo", "train.parquet", preset="nv-retriever", seed=1)
        >>> result.summary["queries_short"]
        0
        >>> from datasets import Dataset
        >>> from sentence_transformers import SentenceTransformer
        >>> pairs = Dataset.from_dict({"query": [...], "answer": [...]})
        >>> hardneg.mine(pairs, model=SentenceTransformer("path/to/model"), corpus=more_texts).to_dataset()
    """
    model_object = None if model is None or isinstance(model, str | Path) else as_embedder(model, cache_key)
    teacher_object = None if teacher is None or isinstance(teacher, str | Path) else teacher
    memory_corpus = corpus is not None and not isinstance(corpus, str | Path)
    labels: dict[str, Any] = {
        "data": f"<in-memory {type(data).__name__}>" if is_in_memory(data) else str(data),
        "model": describe_model(model_object) if model_object is not None else (None if model is None else str(model)),
        "corpus": f"<{len(corpus)} texts in memory>" if memory_corpus else (None if corpus is None else str(corpus)),
    }
    if teacher is not None:
        labels["teacher"] = describe_model(teacher_object) if teacher_object is not None else str(teacher)
    config = make_config(preset, out=None if out is None else str(out), **labels, **params)
    if model_object is not None and (config.audit or config.engine != "local"):
        raise ConfigError("a model passed as an object works with engine='local' and without audit; pass its path instead")
    loaded = None
    if is_in_memory(data):
        _say_renamed(data, config.split, config.anchor_column, config.positive_column)
    if is_in_memory(data) or memory_corpus or teacher_object is not None:
        loaded = config.load_data(data=data, corpus=corpus)
    built_teacher = None
    if teacher_object is not None:  # a loaded CrossEncoder, wrapped by the one teacher factory
        from hardneg.teachers import build_teacher

        built_teacher = build_teacher(
            [teacher_object],
            ["cross-encoder"],
            loaded,
            activation=config.teacher_activation,
            batch_size=config.teacher_batch_size,
            show_progress=config.show_progress,
            bf16=config.teacher_bf16,
        )
    tuning = None
    if loaded is None and (config.preset == AUTO or config.audit):  # read again after mining: loaded once, here
        loaded = config.load_data()
    if config.preset == AUTO:  # the filters are chosen on this data, by the audit (hardneg.drivers.tune)
        from hardneg.drivers.tune import resolve

        config, tuning = resolve(config, loaded, given=params, teacher=built_teacher, embeddings=embeddings, model=model_object)
    encoded_by = tuning.miner if tuning is not None else None
    miner = Miner(config, embeddings=embeddings, model=model_object, teacher=built_teacher, encoded_by=encoded_by)
    result = miner.run(loaded)
    if tuning is not None:
        result.record("tuning", tuning.to_dict())
    if config.audit:
        from hardneg.drivers.audit import audit_config

        result.record("audit", audit_config(config, loaded).to_dict())
    return result


def _say_renamed(data: Any, split: str, anchor_column: str | None, positive_column: str | None) -> None:
    """Rows call the pair columns ``anchor`` and ``positive``: a caller whose table names them otherwise is told."""
    columns = getattr(data, "column_names", None) or (list(data) if isinstance(data, Mapping) else None)
    if isinstance(columns, Mapping):  # a DatasetDict: its split's columns
        columns = columns.get(split)
    if not columns or len(columns) < 2:
        return  # loading names the problem
    names = tuple(
        pick_column(list(columns), wanted, position, role, Path("dataset"))
        for wanted, position, role in ((anchor_column, 0, "anchor"), (positive_column, 1, "positive"))
    )
    if names != ("anchor", "positive"):
        logger.warning(
            "column %r of the data is the anchor and %r the positive; the mined rows name them 'anchor' and 'positive' "
            "(hardneg.mine_hard_negatives keeps the data's names)",
            *names,
        )
