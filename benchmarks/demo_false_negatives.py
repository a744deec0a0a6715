"""How many of each preset's negatives are planted false negatives of the demo dataset.

The demo lists documents that answer a query but are not in its qrels (false_negatives.tsv) and
same-topic documents that do not answer it (hard_negatives.tsv). For each preset this prints the
share of chosen negatives that are planted false negatives (lower is cleaner) and planted hard
negatives (higher is harder).

    python benchmarks/demo_false_negatives.py [--json]
"""

from __future__ import annotations

import argparse
import csv
import json

import hardneg
from hardneg.data import demo_path

PRESETS = ["top", "nv-retriever", "default", "ance", "simans", "dpr", "random"]


def planted(name: str) -> dict[str, set[str]]:
    """Query id -> the corpus ids a demo file (``false_negatives.tsv``, ``hard_negatives.tsv``) plants for it."""
    out: dict[str, set[str]] = {}
    with open(demo_path() / name, encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            out.setdefault(row["query-id"], set()).add(row["corpus-id"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    false_negatives, hard_negatives = planted("false_negatives.tsv"), planted("hard_negatives.tsv")
    results = []
    for preset in PRESETS:
        res = hardneg.mine("demo", preset=preset, output_format="candidates", seed=args.seed, show_progress=False)
        rows = res.table.to_pylist()
        total = sum(len(r["negative_ids"]) for r in rows)
        false = sum(len(set(r["negative_ids"]) & false_negatives.get(r["query_id"], set())) for r in rows)
        hard = sum(len(set(r["negative_ids"]) & hard_negatives.get(r["query_id"], set())) for r in rows)
        results.append(
            {
                "preset": preset,
                "negatives": total,
                "false_negatives": false,
                "planted_hard": hard,
                "false_negative_share": round(false / total, 4),
                "planted_hard_share": round(hard / total, 4),
                "queries_short": res.summary["queries_short"],
            }
        )
    if args.json:
        print(json.dumps(results))
        return
    print(f"{'preset':<14}{'negatives':>10}{'false neg.':>12}{'share':>8}{'planted hard':>14}{'share':>8}")
    for r in results:
        print(
            f"{r['preset']:<14}{r['negatives']:>10}{r['false_negatives']:>12}{r['false_negative_share']:>8.1%}"
            f"{r['planted_hard']:>14}{r['planted_hard_share']:>8.1%}"
        )


if __name__ == "__main__":
    main()
