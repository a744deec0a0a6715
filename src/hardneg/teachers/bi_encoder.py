"""A second, stronger bi-encoder as teacher: cosine similarity from another sentence-transformers model.

NV-Retriever (Moreira et al. 2024) found the teacher that scores the candidates matters more than the
filter applied to its scores: a larger embedding model than the one being trained is the cheap
teacher. Its embeddings go through :class:`~hardneg.encoding.encode.Encoder`, so they are cached under the
teacher's weight fingerprint exactly like the miner's own.
"""

from __future__ import annotations

from typing import Any

from hardneg.candidates.scoring import DenseScorer
from hardneg.data import RetrievalData
from hardneg.encoding.encode import Encoder


class BiEncoderTeacher(DenseScorer):
    """Cosine similarity under a sentence-transformers model other than the miner's.

    Args:
        model: path or name of the teacher bi-encoder.
        data: the queries and corpus indices refer to (all are encoded once, then cached).
        cache_dir: embedding cache folder; ``None`` keeps embeddings in memory only.
    """

    name = "bi-encoder"
    is_probability = False

    def __init__(
        self,
        model: str,
        data: RetrievalData,
        *,
        batch_size: int = 64,
        max_seq_length: int | None = None,
        device: str | None = None,
        cache_dir=None,
        show_progress: bool = True,
    ):
        from hardneg.encoding.model import fingerprint_model, load_model

        self.path = model
        st = load_model(model, device=device, max_seq_length=max_seq_length)
        self.fingerprint = fingerprint_model(st)
        encoder = Encoder(st, self.fingerprint, batch_size=batch_size, cache_dir=cache_dir, show_progress=show_progress)
        queries = encoder.encode(data.query_texts, "query").to_array()
        docs = encoder.encode(data.corpus_texts, "document")
        super().__init__(queries, docs)
        self.texts_encoded = encoder.stats.encoded

    def info(self) -> dict[str, Any]:
        return {"type": "bi-encoder", "path": self.path, "fingerprint": self.fingerprint, "texts_encoded": self.texts_encoded}
