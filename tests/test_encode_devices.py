"""``encode_devices``: one encoding process per listed device, worker ``i`` on ``devices[i]``, the same vectors and
the same embedding cache as one process. The device placement is checked without a GPU, on the worker's set-up."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

import hardneg
from hardneg.encoding import processes
from hardneg.encoding.encode import Encoder
from hardneg.errors import ConfigError
from hardneg.options import EncodingOptions

# --- the option ---------------------------------------------------------------------------------


def test_the_list_sets_the_number_of_processes():
    options = EncodingOptions(encode_devices=" cuda:0, cuda:1")
    assert (options.encode_devices, options.encode_processes, options.devices) == ("cuda:0,cuda:1", 2, ("cuda:0", "cuda:1"))
    assert EncodingOptions(encode_devices=["cpu", "cpu", "mps"]).encode_devices == "cpu,cpu,mps"
    assert EncodingOptions(encode_devices="cuda", encode_processes=1).encode_processes == 1
    assert EncodingOptions(encode_devices="cpu,cpu", encode_processes=2).devices == ("cpu", "cpu")
    assert EncodingOptions().devices is None


@pytest.mark.parametrize("devices", ["gpu:0", "cuda:0,,cuda:1", "cuda:x", "CPU", ""])
def test_an_unknown_device_is_named(devices):
    with pytest.raises(ConfigError, match="encode_devices must list devices 'cpu', 'cuda', 'cuda:N' or 'mps'"):
        EncodingOptions(encode_devices=devices)


def test_a_process_count_that_disagrees_is_refused():
    with pytest.raises(ConfigError, match=r"lists 2 device\(s\) \('cuda:0,cuda:1'\).*encode_processes is 3"):
        EncodingOptions(encode_devices="cuda:0,cuda:1", encode_processes=3)


def test_the_cli_takes_the_list():
    from hardneg.cli import build_parser

    args = build_parser().parse_args(["eval", "--encode-devices", "cuda:0,cuda:1"])
    assert args.encode_devices == "cuda:0,cuda:1"


def test_the_devices_stay_out_of_the_resume_key():
    from hardneg.mining.resume import NOT_IN_KEY

    assert "encode_devices" in NOT_IN_KEY


# --- the workers --------------------------------------------------------------------------------


class _Model:
    def __init__(self):
        self.moves: list[str] = []

    def to(self, device):
        self.moves.append(device)
        return self


class _Encoder:
    def __init__(self):
        self.model = _Model()


def _start_workers(devices, monkeypatch) -> tuple[list[list[str]], list[int]]:
    """Each worker's ``.to`` calls and the thread counts set, for workers started in turn on ``devices``."""
    import torch

    threads: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", threads.append)
    counter = multiprocessing.get_context("spawn").Value("i", 0)
    moves = []
    for _ in devices:
        encoder = _Encoder()
        processes._start(encoder, 3, list(devices), counter)
        assert processes._WORKER.pop("encoder") is encoder
        moves.append(encoder.model.moves)
    return moves, threads


def test_worker_i_moves_its_model_to_device_i(monkeypatch):
    moves, threads = _start_workers(["cuda:1", "cuda:0", "cuda:1"], monkeypatch)
    assert moves == [["cuda:1"], ["cuda:0"], ["cuda:1"]]
    assert threads == []  # a GPU worker leaves the thread count alone


def test_cpu_workers_take_their_share_of_threads(monkeypatch):
    moves, threads = _start_workers(["cpu", "cuda:0"], monkeypatch)
    assert moves == [["cpu"], ["cuda:0"]] and threads == [3]
    moves, threads = _start_workers([None, None], monkeypatch)  # no list, the model on the CPU: stays there
    assert moves == [[], []] and threads == [3, 3]


def test_without_a_list_a_cuda_model_takes_the_gpus_in_turn(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert processes.worker_devices(3, None, True) == ["cuda:0", "cuda:1", "cuda:0"]
    assert processes.worker_devices(2, None, False) == [None, None]


def test_a_device_this_machine_lacks_is_named_before_any_worker_starts(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert processes.worker_devices(2, ("cuda:1", "cpu"), False) == ["cuda:1", "cpu"]
    with pytest.raises(ConfigError, match=r"lists 'cuda:2', but this machine has 2 CUDA GPU\(s\)"):
        processes.worker_devices(2, ("cuda:0", "cuda:2"), False)


def test_one_listed_device_is_still_honoured(monkeypatch):
    """One device means one worker there (as the peer starts one), not encoding on the model's own device."""
    started = []

    class Pool:
        def __init__(self, encoder, count, devices):
            started.append((count, devices))

        def encode(self, texts, kind, batch_size):
            return np.zeros((len(texts), 2), np.float32)

        def close(self):
            pass

    monkeypatch.setattr(processes, "ProcessPool", Pool)
    encoder = Encoder(object(), "f", batch_size=2, processes=1, devices=("cuda:1",), show_progress=False)
    assert encoder.encode_texts(["a", "b", "c"], "document").shape == (3, 2)
    assert started == [(1, ("cuda:1",))]


# --- the vectors --------------------------------------------------------------------------------


def test_two_cpu_processes_mine_the_same_rows_and_share_the_cache(tmp_path):
    kwargs = dict(preset="top", batch_size=16, show_progress=False, seed=3)
    one = hardneg.mine("demo", tmp_path / "one.jsonl", cache_dir=str(tmp_path / "c1"), **kwargs)
    two = hardneg.mine("demo", tmp_path / "two.jsonl", cache_dir=str(tmp_path / "c2"), encode_devices="cpu,cpu", **kwargs)
    assert two.summary["texts_encoded"] == one.summary["texts_encoded"] > 300
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert (two.manifest["parameters"]["encode_devices"], two.manifest["parameters"]["encode_processes"]) == ("cpu,cpu", 2)
    # the devices are not part of the cache key: the same shards, found again by a one-process run
    names = {p.name for p in (tmp_path / "c1" / "embeddings").glob("*.npy")}
    assert names and names == {p.name for p in (tmp_path / "c2" / "embeddings").glob("*.npy")}
    again = hardneg.mine("demo", tmp_path / "again.jsonl", cache_dir=str(tmp_path / "c2"), **kwargs)
    assert again.summary["texts_encoded"] == 0
