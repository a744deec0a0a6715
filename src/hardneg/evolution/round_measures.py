"""What one round of the co-evolution loop measures about its negatives, besides quality.

- :func:`chosen_negatives` reads the negatives mining chose (``negative_ids`` of a candidates
  file) as corpus indices aligned with a query list;
- :func:`measure_negatives` puts ranks and scores on them under the model that mined them
  (hardness) and under the model trained on them (staleness), see :mod:`hardneg.diagnostics.hardness`;
- :func:`audit_rate` runs the false-negative audit of the round's mining configuration.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hardneg.candidates.retriever import DenseRetriever
from hardneg.candidates_file import chosen_negatives  # noqa: F401  (read here by the loop)
from hardneg.data import RetrievalData
from hardneg.diagnostics.hardness import negative_ranks, summarize
from hardneg.filters import reference_of
from hardneg.mining.config import FIELDS as MINE_FIELDS


def measure_negatives(
    negatives: np.ndarray, data: RetrievalData, miner: DenseRetriever, trained: DenseRetriever, *, top_k: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Hardness (under ``miner``) and staleness (under ``trained``) summaries, and the raw scores.

    The raw arrays (``positive_miner``, ``negative_miner``, ``negative_rank_miner`` and the same
    with ``_trained``) are what the report draws its score distributions from.
    """
    out: dict[str, Any] = {}
    scores: dict[str, np.ndarray] = {}
    for name, tag, retriever in (("hardness", "miner", miner), ("staleness", "trained", trained)):
        queries = retriever.encode_queries(data.query_texts)
        docs = retriever.encode_documents(data.corpus_texts)
        ranks, neg_scores = negative_ranks(queries, docs, negatives, data.positives)
        positives = [docs.rows(np.asarray(p)) @ queries[q] for q, p in enumerate(data.positives)]
        # each query's reference positive score, as the positive-aware filters take it (hardneg.filters.positive_reference)
        out[name] = summarize(ranks, neg_scores, reference_of(positives), top_k=top_k)
        scores[f"positive_{tag}"] = np.concatenate(positives).astype(np.float32)
        scores[f"negative_{tag}"] = neg_scores[np.isfinite(neg_scores)].astype(np.float32)
        scores[f"negative_rank_{tag}"] = ranks[np.isfinite(ranks)].astype(np.float32)
    return out, scores


def audit_rate(data: str, *, preset: str, split: str, mine_params: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The false-negative rate of a mining configuration (:mod:`hardneg.drivers.audit`)."""
    from hardneg.drivers.audit import audit

    params = {k: v for k, v in mine_params.items() if k in MINE_FIELDS}
    params.update(overrides)
    result = audit(data, preset=preset, split=split, **params)
    return {
        "false_negative_rate": result.false_negative_rate,
        "ci95": list(result.ci95),
        "hidden_positives": result.hidden_positives,
    }
