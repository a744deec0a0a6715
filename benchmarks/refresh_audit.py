"""How many false negatives does the live negative cache choose while the model it mines with drifts?

The false-negative audit (``hardneg audit``) hides one positive of each query with two or more and counts
how often mining returns the hidden positive as a negative. This script does the same for the negatives a
training run with ``--refresh-mode cache`` chooses at every step: per seed it

1. writes a view of ``--data``'s training split whose qrels lack the hidden positives (NFCorpus:
   a seeded draw of ``--train-queries`` queries, as ``benchmarks/quality.py`` draws them; SciFact: all);
2. mines it (``hardneg mine --preset nv-retriever --output-format candidates``) with the base model;
3. trains on the candidates file with the live cache (``hardneg train --refresh-mode cache``, the
   ``evolve-cache+masked`` arm of ``benchmarks/quality.py``), recording the negatives the cache
   chooses at every step (by wrapping ``LiveNegativeCache.negatives_for``; nothing else changes);
4. counts, per step and over the run, the chosen negatives of the audited queries that are the
   query's hidden positive, and the chosen negatives whose text is a copy of one of the query's
   known positives (lower case, whitespace collapsed).

The mined file (step 0, the base model) is counted the same way. Only what is on ``PYTHONPATH`` decides
which rule the cache runs, so the same script measures a version of hardneg before and after a change.

    HARDNEG_CACHE=/tmp/hncache python benchmarks/refresh_audit.py --data ../shared/data/nfcorpus \\
        --train-queries 512 --steps 32 --seed 1 --seed 2 --seed 3 --out benchmarks/results/refresh_audit_nfcorpus.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

try:
    from hardneg.data.hidden import hidden_position
except ImportError:  # a version of hardneg from before the helper: the same choice, spelled out

    def hidden_position(seed: int, query_id: str, n_positives: int) -> int | None:
        if n_positives < 2:
            return None
        digest = hashlib.blake2b(f"{seed}\x00{query_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") % n_positives


def read_jsonl(path: Path) -> dict[str, str]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                out[str(r["_id"])] = ((r.get("title") or "") + " " + (r.get("text") or "")).strip()
    return out


def read_qrels(path: Path) -> dict[str, list[str]]:
    positives: dict[str, list[str]] = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, score = line.rstrip("\n").split("\t")[:3]
            if int(score) > 0 and d not in positives[q]:
                positives[q].append(d)
    return dict(positives)


def normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def write_view(data: Path, folder: Path, seed: int, train_queries: int) -> tuple[dict, dict]:
    """The view's folder; returns each drawn query's positives (all) and its hidden positive."""
    positives = read_qrels(data / "qrels" / "train.tsv")
    queries = sorted(positives)
    if train_queries and train_queries < len(queries):
        queries = sorted(random.Random(seed).sample(queries, train_queries))
    hidden = {}
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with open(folder / "qrels" / "train.tsv", "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q in queries:
            h = hidden_position(seed, q, len(positives[q]))
            if h is not None:
                hidden[q] = positives[q][h]
            for i, d in enumerate(positives[q]):
                if i != h:
                    f.write(f"{q}\t{d}\t1\n")
    for name in ("corpus.jsonl", "queries.jsonl"):
        link = folder / name
        if not link.exists():
            link.symlink_to((data / name).resolve())
    return {q: positives[q] for q in queries}, hidden


class Recorder:
    """Wraps ``LiveNegativeCache`` so every mined step's chosen negatives are kept (as document ids)."""

    def __init__(self):
        self.steps: list[tuple[int, list[str], list[list[str]]]] = []

    def install(self):
        from hardneg.training import negative_cache

        cls = negative_cache.LiveNegativeCache
        recorder, init, negatives_for = self, cls.__init__, cls.negatives_for

        def wrapped_init(cache, pool, table, document_ids, *args, **kwargs):
            init(cache, pool, table, document_ids, *args, **kwargs)
            cache._audit_ids = list(document_ids)

        def wrapped_negatives_for(cache, rows, query_vectors):
            before = cache.last
            out = negatives_for(cache, rows, query_vectors)
            if cache.last is not None and cache.last is not before:
                queries = [cache.pool.query_ids[q] for q in cache.last["queries"]]
                chosen = [[cache._audit_ids[d] for d in row if d >= 0] for row in cache.last["chosen"]]
                recorder.steps.append((int(cache.last["step"]), queries, chosen))
            return out

        cls.__init__, cls.negatives_for = wrapped_init, wrapped_negatives_for


def count(draws, positives, hidden, texts) -> dict:
    """Hidden positives and copies of a known positive among ``draws``: (query id, chosen ids) pairs."""
    negatives = audited = picked = copies = 0
    known_text: dict[str, set[str]] = {}
    for q, chosen in draws:
        if q not in known_text:
            known_text[q] = {normalised(texts[d]) for d in positives[q] if d != hidden.get(q)}
        negatives += len(chosen)
        copies += sum(normalised(texts[d]) in known_text[q] for d in chosen if d != hidden.get(q))
        if q in hidden:
            audited += len(chosen)
            picked += sum(d == hidden[q] for d in chosen)
    return {
        "negatives": negatives,
        "audited_negatives": audited,
        "hidden_picked": picked,
        "hidden_per_audited_negative": round(picked / audited, 5) if audited else None,
        "known_positive_copies": copies,
        "copies_per_negative": round(copies / negatives, 5) if negatives else None,
    }


def file_draws(path: Path) -> list[tuple[str, list[str]]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["query_id", "negative_ids"]).to_pylist()
    return [(r["query_id"], [d for d in r["negative_ids"] if d]) for r in table]


def run_seed(args, seed: int, texts: dict) -> dict:
    from hardneg.cli import main as hardneg

    work = args.work / f"seed{seed}"
    view = work / "view"
    positives, hidden = write_view(args.data, view, seed, args.train_queries)
    candidates = work / "candidates.parquet"
    started = time.perf_counter()
    if not candidates.exists():
        hardneg(
            [
                "mine", "--data", str(view), "--out", str(candidates), "--output-format", "candidates",
                "--preset", "nv-retriever", "--num-negatives", str(args.negatives), "--seed", str(seed),
                "--precision", "float32", "--max-seq-length", str(args.max_seq_length), "--no-progress",
            ]
        )  # fmt: skip
    mined = time.perf_counter() - started
    recorder = Recorder()
    recorder.install()
    hardneg(
        [
            "train", "--data", str(candidates), "--out", str(work / "model"), "--refresh-mode", "cache",
            "--refresh-budget", "64", "--max-steps", str(args.steps), "--batch-size", "32", "--learning-rate", "2e-5",
            "--max-seq-length", str(args.max_seq_length), "--mask-known-positives", "--seed", str(seed),
            "--precision", "float32", "--no-progress",
        ]
    )  # fmt: skip
    per_step = []
    for step, queries, chosen in recorder.steps:
        per_step.append({"step": step, **count(list(zip(queries, chosen)), positives, hidden, texts)})
    thirds = {}
    n = len(recorder.steps)
    for i, part in enumerate(("first third", "middle third", "last third")):
        steps = recorder.steps[i * n // 3 : (i + 1) * n // 3]
        thirds[part] = count([(q, c) for _, qs, cs in steps for q, c in zip(qs, cs)], positives, hidden, texts)
    return {
        "seed": seed,
        "queries": len(positives),
        "audited_queries": len(hidden),
        "mined_file": count(file_draws(candidates), positives, hidden, texts),
        "cache_all_steps": count([(q, c) for _, qs, cs in recorder.steps for q, c in zip(qs, cs)], positives, hidden, texts),
        "cache_by_third": thirds,
        "cache_per_step": per_step,
        "seconds": round(time.perf_counter() - started, 1),
        "mine_seconds": round(mined, 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--seed", type=int, action="append")
    parser.add_argument("--train-queries", type=int, default=0, help="draw this many training queries (0: all)")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--negatives", type=int, default=3)
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--label", default="", help="names the version measured in the output")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    import hardneg

    texts = read_jsonl(args.data / "corpus.jsonl")
    runs = [run_seed(args, seed, texts) for seed in args.seed or [1]]

    def mean(key, part):
        values = [r[part][key] for r in runs if r[part][key] is not None]
        return round(sum(values) / len(values), 5) if values else None

    summary = {
        part: {k: mean(k, part) for k in ("hidden_per_audited_negative", "copies_per_negative")}
        for part in ("mined_file", "cache_all_steps")
    }
    result = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "label": args.label,
        "hardneg": getattr(hardneg, "__version__", None),
        "hardneg_path": str(Path(hardneg.__file__).parent),
        "python": platform.python_version(),
        "summary": summary,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(args.out)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
