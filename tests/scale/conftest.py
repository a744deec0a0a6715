"""Fixtures for the scale tests: a tiny random sentence-transformers model and synthetic BEIR data.

The tiny model (one 32-wide BERT layer with the MiniLM tokenizer, random weights from a fixed
seed) encodes thousands of texts per second, so runs big enough to be killed half-way stay fast.
It is built once per session from the offline MiniLM package's tokenizer: no downloads.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"


def write_synthetic_beir(folder: Path, *, n_docs: int, n_queries: int, seed: int = 0) -> Path:
    """A BEIR folder of ``n_docs`` documents and ``n_queries`` queries with one or two positives each.

    Texts are drawn from a small vocabulary by topic, and a query shares words with its positives,
    so a model has something to rank.
    """
    rng = random.Random(seed)
    vocab = [
        f"{a}{b}"
        for a in ("ka", "lo", "mi", "ne", "pu", "ro", "si", "ta", "vu", "ze")
        for b in ("ba", "de", "fi", "go", "hu", "ja", "ke", "li")
    ]
    topics = [rng.sample(vocab, 8) for _ in range(50)]
    folder.mkdir(parents=True, exist_ok=True)
    docs = []
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n_docs):
            words = rng.choices(topics[i % len(topics)], k=6) + rng.choices(vocab, k=4)
            docs.append(words)
            fh.write(json.dumps({"_id": f"d{i}", "title": "", "text": " ".join(words)}) + "\n")
    (folder / "qrels").mkdir(exist_ok=True)
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as fq, open(folder / "qrels" / "train.tsv", "w") as fr:
        fr.write("query-id\tcorpus-id\tscore\n")
        for q in range(n_queries):
            positives = rng.sample(range(n_docs), 1 + (q % 3 == 0))
            words = rng.sample(docs[positives[0]], 4)
            fq.write(json.dumps({"_id": f"q{q}", "text": " ".join(words)}) + "\n")
            for p in positives:
                fr.write(f"q{q}\td{p}\t1\n")
    return folder


def build_tiny_model(folder: Path) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    from hardneg.encoding.model import default_model_path

    hf = folder / "hf"
    tokenizer = AutoTokenizer.from_pretrained(default_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    model = SentenceTransformer(modules=[Transformer(str(hf), max_seq_length=64), Pooling(32, "mean"), Normalize()], device="cpu")
    out = folder / "st"
    model.save(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def synthetic_beir(tmp_path_factory) -> Path:
    return write_synthetic_beir(tmp_path_factory.mktemp("synthetic") / "beir", n_docs=5_000, n_queries=1_000)


@pytest.fixture
def hardneg_env(tmp_path) -> dict[str, str]:
    """Environment for a ``python -m hardneg`` child: this checkout first, one thread, its own cache."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["HARDNEG_CACHE"] = str(tmp_path / "default-cache")
    # Two cores shared with other jobs: one thread avoids OpenMP spinning against itself.
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.fixture
def make_beir(tmp_path):
    """``make_beir(n_docs=..., n_queries=..., seed=...)``: a synthetic BEIR folder under this test's tmp_path."""

    def make(**kwargs) -> Path:
        return write_synthetic_beir(tmp_path / f"beir-{len(list(tmp_path.glob('beir-*')))}", **kwargs)

    return make
