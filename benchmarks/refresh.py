"""Cheaper refresh vs ANCE's full refresh: recall of the pool and time saved.

A refresh asks: under the new checkpoint, which documents are the top-k non-positive candidates
of each query? ANCE answers by re-encoding the whole corpus and searching it. The pool refresh
(hardneg.training.refresh) re-encodes only each query's pool: the previous model's top ``--pool-k``
candidates (what the previous round mined from) united with BM25's top ``--bm25-k``.

For each corpus size this script measures, with the *new* model:

- ``recovered@k``: mean share of the full search's top-k non-positive documents that the pool's
  top-k also contains (1.0 = the pool loses nothing);
- documents encoded and seconds for the full refresh (corpus + queries + exact search) and for
  the pool refresh (distinct pool documents + queries + ranking); BM25 indexing and search, which
  a run pays once and reuses for every refresh, are reported on their own.

Corpora: the BEIR folder (scale 1), and the same folder plus ``(scale - 1) × N`` synthetic
distractor documents, each stitched from three sentences of random real documents (same domain
and vocabulary, never relevant: no qrels point at them). Queries are the training queries; the
old model is the base model; the new model is the base model fine-tuned for ``--train-steps``
steps on the training pairs (MultipleNegativesRankingLoss, in-batch negatives).

Example (the run quoted in docs/research-notes.md):

    HARDNEG_CACHE=/tmp/hncache python benchmarks/refresh.py --data ../shared/data/scifact \\
        --scale 1 --scale 10 --precision bfloat16 --max-seq-length 128 --out benchmarks/results/refresh.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from hardneg.candidates import BM25Search, Candidates
from hardneg.candidates.retriever import DenseRetriever, EncodingOptions
from hardneg.data import RetrievalData, load_data
from hardneg.training.refresh import build_pool, overlap_at_k, rescore_pool
from hardneg.training.train import train


def synthetic_corpus(texts: list[str], n: int, seed: int) -> list[str]:
    """``n`` distractors, each three sentences drawn from random documents of ``texts``."""
    rng = np.random.default_rng(seed)
    sentences = [s for t in texts for s in re.split(r"(?<=[.!?])\s+", t) if len(s) > 30]
    picks = rng.integers(0, len(sentences), size=(n, 3))
    return [" ".join(sentences[i] for i in row) for row in picks]


def scaled(data: RetrievalData, scale: int, seed: int) -> RetrievalData:
    extra = synthetic_corpus(data.corpus_texts, (scale - 1) * len(data.corpus_texts), seed) if scale > 1 else []
    return RetrievalData(
        corpus_ids=data.corpus_ids + [f"synthetic-{i}" for i in range(len(extra))],
        corpus_texts=data.corpus_texts + extra,
        query_ids=data.query_ids,
        query_texts=data.query_texts,
        positives=data.positives,
    )


def non_positive(cands: Candidates, positives: list[list[int]], k: int) -> Candidates:
    """The first ``k`` candidates of each row that are not positives (``-1`` padded)."""
    out = Candidates.empty(len(positives), k)
    for q, (row, scores) in enumerate(zip(cands.indices, cands.scores)):
        keep = (row >= 0) & ~np.isin(row, positives[q])
        row, scores = row[keep][:k], scores[keep][:k]
        out.indices[q, : len(row)], out.scores[q, : len(row)] = row, scores
    return out


def pool_sizes(pool: list[np.ndarray], sizes: list[int], seed: int, draws: int = 5) -> dict[str, float]:
    """Mean distinct documents in the pools of ``n`` random queries: what refreshing only ``n`` queries encodes.

    A refresh inside training only needs the queries of the next steps' batches (32 per step at
    batch 32); the union of their pools is much smaller than the union over all queries.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for n in sizes:
        n = min(n, len(pool))
        unions = [
            len(np.unique(np.concatenate([pool[q] for q in rng.choice(len(pool), n, replace=False)]))) for _ in range(draws)
        ]
        out[str(n)] = round(float(np.mean(unions)), 1)
    return out


def previous_and_lexical(data: RetrievalData, old: EncodingOptions, args) -> tuple[Candidates, Candidates, float]:
    """The previous round's top candidates (cache allowed: that round paid for them) and BM25's."""
    depth = max(args.k) + max(len(p) for p in data.positives)
    old_retriever = DenseRetriever.load(old)
    q_old = old_retriever.encode_queries(data.query_texts)
    previous = old_retriever.search(q_old, old_retriever.encode_documents(data.corpus_texts), args.pool_k + depth)
    previous = non_positive(previous, data.positives, args.pool_k)
    start = time.perf_counter()
    bm25 = BM25Search(data.corpus_texts, data.query_texts, show_progress=False)
    lexical = bm25.search(np.arange(len(data.query_texts)), args.bm25_k)
    return previous, lexical, round(time.perf_counter() - start, 2)


def measure(data: RetrievalData, old: EncodingOptions, new: EncodingOptions, args) -> dict:
    depth = max(args.k) + max(len(p) for p in data.positives)
    result: dict = {"documents": len(data.corpus_ids), "queries": len(data.query_ids)}
    previous, lexical, result["bm25_seconds"] = previous_and_lexical(data, old, args)
    pool = build_pool(previous, lexical)
    result["pool_documents_for_n_queries"] = pool_sizes(pool, args.pool_queries, args.seed)
    if args.pool_sizes_only:
        return result

    new_retriever = DenseRetriever.load(new)
    start = time.perf_counter()
    queries = new_retriever.encode_queries(data.query_texts)
    full = new_retriever.search(queries, new_retriever.encode_documents(data.corpus_texts), depth)
    result["full"] = {"seconds": round(time.perf_counter() - start, 2), "documents_encoded": len(data.corpus_texts)}
    full = non_positive(full, data.positives, max(args.k))

    new_retriever = DenseRetriever.load(new)  # fresh encoder statistics
    start = time.perf_counter()
    ranked = rescore_pool(new_retriever, data.query_texts, data.corpus_texts, pool)
    result["pool"] = {
        "seconds": round(time.perf_counter() - start, 2),
        "documents_encoded": int(new_retriever.encoder.stats.encoded - len(data.query_texts)),
        "mean_pool_size": round(float(np.mean([len(p) for p in pool])), 1),
    }
    ranked = non_positive(ranked, data.positives, max(args.k))
    result["recovered"] = {f"@{k}": round(overlap_at_k(full, ranked, k), 4) for k in args.k}
    result["previous_still_in_top"] = {f"@{k}": round(overlap_at_k(full, previous, k), 4) for k in args.k}
    result["speedup"] = round(result["full"]["seconds"] / max(result["pool"]["seconds"], 1e-9), 2)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scifact"))
    parser.add_argument("--split", default="train")
    parser.add_argument("--scale", type=int, action="append", help="corpus size as a multiple of the real one (repeatable)")
    parser.add_argument("--k", type=int, action="append", help="top-k compared (repeatable; default 10, 50, 100)")
    parser.add_argument("--pool-k", type=int, default=100, help="previous model's candidates per query in the pool")
    parser.add_argument("--bm25-k", type=int, default=100, help="BM25 candidates per query in the pool")
    parser.add_argument("--train-steps", type=int, default=29, help="steps that turn the base model into the new one")
    parser.add_argument("--new-model", help="use this checkpoint as the new model instead of training one")
    parser.add_argument("--work", default="/tmp/hardneg-bench-refresh", help="folder for the trained model")
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--max-seq-length", type=int)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--pool-queries", type=int, action="append", help="also count the pool documents of this many queries (default 32, 320)"
    )
    parser.add_argument("--pool-sizes-only", action="store_true", help="skip the timed refreshes: pool sizes only (cheap)")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    args.scale = args.scale or [1, 10]
    args.k = sorted(args.k or [10, 50, 100])
    args.pool_queries = args.pool_queries or [32, 320]

    data = load_data(args.data, split=args.split)
    new_model = args.new_model
    if new_model is None:
        new_model = str(Path(args.work) / f"new-model-{args.train_steps}-steps")
        if not Path(new_model).is_dir():
            train(
                args.data, new_model, split=args.split, max_steps=args.train_steps, seed=args.seed,
                max_seq_length=args.max_seq_length, show_progress=False,
            )  # fmt: skip
    common = {
        "precision": args.precision,
        "max_seq_length": args.max_seq_length,
        "batch_size": args.batch_size,
        "show_progress": False,
    }
    old = EncodingOptions(**common)
    new = EncodingOptions(model=new_model, use_cache=False, **common)

    results = {"settings": {k: v for k, v in vars(args).items() if k != "out"}, "new_model": new_model, "scales": {}}
    for scale in args.scale:
        r = measure(scaled(data, scale, args.seed), old, new, args)
        results["scales"][str(scale)] = r
        print(f"scale {scale}: {json.dumps(r)}", file=sys.stderr, flush=True)

    print(
        f"\n{'scale':>5} {'docs':>7} {'pool docs':>10} {'full s':>8} {'pool s':>8} {'speedup':>8} "
        + " ".join(f"{'rec@' + str(k):>8}" for k in args.k)
    )
    for scale, r in results["scales"].items():
        if "full" not in r:
            print(f"{scale:>5} {r['documents']:>7} pool documents for n queries: {r['pool_documents_for_n_queries']}")
            continue
        rec = " ".join(f"{r['recovered'][f'@{k}']:>8.3f}" for k in args.k)
        print(
            f"{scale:>5} {r['documents']:>7} {r['pool']['documents_encoded']:>10} {r['full']['seconds']:>8.1f} "
            f"{r['pool']['seconds']:>8.1f} {r['speedup']:>8.2f} {rec}   pool docs for n queries {r['pool_documents_for_n_queries']}"
        )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
