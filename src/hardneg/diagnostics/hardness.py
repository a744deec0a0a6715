"""How hard chosen negatives are for a model: their rank and score among the corpus.

The co-evolution loop (:mod:`hardneg.evolution.loop`) measures with it the *hardness* of a round's
negatives (under the model that mined them) and their *staleness* (under the model trained on them):
``docs/evolve.md`` (The co-evolution loop).

A negative's rank is the number of documents that are not positives of the query and score
strictly higher than it: rank 0 is the most similar non-positive document (the convention of the
mining rank window and of the false-negative audit). Scores are cosine similarities. Ranks are
counted shard by shard, a chunk of queries at a time, so memory never holds queries × corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hardneg.encoding.encode import Embeddings


def negative_ranks(
    query_embeddings: np.ndarray,
    documents: Embeddings,
    negatives: np.ndarray,
    positives: Sequence[Sequence[int]],
    *,
    query_chunk_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Ranks and scores of ``negatives`` (queries × n corpus indices, ``-1`` = none).

    Returns float arrays of ``negatives.shape``: the rank among non-positive documents (``nan``
    where there is no negative) and the cosine score (``nan`` likewise).
    """
    negatives = np.asarray(negatives, dtype=np.int64)
    valid = negatives >= 0
    scores = np.einsum("qd,qnd->qn", query_embeddings, documents.rows(negatives)).astype(np.float32)
    higher = np.zeros(negatives.shape, dtype=np.int64)
    for start in range(0, len(negatives), query_chunk_size):
        sl = slice(start, start + query_chunk_size)
        q = np.ascontiguousarray(query_embeddings[sl])
        neg = scores[sl]
        for offset, shard in documents.iter_shards():
            sims = q @ np.asarray(shard).T  # (chunk, shard docs)
            higher[sl] += (sims[:, :, None] > neg[:, None, :]).sum(axis=1)
            # A negative never outranks itself, whatever rounding the two dot products took.
            local = negatives[sl] - offset
            inside = (local >= 0) & (local < len(shard))
            own = np.take_along_axis(sims, np.clip(local, 0, max(len(shard) - 1, 0)), axis=1)
            higher[sl] -= inside & (own > neg)
    # Positives scoring above a negative are not non-positive documents: take them back out.
    for row, pos in enumerate(positives):
        if len(pos):
            pos_scores = query_embeddings[row] @ documents.rows(np.asarray(pos)).T
            higher[row] -= (pos_scores[:, None] > scores[row][None, :]).sum(axis=0)
    ranks = np.where(valid, higher, np.nan).astype(np.float64)
    return ranks, np.where(valid, scores, np.nan)


def summarize(ranks: np.ndarray, scores: np.ndarray, reference: np.ndarray | None = None, *, top_k: int = 100) -> dict[str, Any]:
    """Mean and median rank, share in the top ``top_k``, mean score and mean margin to the positive."""
    ok = np.isfinite(ranks)
    if not ok.any():
        return {"negatives": 0}
    out: dict[str, Any] = {
        "negatives": int(ok.sum()),
        "mean_rank": round(float(ranks[ok].mean()), 3),
        "median_rank": float(np.median(ranks[ok])),
        f"in_top_{top_k}": round(float((ranks[ok] < top_k).mean()), 4),
        "mean_score": round(float(scores[ok].mean()), 4),
    }
    if reference is not None:
        margins = np.broadcast_to(np.asarray(reference)[:, None], ranks.shape) - scores
        out["mean_margin"] = round(float(margins[ok].mean()), 4)
    return out
