"""``hardneg eval`` and :func:`hardneg.evaluate`: load a BEIR split and a model, score it with the measures of
:mod:`hardneg.diagnostics.evaluate`, and write the optional JSON with its manifest."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardneg.candidates.retriever import DenseRetriever
from hardneg.data import load_data
from hardneg.diagnostics.evaluate import EvalResult, evaluate_retriever
from hardneg.errors import ConfigError
from hardneg.io import write_json_atomic
from hardneg.options import EncodingOptions
from hardneg.options import option as _f
from hardneg.outputs import OutputGuard, build_manifest, manifest_path_for


@dataclass
class EvalConfig(EncodingOptions):
    """Every parameter of ``hardneg eval``."""

    data: str = _f("demo", "'demo', a BEIR folder, or a pair file", group="data")
    split: str = _f("test", "qrels split of a BEIR folder", group="data")
    ignore_identical_ids: bool = _f(True, "drop a retrieved document whose id equals the query id (as BEIR does)", group="data")
    out: str | None = _f(
        None, "also write the metrics (and per-query nDCG@10) to this JSON file, with a manifest", group="output"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.precision is None and self.backend is None:
            # a score describes the model, so it is not left to the device: float32 unless asked otherwise
            self.precision = "float32"
        if not self.split:
            raise ConfigError("split must be a non-empty qrels name such as 'test'")


def evaluate(data: str | Path = "demo", *, split: str = "test", **params: Any) -> EvalResult:
    """Evaluate a model (``model=``; default all-MiniLM-L6-v2) on a BEIR folder's ``split``.

    Example:
        >>> hardneg.evaluate("../shared/data/scifact", split="test").metrics["ndcg@10"]
        0.645...
    """
    return evaluate_config(EvalConfig(data=str(data), split=split, **params))


def evaluate_config(c: EvalConfig) -> EvalResult:
    """Run one :class:`EvalConfig`: load data and model, score, and write the optional JSON; an ``out`` is checked,
    locked and claimed first (:class:`~hardneg.outputs.OutputGuard`)."""
    inputs = [p for p in (c.data, c.model) if p and p != "demo" and Path(p).exists()] if c.out else []
    with OutputGuard(c.out, "eval", inputs=inputs) if c.out else contextlib.nullcontext():
        data = load_data(c.data, split=c.split, absent_documents="judge")
        retriever = DenseRetriever.load(c)
        result = evaluate_retriever(retriever, data, ignore_identical_ids=c.ignore_identical_ids)
        result.info["split"] = c.split
        if c.out:
            manifest = build_manifest(
                command="eval",
                parameters=dataclasses.asdict(c),
                inputs=data.inputs,
                model=retriever.info,
                outputs={},
                summary=result.metrics,
            )
            write_json_atomic(c.out, {"metrics": result.metrics, "info": result.info, "per_query": result.per_query})
            write_json_atomic(manifest_path_for(c.out), manifest)
    return result
