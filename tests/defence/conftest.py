"""Fixtures of the false-negative defence tests: a hand-made BEIR folder, a stub teacher, tiny models.

Everything is written inline and small, so the tests run in seconds and need no network.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

# The corpus plants each case a defence must handle:
#   d06 duplicates positive d05 under another id (case and spaces changed);
#   d07 is d05 with changed whitespace and punctuation (a near duplicate);
#   d04 is a near duplicate of d03 (both positives of q2);
#   d08 is on q3's topic; the stub teacher scores it above q3's positive;
#   d08 is also judged relevant for the test query q9 (the leakage guard's case).
CORPUS = {
    "d01": "alpha beta gamma one",
    "d02": "alpha beta gamma two",
    "d03": "Delta epsilon zeta: the first field report on delta epsilon zeta.",
    "d04": "delta   epsilon, zeta -- the first field report on delta epsilon zeta!",
    "d05": "Paris is the capital of France.",
    "d06": "PARIS is the   capital of France.",
    "d07": "Paris   is the capital of France!!",
    "d08": "Lyon is a large city of France, known for its food; Paris is larger.",
    "d09": "alpha particles in a magnetic field",
    "d10": "beta testing of software releases",
    "d11": "gamma rays from distant galaxies",
    "d12": "delta of a river and its sediments",
    "d13": "epsilon as a small number in analysis",
    "d14": "zeta functions in number theory",
    "d15": "France exports wine and cheese",
    "d16": "the capital of a company and its markets",
    "d17": "a hotel in Paris near the river",
    "d18": "cooking pasta with tomato sauce",
    "d19": "training a dog to sit and stay",
    "d20": "the history of the printing press",
}
QUERIES = {
    "q1": "alpha beta gamma",
    "q2": "delta epsilon zeta report",
    "q3": "what is the capital of France, Paris",
    "q9": "which city of France is known for food",
}
TRAIN = [("q1", "d01"), ("q1", "d02"), ("q2", "d03"), ("q2", "d04"), ("q3", "d05")]
TEST = [("q9", "d08")]


def write_beir(root: Path, corpus=CORPUS, queries=QUERIES, train=TRAIN, test=TEST) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "corpus.jsonl", "w") as fh:
        for doc_id, text in corpus.items():
            fh.write(json.dumps({"_id": doc_id, "title": "", "text": text}) + "\n")
    with open(root / "queries.jsonl", "w") as fh:
        for qid, text in queries.items():
            fh.write(json.dumps({"_id": qid, "text": text}) + "\n")
    (root / "qrels").mkdir(exist_ok=True)
    for split, rows in (("train", train), ("test", test)):
        lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t1" for q, d in rows]
        (root / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def beir(tmp_path) -> Path:
    return write_beir(tmp_path / "beir")


@pytest.fixture
def make_beir():
    """``write_beir(root, corpus=..., queries=..., train=..., test=...)`` for variants of the corpus."""
    return write_beir


class StubTeacher:
    """A teacher whose scores are given per (query id, document id); every other pair scores ``default``."""

    name = "stub"
    is_probability = True

    def __init__(self, query_ids, corpus_ids, scores: dict[tuple[str, str], float], default: float = 0.05):
        self.query_ids, self.corpus_ids, self.scores, self.default = query_ids, corpus_ids, scores, default
        self.calls = 0

    def score(self, query_indices, doc_indices):
        self.calls += 1
        out = np.full(doc_indices.shape, -np.inf, dtype=np.float32)
        for r, q in enumerate(query_indices):
            for c, d in enumerate(doc_indices[r]):
                if d >= 0:
                    out[r, c] = self.scores.get((self.query_ids[q], self.corpus_ids[d]), self.default)
        return out

    def info(self):
        return {"type": "stub"}


@pytest.fixture
def stub_teacher():
    return StubTeacher


TINY_WORDS = (
    "the a of and is in to what which city capital france paris lyon alpha beta gamma delta epsilon zeta "
    "report field first one two river food known large"
).split()


def _tiny_bert(path: Path, num_labels: int | None) -> Path:
    """A 2-layer, 32-wide random BERT with a small word-piece vocabulary, saved with its tokenizer."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizer

    chars = list("abcdefghijklmnopqrstuvwxyz0123456789")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TINY_WORDS, *chars, *("##" + c for c in chars)]
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=num_labels or 1,
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config) if num_labels else BertModel(config)
    model.save_pretrained(path)
    BertTokenizer(str(path / "vocab.txt")).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory) -> str:
    """Path of a tiny random one-output cross-encoder."""
    return str(_tiny_bert(tmp_path_factory.mktemp("tiny-ce"), num_labels=1))


@pytest.fixture(scope="session")
def tiny_bi_encoder(tmp_path_factory) -> str:
    """Path of a tiny random sentence-transformers bi-encoder (mean pooling)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    base = _tiny_bert(tmp_path_factory.mktemp("tiny-bert"), num_labels=None)
    model = SentenceTransformer(modules=[Transformer(str(base)), Pooling(32)], device="cpu")
    out = tmp_path_factory.mktemp("tiny-st")
    model.save(str(out))
    return str(out)
