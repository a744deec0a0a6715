"""The CPU a benchmark ran on, recorded beside every speed figure: the encoder's speed depends on its vector
instructions (AVX2, AVX-512 VNNI or BF16, AMX), which differ between the machines this project runs on.

Imported by the timing scripts beside it (``mine_vs_st.py``, ``dropin_warm.py``, ``tune_cost.py``); run alone, it
prints the description as JSON.
"""

from __future__ import annotations

import contextlib
import json
import platform
import subprocess

VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile")
"""The flags that decide which encoding path is fast (hardneg.encoding.defaults)."""


def describe() -> dict:
    """``lscpu``'s model name and CPU count, the :data:`VECTOR_FLAGS` present (read as hardneg reads them, from
    ``/proc/cpuinfo``), and the kind of CPU they make."""
    from hardneg.encoding.defaults import cpu_flags

    fields: dict[str, str] = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=30).stdout
        fields = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in text.splitlines() if ":" in line)}
    flags = cpu_flags()
    fast = sorted(f for f in flags if "vnni" in f or "bf16" in f or f.startswith("amx"))
    return {
        "model_name": fields.get("Model name", ""),
        "cpus": fields.get("CPU(s)", ""),
        "machine": platform.machine(),
        "flags": [f for f in VECTOR_FLAGS if f in flags],
        "kind": "VNNI/BF16/AMX: " + ", ".join(fast) if fast else ("AVX2" if "avx2" in flags else "no AVX2"),
        "fast_int8_or_bf16": bool(fast),
    }


if __name__ == "__main__":
    print(json.dumps(describe(), indent=2))
