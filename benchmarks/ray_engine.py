"""The Ray engine against the local engine on one machine: identical output, and what Ray costs.

For the demo data and SciFact (train split), with the default preset and 128 queries per batch:

- ``cold``: an empty embedding cache, so the Ray run also encodes every shard on its actors
  (demo only: encoding SciFact twice takes tens of minutes on two cores);
- ``warm``: the embeddings already in the cache ($HARDNEG_CACHE, filled first if needed), so only
  mining differs.

Each Ray run starts its actors (one per CPU) and ships the model or the prepared miner to them;
Ray itself is started once, before the runs, and its start-up time is reported apart.

    python benchmarks/ray_engine.py [--num-cpus 2] [--no-scifact] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import hardneg
from hardneg.options import default_cache_dir

SCIFACT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scifact"


def timed_run(data: str, out: Path, cache: Path, engine: str) -> tuple[float, dict]:
    start = time.perf_counter()
    result = hardneg.mine(data, out, engine=engine, cache_dir=str(cache), query_chunk_size=128, seed=42, show_progress=False)
    return time.perf_counter() - start, result.summary


def compare(name: str, data: str, work: Path, cold: bool) -> list[dict]:
    rows = []
    warm_cache = default_cache_dir()
    timed_run(data, work / f"{name}-fill.parquet", warm_cache, "local")  # fills the cache for the warm runs if needed
    for state in (["cold"] if cold else []) + ["warm"]:
        outs, seconds = {}, {}
        for engine in ("local", "ray"):
            cache = work / f"{name}-{engine}-cold-cache" if state == "cold" else warm_cache
            outs[engine] = work / f"{name}-{state}-{engine}.parquet"
            seconds[engine], summary = timed_run(data, outs[engine], cache, engine)
        rows.append(
            {
                "data": name,
                "cache": state,
                "queries": summary["queries"],
                "documents": summary["documents"],
                "local_seconds": round(seconds["local"], 2),
                "ray_seconds": round(seconds["ray"], 2),
                "ray_overhead_seconds": round(seconds["ray"] - seconds["local"], 2),
                "identical": outs["local"].read_bytes() == outs["ray"].read_bytes(),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count())
    parser.add_argument("--no-scifact", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    init_seconds = time.perf_counter() - start
    work = Path(tempfile.mkdtemp(prefix="hardneg-ray-"))
    rows = compare("demo", "demo", work, cold=True)
    if SCIFACT.is_dir() and not args.no_scifact:
        rows += compare("scifact", str(SCIFACT), work, cold=False)
    ray.shutdown()
    report = {
        "num_cpus": args.num_cpus,
        "ray_init_seconds": round(init_seconds, 2),
        "load_average": os.getloadavg()[0],
        "runs": rows,
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"Ray started in {report['ray_init_seconds']} s with {args.num_cpus} CPUs (load average {report['load_average']:.1f})")
    print(f"{'data':<9}{'cache':<7}{'queries':>8}{'docs':>7}{'local s':>9}{'ray s':>8}{'overhead s':>12}  identical")
    for r in rows:
        print(
            f"{r['data']:<9}{r['cache']:<7}{r['queries']:>8}{r['documents']:>7}{r['local_seconds']:>9.1f}{r['ray_seconds']:>8.1f}"
            f"{r['ray_overhead_seconds']:>12.1f}  {r['identical']}"
        )


if __name__ == "__main__":
    main()
