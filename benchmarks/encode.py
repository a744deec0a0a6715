"""Encoding throughput per precision on SciFact, and how many mined negatives each keeps versus float32.

Variants, all encoding the same documents with all-MiniLM-L6-v2 in this process:

- ``sentence-transformers``: plain ``SentenceTransformer.encode`` (the baseline every peer uses);
- ``float32`` / ``bf16`` / ``int8``: hardneg's precisions (:mod:`hardneg.encoding.precision`);
- ``bf16-autocast``: ``torch.autocast`` around float32 weights, for comparison with casting them.

The CPU may be shared with other jobs, so the variants are interleaved: the documents are cut into
blocks and every block is encoded by every variant (in rotating order) before the next block, so
a slow period slows all variants alike. Then queries are encoded the same way and each variant's
vectors are mined (presets ``top`` and ``nv-retriever``, seed 42) through
:class:`~hardneg.encoding.precomputed.PrecomputedEmbeddings`; ``kept`` is the share of float32's negatives
(query, document) that the variant also chose.

    python benchmarks/encode.py [--docs N] [--block 256] [--json]

Needs ../shared/data/scifact beside the repository.
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
from hardneg.data import RetrievalData, load_beir
from hardneg.encoding.model import load_model
from hardneg.encoding.precision import encode_normalised, model_for_precision
from hardneg.encoding.precomputed import PrecomputedEmbeddings

SCIFACT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scifact"
PRESETS = ("top", "nv-retriever")


def variants(model, batch_size: int) -> dict:
    """name -> function(texts) -> unit float32 embeddings."""
    import torch

    def plain(texts):
        return model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )

    def autocast(texts):
        with torch.autocast(model.device.type, dtype=torch.bfloat16):
            return encode_normalised(model, texts, "bf16", batch_size=batch_size, show_progress_bar=False)

    out = {"sentence-transformers": plain}
    for precision in ("float32", "bf16", "int8"):
        prepared = model_for_precision(model, precision)
        out[precision] = lambda texts, m=prepared, p=precision: encode_normalised(
            m, texts, p, batch_size=batch_size, show_progress_bar=False
        )
    out["bf16-autocast"] = autocast
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=None, help="encode only the first N documents (default: all 5,183)")
    parser.add_argument("--block", type=int, default=256, help="documents per interleaving block")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not SCIFACT.is_dir():
        sys.exit(f"SciFact not found at {SCIFACT}")
    import torch

    data_dir = SCIFACT
    if args.docs:
        data_dir = first_documents(load_beir(SCIFACT, split="train"), args.docs, Path(tempfile.mkdtemp()) / "scifact")
    data = load_beir(data_dir, split="train")
    model = load_model(None, device="cpu")
    fns = variants(model, args.batch_size)
    print(f"encoding {len(data.corpus_texts)} documents, {torch.get_num_threads()} torch threads", file=sys.stderr)
    doc_emb, doc_seconds = encode_interleaved(fns, data.corpus_texts, args.block)
    query_emb, _ = encode_interleaved(fns, data.query_texts, args.block)

    reference = {p: negatives(data_dir, query_emb["float32"], doc_emb["float32"], p) for p in PRESETS}
    results = []
    for name in fns:
        row = {
            "variant": name,
            "docs_per_second": round(len(data.corpus_texts) / doc_seconds[name], 2),
            "speedup_vs_float32": round(doc_seconds["float32"] / doc_seconds[name], 2),
            "mean_cosine_to_float32": round(float((doc_emb[name] * doc_emb["float32"]).sum(1).mean()), 5),
        }
        for preset in PRESETS:
            mined = negatives(data_dir, query_emb[name], doc_emb[name], preset)
            row[f"kept_{preset}"] = round(len(mined & reference[preset]) / max(1, len(reference[preset])), 4)
        results.append(row)
    report = {
        "documents": len(data.corpus_texts),
        "queries": len(data.query_texts),
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "load_average_after": os.getloadavg()[0],
        "variants": results,
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"{report['documents']} SciFact documents, {report['queries']} queries, {report['torch_threads']} torch threads")
    print(f"{'variant':<24}{'docs/s':>9}{'speed-up':>10}{'cosine':>9}" + "".join(f"{'kept ' + p:>18}" for p in PRESETS))
    for r in results:
        print(
            f"{r['variant']:<24}{r['docs_per_second']:>9.1f}{r['speedup_vs_float32']:>9.2f}x{r['mean_cosine_to_float32']:>9.4f}"
            + "".join(f"{r['kept_' + p]:>18.1%}" for p in PRESETS)
        )


if __name__ == "__main__":
    main()
