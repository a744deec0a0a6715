"""Encoding throughput of every backend x precision on a BEIR corpus (SciFact's by default), and each one's nDCG@10 on its test split.

Variants, all encoding the same documents with all-MiniLM-L6-v2 in this process, through
hardneg's :class:`~hardneg.encoding.encode.Encoder` (what ``hardneg mine`` and ``hardneg eval`` use):

- ``BACKEND-PRECISION`` for every pair of :data:`hardneg.options.BACKEND_PRECISIONS`
  (``torch-float32``, ``torch-bf16``, ``torch-int8``, ``onnx-float32``, ``onnx-int8``,
  ``openvino-float32``, ``openvino-bf16``, ``openvino-int8``);
- with ``--variants``, also ``sentence-transformers`` (plain ``SentenceTransformer.encode``) and
  ``bf16-autocast`` (``torch.autocast`` around float32 weights), throughput only.

A variant whose arithmetic this machine does not run natively (bf16 without AVX512-BF16 or AMX)
is emulated slowly: it is timed on the first ``--sample-docs`` documents only and not evaluated
(``openvino-bf16`` is refused outright there). Every other variant encodes the whole corpus.

The CPU may be shared with other jobs, so the variants are interleaved: the documents are cut into
blocks and every block is encoded by every variant (in rotating order) before the next block, so
a slow period slows all variants alike. Exporting a model (once per weights, then cached) is timed
apart and not counted in docs/s. Each variant's corpus vectors are then stored in a fresh cache
under the key its ``Encoder`` would use, and :func:`hardneg.diagnostics.evaluate.evaluate_retriever`
(the body of ``hardneg eval``) scores it on the test split (SciFact: 300 queries): the test queries are encoded by the
variant, the corpus comes from that cache. A fast path qualifies when its nDCG@10 is within
``--tolerance`` (0.003) of torch-float32's.

With ``--kept``, queries of the train split are encoded too and each variant's vectors are mined
(presets ``top`` and ``nv-retriever``, seed 42); ``kept`` is the share of float32's negatives
(query, document) the variant also chose.

    python benchmarks/encode.py [--data FOLDER] [--docs N] [--block 256] [--variants a,b] [--kept] [--json] [--out FILE]

``--data`` names another BEIR folder with a test split (``../shared/data/nfcorpus``); the default,
``../shared/data/scifact``, must be beside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import hardneg
from hardneg.candidates.retriever import DenseRetriever
from hardneg.data import RetrievalData, load_beir, load_data
from hardneg.diagnostics.evaluate import evaluate_retriever
from hardneg.encoding.encode import Encoder
from hardneg.encoding.model import fingerprint_model, load_model
from hardneg.encoding.precision import encode_normalised
from hardneg.encoding.precomputed import PrecomputedEmbeddings
from hardneg.options import BACKEND_PRECISIONS, EncodingOptions

SCIFACT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scifact"
PRESETS = ("top", "nv-retriever")


REFERENCE = "torch-float32"


def cpu_flags() -> set[str]:
    try:
        line = next(x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("flags"))
        return set(line.split(":", 1)[1].split())
    except (OSError, StopIteration):
        return set()


def native(backend: str, precision: str) -> bool:
    """Whether this machine runs the variant's arithmetic in hardware (bf16 needs AVX512-BF16 or AMX)."""
    if precision != "bf16":
        return True
    if backend == "openvino":
        from hardneg.encoding.backends import cpu_has_native_bf16

        return cpu_has_native_bf16()
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def encoders(model, names: list[str], batch_size: int, cache: Path) -> dict:
    """name -> (function(texts) -> unit float32 embeddings, Encoder or None, export seconds)."""
    import torch

    fingerprint = fingerprint_model(model)
    out = {}
    for name in names:
        if name == "sentence-transformers":

            def plain(texts):
                return model.encode(
                    texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
                )

            out[name] = (plain, None, 0.0)
        elif name == "bf16-autocast":

            def autocast(texts):
                with torch.autocast(model.device.type, dtype=torch.bfloat16):
                    return encode_normalised(model, texts, "bf16", batch_size=batch_size, show_progress_bar=False)

            out[name] = (autocast, None, 0.0)
        else:
            backend, precision = name.split("-")
            enc = Encoder(
                model,
                fingerprint,
                batch_size=batch_size,
                precision=precision,
                backend=backend,
                cache_dir=cache / name,
                export_dir=cache / name,
                show_progress=False,
            )
            t0 = time.perf_counter()
            enc.prepare()  # the export (or conversion), timed apart
            out[name] = (lambda texts, e=enc: e.encode_texts(texts, "document"), enc, time.perf_counter() - t0)
    return out


def encode_interleaved(fns: dict, texts: list[str], block: int) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Every variant's embeddings of ``texts`` and its total seconds, block by block in rotating order."""
    names = list(fns)
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    seconds = dict.fromkeys(names, 0.0)
    for b, start in enumerate(range(0, len(texts), block)):
        chunk = texts[start : start + block]
        for name in names[b % len(names) :] + names[: b % len(names)]:
            t0 = time.perf_counter()
            parts[name].append(np.asarray(fns[name](chunk), dtype=np.float32))
            seconds[name] += time.perf_counter() - t0
        done = min(start + block, len(texts))
        print(f"  {done}/{len(texts)} texts: " + ", ".join(f"{n} {done / s:.1f}/s" for n, s in seconds.items()), file=sys.stderr)
    return {n: np.concatenate(p) for n, p in parts.items()}, seconds


def first_documents(data: RetrievalData, n: int, folder: Path) -> Path:
    """A BEIR folder with the first ``n`` documents and the queries whose positives are all among them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"_id": data.corpus_ids[i], "title": "", "text": data.corpus_texts[i]}) + "\n")
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as fq, open(folder / "qrels" / "train.tsv", "w") as fr:
        fr.write("query-id\tcorpus-id\tscore\n")
        for q, pos in enumerate(data.positives):
            if max(pos) < n:
                fq.write(json.dumps({"_id": data.query_ids[q], "text": data.query_texts[q]}) + "\n")
                fr.writelines(f"{data.query_ids[q]}\t{data.corpus_ids[d]}\t1\n" for d in pos)
    return folder


def negatives(data_dir: Path, queries: np.ndarray, docs: np.ndarray, preset: str) -> set[tuple[str, str]]:
    """(query id, document id) of every negative mined from these vectors."""
    emb = PrecomputedEmbeddings(queries, docs)
    result = hardneg.mine(data_dir, preset=preset, embeddings=emb, output_format="candidates", seed=42, show_progress=False)
    return {(r["query_id"], d) for r in result.table.to_pylist() for d in r["negative_ids"]}


def evaluate_variant(model, name: str, enc: Encoder, test, doc_emb: np.ndarray, batch_size: int) -> dict:
    """nDCG@10 on the test split of the variant: corpus vectors from its cache, the test queries encoded now."""
    enc._store(enc._shard_key(test.corpus_texts, "document"), doc_emb)
    backend, precision = name.split("-")
    options = EncodingOptions(
        batch_size=batch_size, precision=precision, backend=backend, cache_dir=str(enc.cache_dir), show_progress=False
    )
    retriever = DenseRetriever(model, options)
    result = evaluate_retriever(retriever, test)
    assert retriever.encoder.stats.cached == len(test.corpus_texts), "corpus vectors were not read from the cache"
    return {k: result.metrics[k] for k in ("ndcg@10", "recall@100")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SCIFACT, help="a BEIR folder with a test split (default: SciFact)")
    parser.add_argument("--docs", type=int, default=None, help="encode only the first N documents, no eval (default: all)")
    parser.add_argument("--block", type=int, default=256, help="documents per interleaving block")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--variants", default=None, help="comma-separated variant names (default: every backend-precision)")
    parser.add_argument("--sample-docs", type=int, default=256, help="documents a variant emulated on this CPU is timed on")
    parser.add_argument("--tolerance", type=float, default=0.003, help="largest nDCG@10 loss that qualifies a fast path")
    parser.add_argument("--kept", action="store_true", help="also mine the train split with each variant's vectors")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", default=None, help="also write the JSON object to this file")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"no data folder at {args.data}")
    import torch

    names = args.variants.split(",") if args.variants else [f"{b}-{p}" for b, ps in BACKEND_PRECISIONS.items() for p in ps]
    if REFERENCE not in names:
        names.insert(0, REFERENCE)
    test = load_data(str(args.data), split="test")
    texts = test.corpus_texts[: args.docs] if args.docs else test.corpus_texts
    model = load_model(None, device="cpu", show_progress=False)
    load_before = os.getloadavg()[0]
    cache = Path(tempfile.mkdtemp(prefix="hardneg-encode-bench-"))
    skipped, emulated, full = {}, [], []
    for name in names:
        if "-" in name and name.split("-")[0] in BACKEND_PRECISIONS:
            backend, precision = name.split("-")
            if backend == "openvino" and precision == "bf16" and not native(backend, precision):
                skipped[name] = "refused: this CPU has no AVX512-BF16 or AMX"
                continue
            (full if native(backend, precision) else emulated).append(name)
        else:
            full.append(name)
    fns = encoders(model, full + emulated, args.batch_size, cache)
    print(f"encoding {len(texts)} documents, {torch.get_num_threads()} torch threads; emulated: {emulated}", file=sys.stderr)
    doc_emb, doc_seconds = encode_interleaved({n: fns[n][0] for n in full}, texts, args.block)
    sample = texts[: args.sample_docs]
    emu_emb, emu_seconds = encode_interleaved({n: fns[n][0] for n in [REFERENCE, *emulated]}, sample, args.block)

    results = []
    for name in full + emulated:
        fn, enc, export_seconds = fns[name]
        is_full = name in full
        seconds = doc_seconds[name] if is_full else emu_seconds[name]
        reference_seconds = doc_seconds[REFERENCE] if is_full else emu_seconds[REFERENCE]
        emb, ref = (doc_emb[name], doc_emb[REFERENCE]) if is_full else (emu_emb[name], emu_emb[REFERENCE])
        row = {
            "variant": name,
            "native": is_full,
            "documents_timed": len(texts) if is_full else len(sample),
            "docs_per_second": round((len(texts) if is_full else len(sample)) / seconds, 2),
            "speedup_vs_float32": round(reference_seconds / seconds, 2),
            "prepare_seconds": round(export_seconds, 2),
            "mean_cosine_to_float32": round(float((emb * ref).sum(1).mean()), 5),
        }
        if is_full and enc is not None and not args.docs:
            print(f"  evaluating {name}", file=sys.stderr)
            row.update(evaluate_variant(model, name, enc, test, emb, args.batch_size))
        results.append(row)
    if REFERENCE in doc_emb and not args.docs:
        base = next(r["ndcg@10"] for r in results if r["variant"] == REFERENCE)
        for r in results:
            if "ndcg@10" in r:
                r["ndcg@10_minus_float32"] = round(r["ndcg@10"] - base, 4)
                r["qualifies"] = abs(r["ndcg@10"] - base) <= args.tolerance
    if args.kept:
        train_dir = args.data
        train = load_beir(train_dir, split="train")
        query_emb, _ = encode_interleaved({n: fns[n][0] for n in full}, train.query_texts, args.block)
        reference = {p: negatives(train_dir, query_emb[REFERENCE], doc_emb[REFERENCE], p) for p in PRESETS}
        for r in results:
            if r["variant"] in query_emb:
                for preset in PRESETS:
                    mined = negatives(train_dir, query_emb[r["variant"]], doc_emb[r["variant"]], preset)
                    r[f"kept_{preset}"] = round(len(mined & reference[preset]) / max(1, len(reference[preset])), 4)
    flags = cpu_flags()
    report = {
        "command": "python " + " ".join(sys.argv),
        "data": args.data.resolve().name,
        "documents": len(texts),
        "test_queries": len(test.query_ids),
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_flags": sorted(f for f in flags if f.startswith(("avx", "amx")) or "vnni" in f or "bf16" in f),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "variants": results,
        "not_run": skipped,
    }
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(report))
        return
    print(
        f"{report['documents']} {report['data']} documents, {report['torch_threads']} torch threads, CPU flags {report['cpu_flags']}"
    )
    print(f"load average {load_before:.2f} before, {report['load_average_after']:.2f} after")
    print(
        f"{'variant':<20}{'docs':>6}{'docs/s':>9}{'speed-up':>10}{'prep s':>8}{'cosine':>9}{'nDCG@10':>9}{'delta':>8}  qualifies"
    )
    for r in results:
        ndcg = (
            f"{r['ndcg@10']:>9.4f}{r['ndcg@10_minus_float32']:>+8.4f}  {r['qualifies']}"
            if "ndcg@10" in r
            else f"{'-':>9}{'-':>8}  -"
        )
        print(
            f"{r['variant']:<20}{r['documents_timed']:>6}{r['docs_per_second']:>9.1f}{r['speedup_vs_float32']:>9.2f}x"
            f"{r['prepare_seconds']:>8.1f}{r['mean_cosine_to_float32']:>9.4f}{ndcg}"
        )
    for name, why in skipped.items():
        print(f"{name:<20}{why}")


if __name__ == "__main__":
    main()
