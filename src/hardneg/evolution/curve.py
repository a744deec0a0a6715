"""Quality and staleness along one training run: where static negatives go stale.

A one-epoch comparison cannot show a sampler that keeps the model learning after static negatives stop
teaching it. :class:`CurveProbe` measures, at chosen optimiser steps of a single run, the
:mod:`hardneg.diagnostics.evaluate` measures of the weights so far and the staleness of the negatives
being trained on at that step (:func:`hardneg.diagnostics.hardness.negative_ranks`, summarised by
:func:`~hardneg.diagnostics.hardness.summarize`) into :attr:`CurveProbe.points`; ``hardneg report`` draws
them (:func:`hardneg.evolution.report.curve_figure`) when a run folder holds a ``curve.json``. How the
benchmark runs it, and what it found: ``docs/research-notes.md`` (Where static negatives go stale).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from transformers import TrainerCallback

from hardneg.candidates.retriever import DenseRetriever
from hardneg.data import RetrievalData
from hardneg.diagnostics.evaluate import evaluate_retriever
from hardneg.diagnostics.hardness import negative_ranks, summarize
from hardneg.options import EncodingOptions
from hardneg.training.negative_pool import NegativePool


class CurveProbe(TrainerCallback):
    """At each step of ``steps``, score the current weights on ``test`` and measure the pool's staleness.

    Args:
        test: the split quality is measured on (never trained on).
        steps: optimiser steps to probe at (a step past the run's end is never reached).
        pool: the run's negative pool (a candidates-file input); ``None`` for pairs or mined rows,
            whose negatives have no ids: the points then carry quality only.
        options: encoding settings of the probe (precision, batch size; the cache is not used:
            every probe has new weights).
        top_k: staleness reports the share of the negatives still in the current top ``top_k``.
    """

    def __init__(
        self,
        test: RetrievalData,
        steps: Sequence[int],
        *,
        pool: NegativePool | None = None,
        options: EncodingOptions | None = None,
        top_k: int = 10,
    ):
        if not steps or min(steps) < 1:
            raise ValueError(f"steps must be positive step counts, got {list(steps)}")
        self.test, self.steps, self.pool, self.top_k = test, sorted(set(steps)), pool, top_k
        self.options = options or EncodingOptions(use_cache=False, show_progress=False)
        self.points: list[dict[str, Any]] = []

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step not in self.steps:
            return control
        import torch

        start = time.perf_counter()
        was_training = model.training
        try:
            with torch.no_grad():
                self.points.append(self.probe(model, int(state.global_step), float(state.epoch or 0.0)))
        finally:
            model.train(was_training)
        self.points[-1]["seconds"] = round(time.perf_counter() - start, 1)
        return control

    def probe(self, model: Any, step: int, epoch: float) -> dict[str, Any]:
        """One point: test metrics and the staleness of the pool's current negatives under ``model``."""
        retriever = DenseRetriever(model, self.options, fingerprint=f"curve-step-{step}")
        documents = retriever.encode_documents(self.test.corpus_texts)  # once: test quality and staleness share it
        metrics = evaluate_retriever(retriever, self.test, documents=documents).metrics
        point: dict[str, Any] = {"step": step, "epoch": round(epoch, 3), **metrics}
        if self.pool is not None:
            queries = retriever.encode_queries(self.pool.query_texts)
            if list(self.pool.corpus_texts) != list(self.test.corpus_texts):
                documents = retriever.encode_documents(list(self.pool.corpus_texts))
            ranks, scores = negative_ranks(queries, documents, self.pool.negatives, self.pool.positives)
            point["staleness"] = summarize(ranks, scores, top_k=self.top_k)
        return point
