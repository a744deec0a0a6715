"""BM25 candidates with the ``bm25s`` library: the static sampler of DPR."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from hardneg.candidates.base import Candidates, pad_to

logger = logging.getLogger(__name__)


def _stemmer(language: str | None):
    if not language:
        return None
    try:
        import Stemmer
    except ImportError:
        logger.warning("PyStemmer is not installed: BM25 runs without stemming")
        return None
    return Stemmer.Stemmer(language)


class BM25Search:
    """Okapi BM25 (``k1``, ``b``) over English-stopworded, stemmed tokens.

    Scores are BM25 scores; documents sharing no term with a query score 0 and are never returned.
    """

    name = "bm25"

    def __init__(
        self,
        doc_texts: Sequence[str],
        query_texts: Sequence[str],
        *,
        k1: float = 1.5,
        b: float = 0.75,
        stemmer: str | None = "english",
        show_progress: bool = True,
    ):
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self._stem = _stemmer(stemmer)
        self.show_progress = show_progress
        self.n_docs = len(doc_texts)
        tokens = bm25s.tokenize(list(doc_texts), stopwords="en", stemmer=self._stem, show_progress=show_progress)
        self.retriever = bm25s.BM25(k1=k1, b=b)
        self.retriever.index(tokens, show_progress=show_progress)
        vocab = self.retriever.vocab_dict
        query_tokens = bm25s.tokenize(
            list(query_texts), stopwords="en", stemmer=self._stem, return_ids=False, show_progress=False
        )
        # Terms the corpus never uses cannot match anything; dropping them keeps bm25s from failing.
        self.query_tokens = [[t for t in q if t in vocab] for q in query_tokens]

    def __getstate__(self) -> dict:
        # The stemmer (a C object that cannot be pickled) only served tokenising in __init__.
        return {**self.__dict__, "_stem": None}

    def search(self, query_indices: np.ndarray, k: int) -> Candidates:
        k = max(1, int(k))
        kk = min(k, self.n_docs)
        out = Candidates.empty(len(query_indices), kk)
        nonempty = [i for i, q in enumerate(query_indices) if self.query_tokens[q]]
        if nonempty:
            docs, scores = self.retriever.retrieve(
                [self.query_tokens[query_indices[i]] for i in nonempty], k=kk, show_progress=self.show_progress, n_threads=0
            )
            docs = np.asarray(docs, dtype=np.int64)
            scores = np.asarray(scores, dtype=np.float32)
            docs[scores <= 0] = -1
            scores[scores <= 0] = -np.inf
            out.indices[nonempty] = docs
            out.scores[nonempty] = scores
        return pad_to(out, k)

    def score(self, query_index: int, doc_indices: np.ndarray) -> np.ndarray:
        """BM25 scores of given documents for one query."""
        tokens = self.query_tokens[query_index]
        if not tokens:
            return np.zeros(len(doc_indices), dtype=np.float32)
        return self.retriever.get_scores(tokens)[doc_indices].astype(np.float32)
