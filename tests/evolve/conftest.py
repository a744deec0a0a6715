"""Fixtures for the training-loop tests: a tiny random BERT (trains in seconds) and the shared data."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # tiny_model.py

REPO = HERE.parents[1]
SCIFACT = REPO / ".." / "shared" / "data" / "scifact"


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The tiny model is latency-bound: on a shared 2-core machine, one thread is ~10x faster."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """$HARDNEG_CACHE when set (embeddings are keyed by weights, so sharing is safe), else a fresh folder."""
    env = os.environ.get("HARDNEG_CACHE")
    return Path(env) if env else tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def _tiny_model_master(tmp_path_factory) -> Path:
    from tiny_model import build_tiny_model

    from hardneg.data import load_data

    return build_tiny_model(tmp_path_factory.mktemp("tiny"), load_data("demo").corpus_texts)


@pytest.fixture
def tiny_model(_tiny_model_master, tmp_path) -> Path:
    """A copy per test of a 2-layer, 32-wide random BERT bi-encoder (mean pooling, normalised)."""
    return Path(shutil.copytree(_tiny_model_master, tmp_path / "tiny-model"))


@pytest.fixture
def scifact() -> Path:
    if not (SCIFACT / "corpus.jsonl").is_file():
        pytest.skip("../shared/data/scifact is absent")
    return SCIFACT.resolve()
