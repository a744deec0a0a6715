"""Cost of verifying the embedding cache's checksums on a warm run.

Runs ``hardneg.mine`` twice on the same data (the first fills the cache, the second is warm), then
times the SHA-256 verification of every cache shard the warm run read, and prints both:

    PYTHONPATH=src python benchmarks/checksum_cost.py demo
    PYTHONPATH=src python benchmarks/checksum_cost.py ../shared/data/scifact
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import hardneg
from hardneg.io import checksum_path, sha256_file


def main(data: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        params = dict(cache_dir=str(cache), show_progress=False, seed=1)
        hardneg.mine(data, Path(tmp) / "cold.parquet", **params)
        start = time.perf_counter()
        hardneg.mine(data, Path(tmp) / "warm.parquet", **params)
        warm = time.perf_counter() - start
        shards = sorted((cache / "embeddings").glob("*.npy"))
        start = time.perf_counter()
        for shard in shards:
            assert sha256_file(shard) == checksum_path(shard).read_text().strip()
        verify = time.perf_counter() - start
        size = sum(s.stat().st_size for s in shards) / 2**20
    print(f"{data}: warm run {warm:.2f} s; verifying {len(shards)} shards ({size:.1f} MiB) {verify * 1000:.1f} ms "
          f"= {100 * verify / warm:.2f} % of the warm run")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo")
