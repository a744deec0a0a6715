"""What a query offered as its own negative costs: a BEIR folder whose corpus also holds the training queries.

Many real corpora contain their queries (duplicate questions, FAQs, argument retrieval). This script writes a
view of a BEIR folder whose corpus is the original plus one document per training query, under the query's own
id and text, as such corpora have them; queries and qrels are the original's (linked, not copied). Nothing is
written into the repository: point ``--out`` at a scratch folder, then train and evaluate on it with the quality
harness (evaluation ignores a retrieved document whose id is the query's, as BEIR and MTEB do):

    python benchmarks/corpus_with_queries.py --data ../shared/data/scifact --out /tmp/scifact-with-queries
    python benchmarks/quality.py --data /tmp/scifact-with-queries --arm zero-shot --arm top --arm default \\
        --negatives 3 --seed 1 --seed 2 --seed 3 --max-seq-length 64 --encode-max-seq-length 64 --no-dev-check \\
        --work /tmp/q-with-queries --out benchmarks/results/quality_scifact_with_queries.json
    python benchmarks/quality.py --data /tmp/scifact-with-queries --arm top --negatives 3 --seed 1 --seed 2 --seed 3 \\
        --max-seq-length 64 --encode-max-seq-length 64 --no-dev-check --mine-option exclude_query_itself=false \\
        --work /tmp/q-with-queries-unfiltered --out benchmarks/results/quality_scifact_with_queries_unfiltered.json

(``--no-dev-check``: the comparison is of the negatives, not of what a dev check would keep.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def write_view(data: Path, out: Path, split: str = "train") -> dict:
    """``out``: ``data``'s corpus plus the queries of ``split`` as documents; its queries and qrels linked."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} exists and is not empty: choose a new folder (this script writes no file over another)")
    out.mkdir(parents=True, exist_ok=True)
    judged = {line.split("\t")[0] for line in (data / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]}
    queries = [json.loads(line) for line in (data / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line]
    added = [q for q in queries if q["_id"] in judged]
    corpus_ids = {json.loads(line)["_id"] for line in (data / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line}
    clash = [q["_id"] for q in added if q["_id"] in corpus_ids]
    if clash:
        raise SystemExit(f"{len(clash)} query ids are already document ids in {data} (first {clash[0]!r})")
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as fh:
        fh.write((data / "corpus.jsonl").read_text(encoding="utf-8"))
        for q in added:
            fh.write(json.dumps({"_id": q["_id"], "title": "", "text": q["text"]}, ensure_ascii=False) + "\n")
    (out / "queries.jsonl").symlink_to((data / "queries.jsonl").resolve())
    (out / "qrels").symlink_to((data / "qrels").resolve(), target_is_directory=True)
    info = {"source": str(data), "documents": len(corpus_ids) + len(added), "queries_added": len(added), "split": split}
    (out / "view.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--out", required=True, help="a new folder for the view")
    parser.add_argument("--split", default="train", help="whose queries become documents")
    args = parser.parse_args(argv)
    print(json.dumps(write_view(Path(args.data), Path(args.out), args.split)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
