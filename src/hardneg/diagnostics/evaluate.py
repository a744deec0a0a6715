"""Retrieval quality of a bi-encoder: nDCG@10, Recall@100, MRR@10 and MAP@100 with ``trec_eval``.

The numbers come from ``pytrec_eval`` (NIST's ``trec_eval``, as BEIR and MTEB use), never from
hand-written formulas; ``mrr@10`` is ``recip_rank`` on the run truncated to 10 documents per query
(trec_eval has no cut for it; ir-measures computes ``RR@10`` the same way). Search is exact, to a depth of
100; a document whose id equals the query's is dropped before scoring, as in BEIR. A judged document the
corpus lacks is scored as BEIR and MTEB score it: relevant and never retrieved. The measures, the reference
scores this reproduces and their tests: ``docs/evolve.md`` (Evaluate). ``hardneg eval`` is the driver around
these measures (:mod:`hardneg.drivers.evaluate`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hardneg.candidates.retriever import DenseRetriever
from hardneg.data import Problems, RetrievalData, read_qrels
from hardneg.encoding.encode import Embeddings

# our name -> (trec_eval measure, run truncation depth or None)
METRICS: dict[str, tuple[str, int | None]] = {
    "ndcg@10": ("ndcg_cut_10", None),
    "recall@100": ("recall_100", None),
    "mrr@10": ("recip_rank", 10),
    "map@100": ("map_cut_100", None),
}
DEPTH = 100

Qrels = dict[str, dict[str, int]]
Run = dict[str, dict[str, float]]


@dataclass
class EvalResult:
    metrics: dict[str, float]
    """Mean over the evaluated queries, keyed by :data:`METRICS` names."""
    per_query: dict[str, dict[str, float]]
    """Query id -> metric name -> value."""
    info: dict[str, Any]
    """Queries, documents, seconds, the model's identity."""

    def to_dict(self) -> dict[str, Any]:
        return {**self.metrics, **self.info}


def qrels_of(data: RetrievalData) -> Qrels:
    """Graded judgements of the loaded queries: the qrels file's grades when there is one, else 1; with the
    relevant documents absent from the corpus (:attr:`~hardneg.data.RetrievalData.absent_positives`)."""
    qrels: Qrels = {qid: {data.corpus_ids[d]: 1 for d in pos} for qid, pos in zip(data.query_ids, data.positives)}
    for qid, absent in data.absent_positives.items():
        qrels[qid].update({did: int(score) for did, score in absent.items()})
    path = data.inputs.get("qrels")
    if path:
        for qid, did, score, _line in read_qrels(Path(path), Problems("skip")):
            if qid in qrels and did in qrels[qid] and score > 0:
                qrels[qid][did] = int(score)
    return qrels


def run_of(
    query_ids: list[str], corpus_ids: list[str], indices: np.ndarray, scores: np.ndarray, *, ignore_identical_ids: bool = True
) -> Run:
    """A trec_eval run from ranked candidate arrays (``-1`` entries are padding)."""
    run: Run = {}
    for qid, row, row_scores in zip(query_ids, indices, scores):
        docs: dict[str, float] = {}
        for d, s in zip(row.tolist(), row_scores.tolist()):
            if d < 0:
                continue
            did = corpus_ids[d]
            if ignore_identical_ids and did == qid:
                continue
            docs[did] = float(s)
        run[qid] = docs
    return run


def _truncate(run: Run, depth: int) -> Run:
    """The first ``depth`` documents per query in trec_eval's order: score descending, ties by id descending."""
    out: Run = {}
    for q, docs in run.items():
        by_id = sorted(docs.items(), key=lambda kv: kv[0], reverse=True)
        out[q] = dict(sorted(by_id, key=lambda kv: -kv[1])[:depth])  # stable: equal scores keep id order
    return out


def score_run(qrels: Qrels, run: Run) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-query :data:`METRICS` of ``run`` against ``qrels`` with pytrec_eval.

    Queries judged in ``qrels`` but absent from ``run`` score 0 (trec_eval's ``-c`` convention).
    """
    import pytrec_eval

    per_query: dict[str, dict[str, float]] = {q: {} for q in qrels}
    for name, (measure, depth) in METRICS.items():
        evaluator = pytrec_eval.RelevanceEvaluator(qrels, {measure})
        scored = evaluator.evaluate(_truncate(run, depth) if depth else run)
        for q in qrels:
            per_query[q][name] = float(scored.get(q, {}).get(measure, 0.0))
    means = {name: round(float(np.mean([per_query[q][name] for q in qrels])), 6) if qrels else 0.0 for name in METRICS}
    return means, per_query


def evaluate_retriever(
    retriever: DenseRetriever,
    data: RetrievalData,
    *,
    depth: int = DEPTH,
    ignore_identical_ids: bool = True,
    documents: Embeddings | None = None,
) -> EvalResult:
    """Score ``retriever`` on ``data``'s queries (the function training and evolve call in-process).

    ``documents``: ``data``'s corpus already encoded by ``retriever`` (a caller that needs it too encodes it once)."""
    start = time.perf_counter()
    queries = retriever.encode_queries(data.query_texts)
    documents = retriever.encode_documents(data.corpus_texts) if documents is None else documents
    cands = retriever.search(queries, documents, depth + (1 if ignore_identical_ids else 0))
    run = run_of(data.query_ids, data.corpus_ids, cands.indices, cands.scores, ignore_identical_ids=ignore_identical_ids)
    metrics, per_query = score_run(qrels_of(data), _truncate(run, depth))
    info = {
        "queries": len(data.query_ids),
        "documents": len(data.corpus_ids),
        "absent_judgements": sum(len(a) for a in data.absent_positives.values()),
        "seconds": round(time.perf_counter() - start, 3),
        "model": retriever.info,
    }
    return EvalResult(metrics, per_query, info)
