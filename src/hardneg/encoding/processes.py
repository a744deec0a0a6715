"""Encoding one shard in several processes on one machine: CPU cores split between them, or one GPU each.

The texts are sorted by length (longest first, as ``SentenceTransformer.encode`` sorts them) and
cut into batches; batch ``i`` goes to process ``i mod N``, so every process gets long and short
texts alike and each batch holds texts of similar length, as in one process. The vectors come
back in the input order: the same
rows as a single-process run (equal up to float rounding from the number of threads; the
mined negatives are the same, ``tests/test_backends.py`` checks it on the demo).

Processes are started with ``spawn`` (safe with threads and CUDA) and each receives the
encoder, model included, once. On CPU each takes ``threads // N`` torch threads, so the cores
are split, not oversubscribed; with the model on CUDA, process ``i`` encodes on GPU ``i mod
count``. Starting a process costs seconds (import torch, unpickle the model), so this pays off
for shards of thousands of texts, on machines with cores or GPUs to spare.
"""

from __future__ import annotations

import copy
import dataclasses
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

Encoder = Any
"""A :class:`hardneg.encoding.encode.Encoder` (a dataclass), which creates the pool: typed loosely so that this
module imports nothing of the one that imports it."""
Kind = str
"""``"query"`` or ``"document"``."""


class ProcessPool:
    """``processes`` spawned workers, each holding a copy of one encoder; reused for every shard it encodes.

    Start-up (import torch, unpickle the model) is paid once per encoder, not once per shard.
    """

    def __init__(self, encoder: Encoder, processes: int):
        import torch

        self.processes = processes
        model = encoder.loaded_model()
        shipped = dataclasses.replace(encoder, processes=1, show_progress=False)
        on_cuda = getattr(model, "device", torch.device("cpu")).type == "cuda"
        if on_cuda:  # each worker moves its copy to its own GPU
            shipped.model = copy.deepcopy(model).to("cpu")
        gpus = torch.cuda.device_count() if on_cuda else 0
        threads = max(1, torch.get_num_threads() // processes)
        context = multiprocessing.get_context("spawn")
        counter = context.Value("i", 0)
        self.executor = ProcessPoolExecutor(
            processes, mp_context=context, initializer=_start, initargs=(shipped, threads, gpus, counter)
        )

    def encode(self, texts: Sequence[str], kind: Kind, batch_size: int) -> np.ndarray:
        """Unit float32 embeddings of ``texts``, rows in the order of ``texts``."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
        shares = [np.concatenate(batches[w :: self.processes]) for w in range(min(self.processes, len(batches)))]
        futures = [self.executor.submit(_encode, [texts[i] for i in share], kind) for share in shares]
        out = None
        for share, future in zip(shares, futures):
            emb = future.result()
            if out is None:
                out = np.zeros((len(texts), emb.shape[1]), dtype=np.float32)
            out[share] = emb
        return out

    def close(self) -> None:
        self.executor.shutdown(cancel_futures=True)


_WORKER: dict = {}


def _start(encoder: Encoder, threads: int, gpus: int, counter) -> None:
    """A worker's set-up: its share of the CPU threads, or its own GPU (the ``i``-th worker takes GPU ``i mod gpus``)."""
    import torch

    with counter.get_lock():
        index = counter.value
        counter.value += 1
    if gpus:
        encoder.model.to(f"cuda:{index % gpus}")
    else:
        torch.set_num_threads(threads)
    _WORKER["encoder"] = encoder


def _encode(texts: list[str], kind: str) -> np.ndarray:
    return _WORKER["encoder"].encode_texts(texts, kind)
