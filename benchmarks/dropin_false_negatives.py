"""Planted false negatives among the negatives of ``hardneg.mine_hard_negatives``, called as a sentence-transformers user calls it.

The demo's (query, positive) pairs as a ``datasets.Dataset``, the default model as a
``SentenceTransformer`` object, the demo corpus as ``corpus=``, 3 negatives, triplet rows: once with
the peer's arguments only (the plain call), then once per preset. A negative counts as a planted
false negative when its text is a document that ``demo_data/false_negatives.tsv`` lists for the
row's query. Lower is cleaner. ``in-batch`` mines no negatives and is left out.

    python benchmarks/dropin_false_negatives.py [--json] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import logging

import datasets
from sentence_transformers import SentenceTransformer

from demo_false_negatives import planted
from hardneg import mine_hard_negatives
from hardneg.data import load_data
from hardneg.encoding.model import default_model_path

CALLS: list[tuple[str, dict]] = [
    ("plain call", {}),
    *((f'preset="{p}"', {"preset": p}) for p in ("default", "top", "nv-retriever", "ance", "simans", "dpr", "random")),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    demo = load_data("demo")
    query_id = dict(zip(demo.query_texts, demo.query_ids))
    doc_ids: dict[str, set[str]] = {}
    for doc, text in zip(demo.corpus_ids, demo.corpus_texts):
        doc_ids.setdefault(text, set()).add(doc)
    pairs = [(demo.query_texts[q], demo.corpus_texts[d]) for q, docs in enumerate(demo.positives) for d in docs]
    dataset = datasets.Dataset.from_dict({"query": [a for a, _ in pairs], "answer": [p for _, p in pairs]})
    model = SentenceTransformer(default_model_path(), device="cpu")
    false_negatives = planted("false_negatives.tsv")
    results = []
    for name, kwargs in CALLS:
        mined = mine_hard_negatives(
            dataset, model, corpus=demo.corpus_texts, num_negatives=3, output_format="triplet", seed=args.seed,
            verbose=False, **kwargs,
        )  # fmt: skip
        rows = mined.to_list()
        false = sum(bool(doc_ids[r["negative"]] & false_negatives.get(query_id[r["query"]], set())) for r in rows)
        results.append({"call": name, "rows": len(rows), "false_negatives": false, "share": round(false / len(rows), 4)})
    if args.json:
        print(json.dumps(results))
        return
    print(f"{'call':<26}{'rows':>6}{'planted false negatives':>25}{'share':>8}")
    for r in results:
        print(f"{r['call']:<26}{r['rows']:>6}{r['false_negatives']:>25}{r['share']:>8.1%}")


if __name__ == "__main__":
    main()
