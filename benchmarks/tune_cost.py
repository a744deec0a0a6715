"""What ``--preset auto`` adds to a cold mine: the same data mined cold with ``default`` and with ``auto``.

Both runs encode from scratch (``use_cache=False``); ``auto`` encodes once too (its tuner's vectors are the
mine's), so the difference is the tuner's own work: one search of the audited queries and the grid's audits.

    python benchmarks/tune_cost.py --data ../shared/data/scifact --data ../shared/data/nfcorpus \\
        --max-seq-length 64 --out benchmarks/results/tune_cost.json

The CPU kind (``lscpu``) is recorded beside the times.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cpu_kind  # beside this script


def cpu_of_this_run() -> dict:
    cpu = cpu_kind.describe()
    return {
        "model": cpu["model_name"],
        "cpus": cpu["cpus"],
        "avx2": "avx2" in cpu["flags"],
        "avx512_vnni": "avx512_vnni" in cpu["flags"],
        "avx512_bf16": "avx512_bf16" in cpu["flags"],
        "amx": any(f.startswith("amx") for f in cpu["flags"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--max-seq-length", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2, choices=(1, 2), help="1: default then auto; 2: also auto then default")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "tune_cost.json"))
    args = parser.parse_args(argv)

    from hardneg.drivers.mine import mine

    common = {"split": args.split, "use_cache": False, "show_progress": False, "seed": args.seed, "precision": "float32"}
    if args.max_seq_length:
        common["max_seq_length"] = args.max_seq_length
    runs = []
    for data in args.data:
        row: dict = {"data": Path(data).name, "default_seconds": [], "auto_seconds": [], "audit_seconds": []}
        # alternating order, so that a slow period or a warm-up favours neither
        for order in [("default", "auto"), ("auto", "default")][: args.repeats]:
            for preset in order:
                start = time.perf_counter()
                result = mine(data, None, preset=preset, **common)
                row[f"{preset}_seconds"].append(round(time.perf_counter() - start, 2))
                if preset == "auto":
                    tuning = result.summary["tuning"]
                    row["auto_chose"] = tuning["chosen_name"]
                    row["audit_seconds"].append(tuning["audit_seconds"])
                    row["settings_measured"] = len(tuning["table"])
                    row["audited_queries"] = tuning["audited_queries"]
                row[f"{preset}_texts_encoded"] = result.summary.get("texts_encoded")
        default = sum(row["default_seconds"]) / len(row["default_seconds"])
        row["added"] = round(sum(row["auto_seconds"]) / len(row["auto_seconds"]) / default - 1, 4)
        # the tuner's own work (search and audits, after encoding) against the cold mine it precedes
        row["tuner_share"] = round(sum(row["audit_seconds"]) / len(row["audit_seconds"]) / default, 4)
        runs.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    payload = {"settings": vars(args), "cpu": cpu_of_this_run(), "runs": runs}
    Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
