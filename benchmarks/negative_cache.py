"""What the live negative cache costs per step, and how close its negatives are to a full refresh's.

Mines one candidates file (the base model, ``--preset``, ``--negatives`` per row), then trains the
same ``--steps`` steps twice from it with the same seed:

- ``plain``: the candidates file's negatives, no refresh;
- ``cache``: ``refresh_mode=cache`` at ``--budget`` documents per step, re-mining every batch from
  the table, and at the last step re-encoding the whole corpus to measure which share of the
  cache's negatives a full refresh at that same step would have chosen.

Step times come from the trainer's own steps (``negative_cache.per_step.step_seconds`` for the
cache run, the same callback timing for the plain run), so model loading and the table's start are
not counted. Results go to ``benchmarks/results/negative_cache_<dataset>.json``.

    HARDNEG_CACHE=/tmp/hncache python benchmarks/negative_cache.py --data ../shared/data/scifact --steps 12
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from transformers import TrainerCallback

from hardneg.drivers.mine import mine
from hardneg.training.train import train


class StepTimer(TrainerCallback):
    """Seconds of every optimiser step (forward, backward, update and every callback before this one)."""

    def __init__(self):
        self.seconds: list[float] = []
        self._start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()
        return control

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self._start)
        return control


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scifact"))
    parser.add_argument("--preset", default="nv-retriever")
    parser.add_argument("--negatives", type=int, default=3)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--budget", type=int, default=64, help="documents the refresher re-encodes per step")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=256)
    # bfloat16 only where it is native (a GPU here): emulated on a CPU without AVX-512 BF16, it is several times slower
    native = "bfloat16" if torch.cuda.is_available() else "float32"
    parser.add_argument("--precision", default=native, choices=("float32", "bfloat16"), help="training precision")
    parser.add_argument("--encode-max-seq-length", type=int, default=None, help="mining and the table (default: the model's)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", default="/tmp/hardneg-bench-negative-cache")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    dataset = Path(args.data).resolve().name
    work = Path(args.work) / dataset
    work.mkdir(parents=True, exist_ok=True)
    candidates = work / "candidates.parquet"
    encoding = {"max_seq_length": args.encode_max_seq_length} if args.encode_max_seq_length else {}
    if not candidates.is_file():
        mine(args.data, candidates, preset=args.preset, num_negatives=args.negatives, output_format="candidates",
             seed=args.seed, show_progress=False, **encoding)  # fmt: skip
    common = {
        "max_steps": args.steps, "batch_size": args.batch_size, "max_seq_length": args.max_seq_length,
        "precision": args.precision, "seed": args.seed, "num_negatives": args.negatives, "show_progress": False,
    }  # fmt: skip
    results = {}
    for mode in ("plain", "cache"):
        timer = StepTimer()
        extra = (
            {"refresh_mode": "cache", "refresh_budget": args.budget, "cache_check_steps": args.steps} if mode == "cache" else {}
        )
        out = work / f"model-{mode}"
        result = train(candidates, out, callbacks=[timer], **common, **extra)
        # the first step carries one-off costs (allocations, the first batch): the mean is over the others
        seconds = timer.seconds[1:] if len(timer.seconds) > 1 else timer.seconds
        results[mode] = {
            "mean_step_seconds": round(float(np.mean(seconds)), 3),
            "step_seconds": [round(s, 3) for s in timer.seconds],
        }
        if mode == "cache":
            cache = result.summary["negative_cache"]
            results[mode]["agreement"] = cache["agreement"]
            results[mode]["final_age"] = cache["final_age"]
            results[mode]["mean_refresh_seconds"] = cache["mean_refresh_seconds"]
            results[mode]["age_per_step"] = [{"step": h["step"], **h["age"]} for h in cache["per_step"]]
    overhead = results["cache"]["mean_step_seconds"] / results["plain"]["mean_step_seconds"] - 1
    payload = {"settings": vars(args), "dataset": dataset, "overhead": round(overhead, 4), **results}
    agreement = results["cache"]["agreement"][-1]["share_full_refresh_would_choose"] if results["cache"]["agreement"] else None
    print(
        f"{dataset}: plain {results['plain']['mean_step_seconds']:.2f} s/step, cache (budget {args.budget}) "
        f"{results['cache']['mean_step_seconds']:.2f} s/step: {overhead:+.1%}; "
        f"share of the cache's negatives a full refresh at step {args.steps} would choose: {agreement}"
    )
    out = Path(args.out or Path(__file__).resolve().parent / "results" / f"negative_cache_{dataset}.json")
    out.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
