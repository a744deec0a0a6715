"""Do torch int8 vectors depend on the CPU kind? The first ``--docs`` SciFact test-corpus documents, encoded in
``--precision`` (int8 by default) by hardneg's Encoder twice, in two child processes: with torch's kernels at this
CPU's best and held to AVX2 (``ATEN_CPU_CAPABILITY=avx2``); prints the largest difference per coordinate and the
lowest cosine between the two. float32 is the control.

    python benchmarks/int8_by_cpu_kind.py [--docs 300] [--precision int8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SCIFACT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scifact"


def child(docs: int, precision: str, out: str) -> None:
    import numpy as np
    import torch

    from hardneg.data import load_data
    from hardneg.encoding.encode import Encoder
    from hardneg.encoding.model import fingerprint_model, load_model

    texts = load_data(str(SCIFACT), split="test").corpus_texts[:docs]
    model = load_model(None, device="cpu", show_progress=False)
    encoder = Encoder(model, fingerprint_model(model), precision=precision, cache_dir=None, show_progress=False, batch_size=32)
    np.save(out, np.concatenate(encoder.encode(texts, "document").shards))
    print(torch.backends.cpu.get_cpu_capability())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--precision", default="int8")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.docs, args.precision, args.child[1])
        return
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for label, env in (("native", {}), ("avx2", {"ATEN_CPU_CAPABILITY": "avx2"})):
            out = f"{tmp}/{label}.npy"
            cmd = [sys.executable, __file__, "--docs", str(args.docs), "--precision", args.precision, "--child", label, out]
            done = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, check=True)
            runs[label] = (done.stdout.split()[-1], np.load(out))
    (cap_a, a), (cap_b, b) = runs["native"], runs["avx2"]
    print(json.dumps({
        "precision": args.precision, "documents": len(a), "kernels": [cap_a, cap_b],
        "identical": bool((a == b).all()), "max_abs_difference": float(abs(a - b).max()),
        "min_cosine": float((a * b).sum(1).min()),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
