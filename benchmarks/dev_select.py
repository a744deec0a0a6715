"""What a user gets who trains one arm in several settings and keeps, per seed, whichever model (or the base
model) scores best on dev: read from ``benchmarks/quality.py`` result files of one dataset.

Each file is one setting (labelled by its learning rate unless ``--label`` says otherwise); an arm counts
where every file has it with its dev score. The base model's dev and test scores come from the files'
dev-checked rows and zero-shot run. Ties go to the base model, then to the earlier file, as the dev check
keeps a trained model only when it is strictly better.

Example:
    python benchmarks/dev_select.py benchmarks/results/quality_nfcorpus.json \\
        benchmarks/results/quality_nfcorpus_lr5e-6.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def base_scores(results: list[dict]) -> tuple[float, dict[int, float]]:
    """The base model's test nDCG@10 and its dev nDCG@10 per seed."""
    test, dev = None, {}
    for data in results:
        for r in data["runs"]:
            if r["arm"] == "zero-shot":
                test = r["ndcg@10"]
            if "base_dev_ndcg@10" in r:
                dev[r["seed"]] = r["base_dev_ndcg@10"]
    if test is None or not dev:
        raise SystemExit("the files hold no zero-shot run or no dev-checked rows (run quality.py with --dev-check)")
    return test, dev


def select(results: list[dict], labels: list[str]) -> dict[str, list[tuple[int, str, float]]]:
    """Arm -> per seed (seed, the setting kept or ``base``, its test nDCG@10)."""
    base_test, base_dev = base_scores(results)
    trained = [{(r["arm"], r["seed"]): r for r in d["runs"] if "dev_ndcg@10" in r and "kept_trained" not in r} for d in results]
    chosen: dict[str, list[tuple[int, str, float]]] = {}
    for arm, seed in sorted(trained[0], key=lambda key: key[1]):
        if seed not in base_dev or any((arm, seed) not in t for t in trained):
            continue
        best = ("base", base_dev[seed], base_test)
        for label, t in zip(labels, trained):
            r = t[(arm, seed)]
            if r["dev_ndcg@10"] > best[1]:
                best = (label, r["dev_ndcg@10"], r["ndcg@10"])
        chosen.setdefault(arm, []).append((seed, best[0], best[2]))
    return chosen


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="quality.py result files of one dataset")
    parser.add_argument("--label", action="append", help="one per file (default: its learning rate)")
    args = parser.parse_args(argv)
    results = [load(f) for f in args.files]
    labels = args.label or [f"lr {d['settings']['lr']:g}" for d in results]
    if len(labels) != len(results):
        raise SystemExit(f"{len(labels)} labels for {len(results)} files")
    chosen = select(results, labels)
    for arm, picks in chosen.items():
        scores = [s for _, _, s in picks]
        spread = f" ± {statistics.stdev(scores):.4f}" if len(scores) > 1 else ""
        kept = ", ".join(f"seed {seed}: {label} {score:.4f}" for seed, label, score in picks)
        print(f"{arm:<28} {statistics.mean(scores):.4f}{spread}   ({kept})")
    return chosen


if __name__ == "__main__":
    main()
