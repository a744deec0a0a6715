"""Is bfloat16 faster than float32 on this CPU? One matmul of the encoder's shape, timed in both precisions.

all-MiniLM-L6-v2's feed-forward layer multiplies (tokens x 384) by (384 x 1536). On a CPU whose AVX-512 BF16 dot
product runs no faster than its float32 FMAs (no AMX), bfloat16 encoding gains nothing, whatever the flags say;
this tells that apart in seconds, before a full encoding probe (``encode.py``). Prints one JSON object: the CPU
(``cpu_kind.py``), the seconds of each precision, their ratio and torch's thread count. Run it alone, one thread:

    OMP_NUM_THREADS=1 python benchmarks/bf16_matmul.py

``ONEDNN_VERBOSE=1`` in front shows the kernel oneDNN runs (``brg_matmul:avx512_core_bf16`` where it uses the
BF16 instructions).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from cpu_kind import describe


def seconds(dtype: torch.dtype, rows: int, repeats: int) -> float:
    torch.manual_seed(0)
    layer = torch.nn.Linear(384, 1536).to(dtype)
    x = torch.randn(rows, 384).to(dtype)
    with torch.no_grad():
        for _ in range(3):  # warm-up: kernel selection and first-touch allocations
            layer(x)
        start = time.perf_counter()
        for _ in range(repeats):
            layer(x)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=256, help="tokens per matmul")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    float32 = seconds(torch.float32, args.rows, args.repeats)
    bfloat16 = seconds(torch.bfloat16, args.rows, args.repeats)
    print(
        json.dumps(
            {
                "cpu": describe(),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "shape": f"({args.rows} x 384) @ (384 x 1536), {args.repeats} times",
                "float32_seconds": round(float32, 3),
                "bfloat16_seconds": round(bfloat16, 3),
                "bfloat16_over_float32": round(bfloat16 / float32, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
