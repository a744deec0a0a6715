"""Which negatives train the best retriever? nDCG@10 on SciFact test, arm by arm, seed by seed.

Arms (all start from all-MiniLM-L6-v2 and get the same training budget: ``--steps`` optimiser
steps of ``--batch-size`` rows, learning rate ``--lr``, max length ``--max-seq-length``, one mined
negative per row where the arm mines; MultipleNegativesRankingLoss, so every arm also has the
in-batch negatives):

- ``zero-shot``: the base model, no training;
- ``in-batch``: (query, positive) pairs only;
- ``dpr``: static BM25 negatives (preset ``dpr``: the top BM25 document that is not a positive);
- ``dense-static``: the base model's top non-positive document (preset ``top``, what
  sentence-transformers ``mine_hard_negatives`` does by default), mined once;
- ``nv-retriever``: the base model's top document below 95 % of the positive's score (preset
  ``nv-retriever``, TopK-PercPos), mined once;
- ``evolve``: ``hardneg evolve`` with ``--evolve-rounds`` rounds sharing the step budget, each
  round mining with the previous round's model (preset ``--evolve-preset``), negatives re-drawn
  each epoch from the kept candidates; the model reported is the run's best by dev nDCG@10 (dev
  = 10 % of the training queries, held out, so this arm trains on fewer queries).

Training uses SciFact train queries only; test queries are used only for the final score.
Prints a table of mean ± std over seeds and writes every number to ``--out``.

Example (see docs/evolve.md for what was run and measured):

    HARDNEG_CACHE=/tmp/hncache python benchmarks/quality.py --seed 1 --seed 2 --seed 3 \\
        --out benchmarks/results/quality.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from hardneg.evolution.evaluate import evaluate
from hardneg.evolution.loop import evolve
from hardneg.mining.api import mine
from hardneg.training.train import train

ARMS = ("zero-shot", "in-batch", "dpr", "dense-static", "nv-retriever", "evolve")
STATIC_PRESETS = {"dpr": "dpr", "dense-static": "top", "nv-retriever": "nv-retriever"}


def run_arm(arm: str, seed: int, args, work: Path) -> dict:
    """Train (when the arm trains) and score one arm for one seed; reuses finished outputs."""
    name = f"{arm}-{args.evolve_label}" if arm == "evolve" and args.evolve_label else arm
    folder = work / f"{name}-seed{seed}"
    result_path = folder / "result.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    common = {"show_progress": False, "device": args.device}
    training = {
        "max_steps": args.steps,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "max_seq_length": args.max_seq_length,
        "precision": args.train_precision,
        "seed": seed,
    }
    model, extra = None, {}
    if arm == "in-batch":
        model = folder / "model"
        if not model.is_dir():
            train(args.data, model, split="train", **training, **common)
    elif arm in STATIC_PRESETS:
        rows = folder / "train.parquet"
        if not rows.is_file():
            mine(args.data, rows, preset=STATIC_PRESETS[arm], split="train", num_negatives=args.negatives, seed=seed, **common)
        model = folder / "model"
        if not model.is_dir():
            train(rows, model, **training, **common)
    elif arm == "evolve":
        negatives = args.evolve_negatives or args.negatives
        per_round = {
            **training,
            "max_steps": args.steps // args.evolve_rounds,
            "num_negatives": negatives,
            **json.loads(args.evolve_train_options or "{}"),
        }
        mine_options = {"num_negatives": negatives, **json.loads(args.evolve_mine_options or "{}")}
        run = evolve(
            args.data, folder / "run", rounds=args.evolve_rounds, patience=args.evolve_rounds, preset=args.evolve_preset,
            mine_options=mine_options, train_options=per_round, seed=seed, audit=False,
            precision=args.eval_precision, **common,
        )  # fmt: skip
        model = run.best_model
        extra = {"best_round": run.summary["best_round"], "dev": [r["dev"]["ndcg@10"] for r in run.summary["rounds"]]}
    metrics = evaluate(
        args.data, split="test", model=None if model is None else str(model), precision=args.eval_precision, **common
    )
    result = {
        "arm": name,
        "seed": seed,
        **metrics.metrics,
        **extra,
        "model": None if model is None else str(model),
        "seconds": round(time.perf_counter() - start, 1),
    }
    result_path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scifact"))
    parser.add_argument("--arm", action="append", choices=ARMS, help="arms to run (repeatable; default all)")
    parser.add_argument("--seed", type=int, action="append", help="seeds (repeatable; default 1, 2, 3)")
    parser.add_argument("--steps", type=int, default=29, help="optimiser steps per arm (29 = one epoch of SciFact train at 32)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--max-seq-length", type=int, default=256)
    # bfloat16 (mixed-precision training, bf16 encoding) keeps all arms under 2 hours on 2 CPU cores
    parser.add_argument("--train-precision", default="bfloat16", choices=("float32", "bfloat16"))
    parser.add_argument("--eval-precision", default="bfloat16", choices=("float32", "bfloat16"))
    parser.add_argument("--negatives", type=int, default=1, help="mined negatives per training row (mining arms)")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--evolve-rounds", type=int, default=1)
    parser.add_argument("--evolve-negatives", type=int, default=3, help="negatives per row in the evolve arm (0: --negatives)")
    parser.add_argument(
        "--evolve-train-options",
        default='{"refresh_steps": 10}',
        help="JSON object of training overrides for the evolve arm's rounds (default: re-mine every 10 steps)",
    )
    parser.add_argument("--evolve-label", default="", help="name suffix of the evolve arm, to keep several configurations apart")
    parser.add_argument("--evolve-preset", default="nv-retriever")
    parser.add_argument("--evolve-mine-options", default=None, help="JSON object of mining overrides for the evolve arm")
    parser.add_argument("--work", default="/tmp/hardneg-bench-quality", help="models and per-arm results (reused on rerun)")
    parser.add_argument("--out", help="write all results as JSON here")
    args = parser.parse_args(argv)
    arms = args.arm or list(ARMS)
    seeds = args.seed or [1, 2, 3]
    work = Path(args.work)

    results = []
    for seed in seeds:
        for arm in arms:
            if arm == "zero-shot" and seed != seeds[0]:
                continue  # no randomness: one evaluation is every seed's
            r = run_arm(arm, seed, args, work)
            results.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)

    print(f"\n{'arm':<14}{'nDCG@10 mean':>14}{'std':>8}{'seeds':>7}{'Recall@100':>12}")
    table = {}
    for arm in dict.fromkeys(r["arm"] for r in results):
        values = [r["ndcg@10"] for r in results if r["arm"] == arm]
        recall = [r["recall@100"] for r in results if r["arm"] == arm]
        std = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
        table[arm] = {"mean": round(float(np.mean(values)), 4), "std": round(std, 4), "n": len(values)}
        print(f"{arm:<14}{np.mean(values):>14.4f}{std:>8.4f}{len(values):>7}{np.mean(recall):>12.4f}")
    for name, row in table.items():
        if not name.startswith("evolve"):
            continue
        # the bar: beat every other arm's mean by more than the larger of the two stds
        margins = {
            other: round(float(row["mean"] - o["mean"] - max(np.nan_to_num(row["std"]), np.nan_to_num(o["std"]))), 4)
            for other, o in table.items()
            if not other.startswith("evolve") and o["n"] and row["n"] > 1
        }
        row["margin_over_larger_std"] = margins
        if margins:
            verdict = (
                "beats every arm"
                if min(margins.values()) > 0
                else "does not beat " + ", ".join(k for k, v in margins.items() if v <= 0)
            )
            print(f"{name}: {verdict} by more than the larger std (margins {margins})")
    total = sum(r["seconds"] for r in results)
    print(f"\nseconds, all arms and seeds as first run (reused results count their first run): {total:.0f}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        settings = {k: v for k, v in vars(args).items() if k not in ("out",)}
        Path(args.out).write_text(
            json.dumps(
                {"settings": settings, "seeds": seeds, "table": table, "total_seconds": round(total), "runs": results}, indent=2
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
