"""How many known positives does MultipleNegativesRankingLoss push away as in-batch negatives?

The loss scores every row's positive and negatives against every query of the batch. When a text of
another row is a known positive of a query (its judged positives, or those of the rows that share its
anchor), the loss treats a relevant document as a negative. This counts those false in-batch
negatives per batch under three batch samplers: a plain shuffle (``default``), sentence-transformers'
``no-duplicates`` (no text twice in a batch, the default of ``hardneg train``) and hardneg's ``conflict-free``
(:mod:`hardneg.training.batch_hygiene`).

``--data`` is a BEIR folder (its ``--split`` pairs, optionally a seeded draw of ``--queries`` queries
with all their positives, as ``benchmarks/quality.py --train-queries`` draws them) or a mined rows
file (parquet or JSONL with ``anchor``, ``positive``, ``negative_*`` columns).

    python benchmarks/in_batch_false_negatives.py --data ../shared/data/nfcorpus --queries 512
    python benchmarks/in_batch_false_negatives.py --data ../shared/data/scifact
    python benchmarks/in_batch_false_negatives.py --data train.parquet      # rows mined by hardneg mine

Prints one line per sampler (and, over a whole epoch, how many of its batches are full) and writes the
numbers as JSON (``--out``). ``hardneg train --mask-known-positives`` removes exactly the false in-batch
negatives counted for ``no-duplicates`` from the loss, and keeps its batches.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import torch
from sentence_transformers.base.sampler import DefaultBatchSampler, NoDuplicatesBatchSampler

from hardneg.data import load_data
from hardneg.data.dataset import normalize_text
from hardneg.training.batch_hygiene import ConflictFreeBatchSampler


def shuffled(dataset, batch_size, drop_last, generator=None, seed=0):
    """A plain shuffle, as the trainer builds ``BatchSamplers.BATCH_SAMPLER``."""
    generator.manual_seed(seed)
    return DefaultBatchSampler(torch.utils.data.RandomSampler(dataset, generator=generator), batch_size, drop_last)


SAMPLERS = {"default": shuffled, "no-duplicates": NoDuplicatesBatchSampler, "conflict-free": ConflictFreeBatchSampler}


def rows_of(args) -> datasets.Dataset:
    path = Path(args.data)
    if path.is_file():
        loader = datasets.Dataset.from_parquet if path.suffix == ".parquet" else datasets.Dataset.from_json
        return loader(str(path))
    data = load_data(str(path), split=args.split)
    queries = range(len(data.query_ids))
    if args.queries and args.queries < len(data.query_ids):
        queries = sorted(np.random.default_rng(args.seed).choice(len(data.query_ids), size=args.queries, replace=False))
    pairs = [(data.query_texts[q], data.corpus_texts[d]) for q in queries for d in data.positives[q]]
    return datasets.Dataset.from_dict({"anchor": [a for a, _ in pairs], "positive": [p for _, p in pairs]})


def count(dataset: datasets.Dataset, sampler_cls, args) -> dict:
    anchors = [normalize_text(t) for t in dataset["anchor"]]
    text_columns = [c for c in dataset.column_names if c != "anchor" and isinstance(dataset[0][c], str)]
    others = [[normalize_text(t) for t in dataset[c]] for c in text_columns]  # positive first, then negatives
    known: dict[str, set[str]] = {}
    for a, p in zip(anchors, others[0]):
        known.setdefault(a, set()).add(p)
    start = time.perf_counter()
    sampler = sampler_cls(dataset, args.batch_size, True, generator=torch.Generator(), seed=args.seed)
    built = time.perf_counter() - start
    per_batch, rows_hit, rows_seen, sizes = [], 0, 0, []
    for b, batch in enumerate(sampler):
        if b >= args.batches:
            break
        sizes.append(len(batch))
        hits = 0
        for i in batch:
            mine = known[anchors[i]]
            n = sum(1 for j in batch if j != i for col in others if col[j] in mine)
            hits += n
            rows_hit += n > 0
        rows_seen += len(batch)
        per_batch.append(hits)
    per_batch = np.array(per_batch)
    # a whole epoch without drop_last: how many batches are full (a sampler that refuses rows may leave
    # the end of the epoch to small batches)
    epoch = np.array([len(b) for b in sampler_cls(dataset, args.batch_size, False, generator=torch.Generator(), seed=args.seed)])
    return {
        "epoch_batches": len(epoch),
        "epoch_full_batches": int((epoch == args.batch_size).sum()),
        "epoch_rows_in_full_batches": round(float(epoch[epoch == args.batch_size].sum() / max(1, epoch.sum())), 4),
        "epoch_median_batch_size": float(np.median(epoch)),
        "batches": len(per_batch),
        "mean_batch_size": round(float(np.mean(sizes)), 2),
        "false_in_batch_negatives_per_batch": round(float(per_batch.mean()), 3),
        "batches_with_any": round(float((per_batch > 0).mean()), 4),
        "queries_with_any": round(rows_hit / max(1, rows_seen), 4),
        "sampler_build_seconds": round(built, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a BEIR folder or a mined rows file")
    parser.add_argument("--split", default="train")
    parser.add_argument("--queries", type=int, default=0, help="BEIR folder: a seeded draw of this many queries (0: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=200, help="batches counted per sampler")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sampler", action="append", choices=list(SAMPLERS), help="default: all three")
    parser.add_argument("--out", default=None, help="JSON of the numbers (default: print only)")
    args = parser.parse_args(argv)
    dataset = rows_of(args)
    result = {"data": str(args.data), "rows": len(dataset), "settings": vars(args), "samplers": {}}
    print(f"{args.data}: {len(dataset)} rows, batches of {args.batch_size}", file=sys.stderr)
    for name in args.sampler or list(SAMPLERS):
        result["samplers"][name] = r = count(dataset, SAMPLERS[name], args)
        print(
            f"{name:<14} false in-batch negatives per batch {r['false_in_batch_negatives_per_batch']:>7.3f}  "
            f"batches with any {r['batches_with_any']:.1%}  queries with any {r['queries_with_any']:.1%}  "
            f"({r['batches']} batches, mean size {r['mean_batch_size']}); a whole epoch: {r['epoch_batches']} batches, "
            f"{r['epoch_rows_in_full_batches']:.1%} of the rows in full ones, median size {r['epoch_median_batch_size']:g}"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
