"""A tiny random BERT bi-encoder built from the demo corpus's words: trains in seconds, no download."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_tiny_model(folder: Path, texts: list[str], *, vocab_size: int = 800, dim: int = 32, seed: int = 0) -> Path:
    """Write a 2-layer, ``dim``-wide BERT with mean pooling and normalisation to ``folder``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = Counter(w for t in texts for w in re.findall(r"[a-z0-9]+", t.lower()))
    vocab = SPECIAL + sorted({c for w in words for c in w}) + [w for w, _ in words.most_common(vocab_size)]
    vocab = list(dict.fromkeys(vocab))
    backbone = folder / "backbone"
    backbone.mkdir(parents=True, exist_ok=True)
    (backbone / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(backbone / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=dim,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * dim,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(backbone)
    tokenizer.save_pretrained(backbone)
    transformer = Transformer(str(backbone), max_seq_length=64)
    model = SentenceTransformer(modules=[transformer, Pooling(dim, "mean"), Normalize()], device="cpu")
    out = folder / "model"
    model.save(str(out))
    return out
