"""Encoding one shard in several processes on one machine: CPU cores split between them, or one GPU each.

The texts are sorted by length (longest first, as ``SentenceTransformer.encode`` sorts them) and
cut into batches; batch ``i`` goes to process ``i mod N``, so every process gets long and short
texts alike and each batch holds texts of similar length, as in one process. The vectors come
back in the input order: the same
rows as a single-process run (equal up to float rounding from the number of threads; the
mined negatives are the same, ``tests/test_backends.py`` checks it on the demo).

Processes are started with ``spawn`` (safe with threads and CUDA) and each receives the encoder, model
included, once; without a device list each takes ``threads // N`` torch threads on CPU, or GPU ``i mod
count`` with the model on CUDA. A model that leaves for another device is shipped as a CPU copy and moved
by its worker (the caller's model stays where it is). Devices, and when the processes pay off:
``docs/scale.md`` (Faster encoding).
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
    ``devices``: the device of each worker (as many as ``processes``); ``None``: see the module docstring.
    """

    def __init__(self, encoder: Encoder, processes: int, devices: Sequence[str] | None = None):
        import torch

        if devices is not None and len(devices) != processes:
            raise ValueError(f"{processes} processes for {len(devices)} devices {list(devices)}")
        self.processes = processes
        model = encoder.loaded_model()
        shipped = dataclasses.replace(encoder, processes=1, devices=None, show_progress=False)
        where = getattr(model, "device", torch.device("cpu")).type
        placements = worker_devices(processes, devices, where == "cuda")
        if where != "cpu" and (where == "cuda" or devices is not None):  # each worker moves its copy to its device
            shipped.model = copy.deepcopy(model).to("cpu")
        on_cpu = sum(1 for d in placements if d in (None, "cpu")) or 1
        threads = max(1, torch.get_num_threads() // on_cpu)
        context = multiprocessing.get_context("spawn")
        counter = context.Value("i", 0)
        self.executor = ProcessPoolExecutor(
            processes, mp_context=context, initializer=_start, initargs=(shipped, threads, placements, counter)
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


def worker_devices(processes: int, devices: Sequence[str] | None, on_cuda: bool) -> list[str | None]:
    """The device of each worker: ``devices`` as given (checked against this machine), else GPU ``i mod count``
    with the model on CUDA, else ``None`` (stay on the CPU)."""
    import torch

    if devices is not None:
        check_devices(devices)
        return list(devices)
    gpus = torch.cuda.device_count() if on_cuda else 0
    return [f"cuda:{i % gpus}" if gpus else None for i in range(processes)]


def check_devices(devices: Sequence[str]) -> None:
    """Raise a ConfigError naming a listed device this machine does not have (before any worker starts)."""
    import torch

    from hardneg.errors import ConfigError

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for device in devices:
        kind, _, index = device.partition(":")
        if kind == "cuda" and int(index or 0) >= gpus:
            raise ConfigError(f"encode_devices lists {device!r}, but this machine has {gpus} CUDA GPU(s)")
        mps = getattr(torch.backends, "mps", None)
        if kind == "mps" and not (mps is not None and mps.is_available()):
            raise ConfigError(f"encode_devices lists {device!r}, but MPS is not available on this machine")


def _start(encoder: Encoder, threads: int, devices: list[str | None], counter) -> None:
    """A worker's set-up: the ``i``-th worker moves its model to ``devices[i]``; one on the CPU takes its share of
    the threads."""
    import torch

    with counter.get_lock():
        index = counter.value
        counter.value += 1
    device = devices[index % len(devices)]
    if device is not None:
        encoder.model.to(device)
    if device in (None, "cpu"):
        torch.set_num_threads(threads)
    _WORKER["encoder"] = encoder


def _encode(texts: list[str], kind: str) -> np.ndarray:
    return _WORKER["encoder"].encode_texts(texts, kind)
