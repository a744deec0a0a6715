"""Fixtures of the sentence-transformers drop-in tests: demo pairs as a Dataset, a tiny bi-encoder and cross-encoder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evolve"))  # tiny_model.py


@pytest.fixture(scope="session")
def demo():
    from hardneg.data import load_data

    return load_data("demo")


@pytest.fixture(scope="session")
def demo_pairs(demo):
    """The demo's (query, positive) pairs as a ``datasets.Dataset`` with sentence-transformers-style names."""
    import datasets

    anchors, positives = [], []
    for q, docs in zip(demo.query_texts, demo.positives):
        for d in docs:
            anchors.append(q)
            positives.append(demo.corpus_texts[d])
    return datasets.Dataset.from_dict({"query": anchors, "answer": positives})


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory, demo) -> Path:
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny"), demo.corpus_texts)


@pytest.fixture
def tiny_bi_encoder(tiny_folder):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_folder), device="cpu")


@pytest.fixture
def tiny_cross_encoder(tiny_folder):
    """A one-output cross-encoder on the tiny BERT backbone (random head: scores, not judgements)."""
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(tiny_folder.parent / "backbone"), num_labels=1, device="cpu", max_length=64)
