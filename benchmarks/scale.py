"""Time and memory of the search → filter → select → write path on synthetic embeddings.

    python benchmarks/scale.py --docs 100000 --queries 10000 [--index IVF1024,Flat --nprobe 16] [--st] --json

prints one JSON object. The work runs in a child process (``hardneg.mining.run`` fed precomputed
embeddings: no model), and this process measures the child's wall time and its peak resident
memory from outside (``os.wait4``'s ``ru_maxrss``, what ``/usr/bin/time -v`` reports). Memory-mapped
embedding pages count in the RSS once touched, so ``rss_above_embeddings_mb`` is the memory the
pipeline itself used.

The data: ``--docs`` documents and ``--queries`` queries with one positive each, 384-dimensional
unit vectors in float32 shards (``--shard-size`` rows, memory-mapped). Documents are drawn around
``docs / 1000`` random topic centres (cosine to the centre ~0.7); a query is its positive plus
noise (cosine to it ~0.9), so nearest neighbours have the cluster structure that approximate
indexes rely on. Texts are ids (``"d17"``), so writing costs little beside search. Generated once
per size and seed under ``--workdir``.

``--st`` also runs sentence-transformers' ``mine_hard_negatives`` (``use_faiss=False``, its
defaults: top-3 negatives, ``faiss_batch_size=16384`` queries per similarity matrix) on the same
vectors, which it reads from its own ``cache_folder`` files instead of encoding (its documented
cache; the model is loaded but never runs). Both children run under the same address-space limit
(``--memory-limit-gb``); a child that exceeds it is reported as out of memory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 384


# --- synthetic data ----------------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def generate(folder: Path, n_docs: int, n_queries: int, shard_size: int, seed: int) -> None:
    """BEIR files with id texts, and document / query embedding shards (see the module docstring)."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(max(10, n_docs // 1000), DIM)))
    (folder / "vectors" / "documents").mkdir(parents=True, exist_ok=True)
    (folder / "vectors" / "queries").mkdir(parents=True, exist_ok=True)
    (folder / "beir" / "qrels").mkdir(parents=True, exist_ok=True)
    positives = rng.integers(0, n_docs, n_queries)
    pos_vectors = np.zeros((n_queries, DIM), np.float32)
    for s, start in enumerate(range(0, n_docs, shard_size)):
        n = min(shard_size, n_docs - start)
        r = np.random.default_rng([seed, s])
        docs = _unit(centres[r.integers(0, len(centres), n)] + r.normal(size=(n, DIM)) / np.sqrt(DIM))
        np.save(folder / "vectors" / "documents" / f"{s:05d}.npy", docs)
        inside = (positives >= start) & (positives < start + n)
        pos_vectors[inside] = docs[positives[inside] - start]
    queries = _unit(pos_vectors + 0.5 * rng.normal(size=(n_queries, DIM)) / np.sqrt(DIM))
    np.save(folder / "vectors" / "queries" / "00000.npy", queries)
    with open(folder / "beir" / "corpus.jsonl", "w") as fh:
        fh.writelines(f'{{"_id": "d{i}", "text": "d{i}"}}\n' for i in range(n_docs))
    with open(folder / "beir" / "queries.jsonl", "w") as fh:
        fh.writelines(f'{{"_id": "q{j}", "text": "q{j}"}}\n' for j in range(n_queries))
    with open(folder / "beir" / "qrels" / "train.tsv", "w") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        fh.writelines(f"q{j}\td{p}\t1\n" for j, p in enumerate(positives))
    (folder / "done").write_text("ok\n")


def write_st_cache(folder: Path) -> Path:
    """sentence-transformers' cache files for these vectors, named as mine_hard_negatives names them."""
    from sentence_transformers import SentenceTransformer

    from hardneg.encoding.model import default_model_path

    cache = folder / "st-cache"
    if (cache / "done").is_file():
        return cache
    cache.mkdir(exist_ok=True)
    model = SentenceTransformer(default_model_path(), device="cpu")
    name = model.model_card_data.base_model or ""
    n_docs = sum(1 for _ in open(folder / "beir" / "corpus.jsonl"))
    n_queries = sum(1 for _ in open(folder / "beir" / "queries.jsonl"))
    corpus = [f"d{i}" for i in range(n_docs)]  # unique, and every positive is already in it
    queries = [f"q{j}" for j in range(n_queries)]
    q_hash = hashlib.sha256(repr((name, None, None, queries)).encode(), usedforsecurity=False).hexdigest()
    c_hash = hashlib.sha256(repr((name, None, None, corpus)).encode(), usedforsecurity=False).hexdigest()
    shards = sorted((folder / "vectors" / "documents").glob("*.npy"))
    out = np.lib.format.open_memmap(cache / f"corpus_embeddings_{c_hash}.npy", mode="w+", dtype=np.float32, shape=(n_docs, DIM))
    start = 0
    for shard in shards:
        arr = np.load(shard, mmap_mode="r")
        out[start : start + len(arr)] = arr
        start += len(arr)
    out.flush()
    del out
    np.save(cache / f"query_embeddings_{q_hash}.npy", np.load(folder / "vectors" / "queries" / "00000.npy"))
    (cache / "done").write_text("ok\n")
    return cache


# --- the measured children ---------------------------------------------------------------------


def run_hardneg(folder: Path, args: argparse.Namespace) -> dict:
    import hardneg
    from hardneg.encoding.precomputed import PrecomputedEmbeddings

    emb = PrecomputedEmbeddings.from_folder(folder / "vectors", name="synthetic")
    out = Path(tempfile.mkdtemp(dir=args.workdir)) / "rows.parquet"
    params = dict(
        preset="top",
        embeddings=emb,
        index=args.index,
        nprobe=args.nprobe,
        ef_search=args.ef_search,
        query_chunk_size=args.query_chunk_size,
        cache_dir=str(folder / "cache"),
        show_progress=False,
        resume=False,
    )
    result = hardneg.mine(folder / "beir", out, **params)
    summary = result.summary
    return {
        "rows": summary["rows"],
        "stage_seconds": summary["seconds"],
        "index_report": summary.get("index"),
        "out_mb": out.stat().st_size / 2**20,
    }


def run_st(folder: Path, args: argparse.Namespace) -> dict:
    import datasets
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    from hardneg.encoding.model import default_model_path

    cache = folder / "st-cache"
    model = SentenceTransformer(default_model_path(), device="cpu")
    qrels = [line.rstrip("\n").split("\t") for line in open(folder / "beir" / "qrels" / "train.tsv")][1:]
    n_docs = sum(1 for _ in open(folder / "beir" / "corpus.jsonl"))
    pairs = datasets.Dataset.from_dict({"anchor": [q for q, _, _ in qrels], "positive": [d for _, d, _ in qrels]})
    start = time.perf_counter()
    mined = mine_hard_negatives(
        pairs, model, corpus=[f"d{i}" for i in range(n_docs)], cache_folder=str(cache), verbose=False, use_faiss=args.st_faiss
    )
    return {"rows": len(mined), "mine_seconds": round(time.perf_counter() - start, 3)}


def child_main(args: argparse.Namespace) -> None:
    folder = Path(args.folder)
    result = run_hardneg(folder, args) if args.child == "hardneg" else run_st(folder, args)
    print("RESULT " + json.dumps(result), flush=True)


def measure(command: list[str], limit_gb: float) -> dict:
    """Run ``command`` under an address-space limit; its wall time, peak RSS and what it printed."""

    def limit() -> None:
        size = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out_file, stderr=err_file, text=True, preexec_fn=limit)
        _, status, usage = os.wait4(proc.pid, 0)  # reaped here, with its resource usage
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    result = {"seconds": round(seconds, 2), "peak_rss_mb": round(peak, 1), "exit_code": proc.returncode}
    line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    if line:
        result.update(json.loads(line[len("RESULT ") :]))
    else:
        lowered = err.lower()
        oom = (
            "memoryerror" in lowered or "can't allocate" in lowered or "cannot allocate" in lowered or "out of memory" in lowered
        )
        result["error"] = "out of memory" if oom else (err.strip().splitlines() or ["failed"])[-1][:300]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, required=True)
    parser.add_argument("--queries", type=int, required=True)
    parser.add_argument("--index", default="Flat", help="FAISS index factory string (default: exact)")
    parser.add_argument("--nprobe", type=int, default=None)
    parser.add_argument("--ef-search", type=int, default=None)
    parser.add_argument("--shard-size", type=int, default=100_000, help="document rows per embedding shard")
    parser.add_argument("--query-chunk-size", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "hardneg-scale"))
    parser.add_argument("--memory-limit-gb", type=float, default=16.0, help="address-space limit of each child")
    parser.add_argument("--st", action="store_true", help="also run sentence-transformers mine_hard_negatives")
    parser.add_argument("--st-faiss", action="store_true", help="... with use_faiss=True")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--child", choices=("hardneg", "st"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return

    folder = Path(args.workdir) / f"synthetic-{args.docs}-{args.queries}-{args.shard_size}-{args.seed}"
    if not (folder / "done").is_file():
        print(f"generating {args.docs:,} documents and {args.queries:,} queries in {folder}", file=sys.stderr)
        generate(folder, args.docs, args.queries, args.shard_size, args.seed)
    embeddings_mb = sum(f.stat().st_size for f in (folder / "vectors").rglob("*.npy")) / 2**20
    own = [a for a in sys.argv[1:] if a not in ("--json", "--st", "--st-faiss")]
    base = [sys.executable, os.path.abspath(__file__), *own, "--folder", str(folder)]
    report = {
        "docs": args.docs,
        "queries": args.queries,
        "dim": DIM,
        "index": args.index,
        "nprobe": args.nprobe,
        "ef_search": args.ef_search,
    }
    report["embeddings_mb"] = round(embeddings_mb, 1)
    report["memory_limit_gb"] = args.memory_limit_gb
    report["cpus"] = os.cpu_count()
    report["load_average_before"] = round(os.getloadavg()[0], 2)
    report.update(measure([*base, "--child", "hardneg"], args.memory_limit_gb))
    if "peak_rss_mb" in report:
        report["rss_above_embeddings_mb"] = round(report["peak_rss_mb"] - embeddings_mb, 1)
    if args.st or args.st_faiss:
        write_st_cache(folder)
        st_args = ["--st-faiss"] if args.st_faiss else []
        st = measure([*base, *st_args, "--child", "st"], args.memory_limit_gb)
        st["use_faiss"] = args.st_faiss
        st["similarity_matrix_mb"] = None if args.st_faiss else round(min(16384, args.queries) * args.docs * 4 / 2**20, 1)
        report["sentence_transformers"] = st
    report["load_average_after"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(report))
    else:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
