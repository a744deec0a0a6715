"""``use_multi_process`` becomes hardneg's multi-process encoding (``encode_processes``, ``encode_devices``)."""

from __future__ import annotations

import os

import pytest

import hardneg
from hardneg.drivers import mine as api
from hardneg.drivers.compat_params import CPU_PROCESSES, encode_devices, encode_processes


class _Called(Exception):
    pass


def _mine_parameters(monkeypatch, pairs, model, **kwargs) -> dict:
    """What the drop-in hands to ``hardneg.mine`` (the run itself is not started)."""
    seen: dict = {}

    def fake_mine(data, **params):
        seen.update(params)
        raise _Called

    monkeypatch.setattr(api, "mine", fake_mine)
    with pytest.raises(_Called):
        hardneg.mine_hard_negatives(pairs, model, verbose=False, **kwargs)
    return seen


@pytest.mark.parametrize(
    ("use_multi_process", "processes", "devices"),
    [(False, 1, None), (["cpu", "cpu", "cpu"], 3, "cpu,cpu,cpu"), (["cuda:0", "cuda:1"], 2, "cuda:0,cuda:1")],
)
def test_devices_become_encoding_processes(use_multi_process, processes, devices, monkeypatch, demo_pairs, tiny_bi_encoder):
    params = _mine_parameters(monkeypatch, demo_pairs, tiny_bi_encoder, use_multi_process=use_multi_process)
    assert (params["encode_processes"], params["encode_devices"]) == (processes, devices)


def test_torch_devices_are_named_as_torch_names_them():
    import torch

    assert encode_devices([torch.device("cuda", 1), "cpu"]) == "cuda:1,cpu"
    assert encode_devices(True) is None and encode_devices([]) is None


def test_true_takes_every_gpu_or_the_peers_four_cpu_workers():
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    assert encode_processes(True) == (gpus or min(CPU_PROCESSES, os.cpu_count() or 1))
