"""Streamed pairs through the drop-in in bounded memory: peak memory beside the size of the embeddings.

    taskset -c 0 python benchmarks/dropin_stream.py --pairs 1000000 --docs 1000000 --out benchmarks/results/dropin_stream_1m.json

``hardneg.mine_hard_negatives`` is given a generator of ``--pairs`` (anchor, positive) tuples and a corpus
of ``--docs`` texts (a list, as the peer takes it), with ``chunk_pairs`` pairs mined at a time and the
rows written to a parquet file as they are mined (``out=``). The texts are synthetic: a document is 12
words drawn from a 50,000-word vocabulary (Zipf-like), a query 5 of its positive's words and 1 other,
plus its own number, so every anchor is distinct; every positive is a corpus document.

Encoding is not what is measured: the model is a callable hashed bag of words (``--dim`` buckets, crc32
of each word), so the run is the drop-in's own work: reading the stream, the search, the filters, the
rows. ``seconds`` is the call's wall time, ``cpu_seconds`` its own CPU time (on a shared core they differ).
``--index`` is hardneg's approximate index (an exact search of 1M queries against 1M documents on one
core takes hours); it is built once and reused by every chunk from the run's ``cache_folder``.

Memory, read in this process: the resident set before the call (the corpus texts, the interpreter and its
libraries, loaded by a warm-up call on 10 pairs) from ``/proc/self/status``, and the peak over the whole run
(``ru_maxrss``). What the call added at its
peak is set beside the size of the corpus's vectors (``docs × dim × 4`` bytes, held once, plus the flat
index's own copy of them) and of one chunk's query vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_kind import describe  # noqa: E402

WORDS = 50_000


def vocabulary(seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=int(n))) for n in rng.integers(3, 10, size=WORDS)]


def corpus(n_docs: int, seed: int) -> list[str]:
    """``n_docs`` documents of 12 words, drawn with Zipf-like frequencies."""
    vocab = np.array(vocabulary(seed), dtype=object)
    rng = np.random.default_rng(seed + 1)
    ranks = np.minimum(rng.zipf(1.3, size=(n_docs, 12)) - 1, WORDS - 1)
    return [" ".join(row) for row in vocab[ranks]]


def pairs(docs: list[str], n_pairs: int, seed: int):
    """A generator of (anchor, positive): 5 words of a random document, 1 word of another, and the pair's number."""
    rng = np.random.default_rng(seed + 2)
    block = 10_000
    for start in range(0, n_pairs, block):  # the random draws a block at a time; the pairs still one by one
        n = min(block, n_pairs - start)
        chosen, others = rng.integers(0, len(docs), size=(2, n))
        picks = np.argsort(rng.random((n, 12)), axis=1)[:, :5]
        for i in range(n):
            words = docs[chosen[i]].split()
            picked = [words[j] for j in picks[i] if j < len(words)]
            yield " ".join([*picked, docs[others[i]].split(" ", 1)[0], f"n{start + i}"]), docs[chosen[i]]


class HashedBagOfWords:
    """A callable embedder: each word's crc32 picks one of ``dim`` buckets."""

    def __init__(self, dim: int):
        self.dim = dim
        self.seconds = 0.0

    def __call__(self, texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        rows, cols = [], []
        for row, text in enumerate(texts):
            for word in text.split():
                rows.append(row)
                cols.append(zlib.crc32(word.encode()) % self.dim)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(out, (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)), 1.0)
        self.seconds += time.perf_counter() - start
        return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--chunk-pairs", type=int, default=200_000)
    parser.add_argument("--index", default="IVF2048,Flat")
    parser.add_argument("--nprobe", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=None, help="where the rows and the index go (default: a temporary folder)")
    parser.add_argument("--out", default=None, help="write the result JSON here")
    args = parser.parse_args()

    import hardneg

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="dropin-stream-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows_file = workdir / "rows.parquet"
    start = time.perf_counter()
    docs = corpus(args.docs, args.seed)
    corpus_seconds = time.perf_counter() - start
    # a warm-up call on 10 pairs loads every library the run uses (torch, datasets, FAISS), so that what the
    # measured call adds is its own memory, not the imports'
    warm = HashedBagOfWords(args.dim)
    warm_docs = docs[:1000]
    hardneg.mine_hard_negatives(
        pairs(warm_docs, 10, args.seed + 9), warm, corpus=warm_docs, verbose=False, cache_folder=str(workdir / "warm"),
        chunk_pairs=5, out=str(workdir / "warm.parquet"), overwrite=True, index="IVF16,Flat", nprobe=2,
    )  # fmt: skip
    rss_before = rss_mb()
    before = resource.getrusage(resource.RUSAGE_SELF)
    embedder = HashedBagOfWords(args.dim)
    start = time.perf_counter()
    mined = hardneg.mine_hard_negatives(
        pairs(docs, args.pairs, args.seed),
        embedder,
        corpus=docs,
        num_negatives=3,
        verbose=False,
        cache_folder=str(workdir / "cache"),
        chunk_pairs=args.chunk_pairs,
        out=str(rows_file),
        overwrite=True,
        index=args.index,
        nprobe=args.nprobe,
    )
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    summary = hardneg.mining_summary(mined)
    corpus_vectors = args.docs * args.dim * 4 / 2**20
    chunk_vectors = args.chunk_pairs * args.dim * 4 / 2**20
    result = {
        "command": "taskset -c 0 python benchmarks/dropin_stream.py " + " ".join(sys.argv[1:]),
        "pairs": args.pairs,
        "docs": args.docs,
        "dim": args.dim,
        "chunk_pairs": args.chunk_pairs,
        "index": args.index,
        "nprobe": args.nprobe,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime, 1),
        "encode_seconds": round(embedder.seconds, 1),
        "corpus_texts_seconds": round(corpus_seconds, 1),
        "rows": summary["rows"],
        "chunks": summary["chunks"],
        "queries_short": summary["queries_short"],
        "rows_file_mb": round(rows_file.stat().st_size / 2**20, 1),
        "rss_before_call_mb": round(rss_before, 1),
        "peak_rss_mb": round(peak, 1),
        "call_added_at_peak_mb": round(peak - rss_before, 1),
        "corpus_vectors_mb": round(corpus_vectors, 1),
        "index_copy_mb": round(corpus_vectors, 1) if "Flat" in args.index else None,
        "chunk_query_vectors_mb": round(chunk_vectors, 1),
        "call_added_beyond_vectors_and_index_mb": round(peak - rss_before - 2 * corpus_vectors - chunk_vectors, 1),
        "index_report": summary["chunk_summaries"][0].get("index"),
        "cpu": describe(),
        "load_average_after": os.getloadavg()[0],
        "note": "seconds is wall time on core 0, which other jobs shared during the run; cpu_seconds is this process's",
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
