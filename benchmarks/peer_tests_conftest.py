"""A pytest conftest that runs sentence-transformers' own hard-negative tests against hardneg's drop-in.

Copy it as ``conftest.py`` next to sentence-transformers' ``tests/util/test_hard_negatives.py`` in a
folder outside this repository, then run pytest there (docs/migrating.md, "sentence-transformers' own
tests", has the commands and the result). ``PEER=1`` runs the same tests on the peer itself.

It replaces ``sentence_transformers.util.mine_hard_negatives`` before the test module imports it, and
gives the tests' model fixtures the offline default model (all-MiniLM-L6-v2) as the bi-encoder and a
one-output ``CrossEncoder`` built on it (random head) as the reranker.
"""

from __future__ import annotations

import copy
import os

import pytest
import sentence_transformers.util as st_util

import hardneg
from hardneg.encoding.model import default_model_path

if os.environ.get("PEER") != "1":
    st_util.mine_hard_negatives = hardneg.mine_hard_negatives


@pytest.fixture(scope="session")
def _bi_encoder():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(default_model_path(), device="cpu")


@pytest.fixture
def static_retrieval_mrl_en_v1_model(_bi_encoder):
    return copy.deepcopy(_bi_encoder)  # some tests change the model (prompts, patched methods)


@pytest.fixture
def paraphrase_distilroberta_base_v1_model(_bi_encoder):
    return copy.deepcopy(_bi_encoder)


@pytest.fixture(scope="session")
def reranker_bert_tiny_model():
    from sentence_transformers import CrossEncoder

    return CrossEncoder(default_model_path(), num_labels=1, device="cpu")
