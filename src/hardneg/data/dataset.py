"""The one shape every input becomes: :class:`RetrievalData`, and the text normalisation that recognises the same
document under different ids (how bad records are reported is :class:`hardneg.io.tables.Problems`)."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

logger = logging.getLogger(__name__)

AbsentDocuments = Literal["refuse", "judge"]
"""What a BEIR loader does with a qrels line whose document is absent from the corpus: ``"refuse"`` it as
bad input (a training pair needs the document's text), or ``"judge"`` it as evaluation does (BEIR and MTEB
count such a document as relevant and never retrieved)."""
DEMO_NAME = "demo"


@dataclass
class RetrievalData:
    """Queries, a corpus, and which documents are positives of which query."""

    corpus_ids: list[str]
    corpus_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    positives: list[list[int]]
    """For each query, indices into ``corpus_ids`` of its labelled positives (never empty, except for a query
    whose every relevant document is in :attr:`absent_positives`)."""
    inputs: dict[str, str] = field(default_factory=dict)
    """Role -> path of every file read, for the manifest."""
    skipped: dict[str, int] = field(default_factory=dict)
    """What ``on_error="skip"`` skipped, by kind."""
    extra_positives: int = 0
    """Positives added from an extra-positives file (:mod:`hardneg.data.extra_positives`)."""
    query_fields: list[dict[str, Any]] | None = None
    """For each query, input fields the writers carry through unchanged (FlagEmbedding's ``prompt``
    and ``type``); ``None`` when the input has none."""
    absent_positives: dict[str, dict[str, float]] = field(default_factory=dict)
    """Query id -> {document id: score} of relevant judgements whose document is absent from the corpus; only
    a BEIR folder loaded with ``absent_documents="judge"`` (evaluation) has any. Evaluation scores them as
    relevant and never retrieved; mining cannot use them (:meth:`in_corpus`)."""

    def __post_init__(self) -> None:
        if len(self.corpus_ids) != len(self.corpus_texts):
            raise ValueError("corpus_ids and corpus_texts differ in length")
        if not (len(self.query_ids) == len(self.query_texts) == len(self.positives)):
            raise ValueError("query_ids, query_texts and positives differ in length")
        if self.query_fields is not None and len(self.query_fields) != len(self.query_ids):
            raise ValueError("query_fields and query_ids differ in length")

    @property
    def num_pairs(self) -> int:
        return sum(len(p) for p in self.positives)

    def subset(self, query_indices: list[int]) -> RetrievalData:
        """The same corpus with only the given queries (tests and benchmarks use it)."""
        return replace(
            self,
            query_ids=[self.query_ids[i] for i in query_indices],
            query_texts=[self.query_texts[i] for i in query_indices],
            positives=[self.positives[i] for i in query_indices],
            inputs=dict(self.inputs),
            skipped=dict(self.skipped),
            query_fields=None if self.query_fields is None else [self.query_fields[i] for i in query_indices],
            absent_positives={
                q: self.absent_positives[q] for q in (self.query_ids[i] for i in query_indices) if q in self.absent_positives
            },
        )

    def in_corpus(self) -> RetrievalData:
        """What mining can use: the queries with a positive in the corpus, without :attr:`absent_positives`
        (a document that is not in the corpus can never be picked as a negative)."""
        if not self.absent_positives:
            return self
        kept = self.subset([i for i, pos in enumerate(self.positives) if pos])
        kept.absent_positives = {}
        return kept


def positives_matrix(positives: list[list[int]], queries: np.ndarray) -> np.ndarray:
    """(queries, most positives among them) corpus indices of each query's labelled positives, ``-1`` padded
    (``positives``: any lists of corpus indices by query, such as the audit's chosen negatives)."""
    out = np.full((len(queries), max(len(positives[q]) for q in queries)), -1, dtype=np.int64)
    for row, q in enumerate(queries):
        out[row, : len(positives[q])] = positives[q]
    return out


def demo_path() -> Path:
    """The folder of the demo dataset that ships with hardneg (BEIR layout)."""
    return Path(str(resources.files("hardneg") / "demo_data"))


def document_text(title: str | None, text: str | None) -> str:
    """``title + " " + text`` when there is a title, as BEIR evaluators build documents."""
    title = (title or "").strip()
    text = (text or "").strip()
    return f"{title} {text}".strip() if title else text


def normalize_text(text: str) -> str:
    """Unicode NFKC, case-folded, whitespace collapsed and stripped.

    Two documents whose normalised texts are equal are the same document for the purpose of
    keeping positives out of the negatives.
    """
    # str.split() splits on the same Unicode whitespace as the regex \s+ and drops the ends, at a
    # third of the regex's cost (the regex was most of loading SciFact's 5,183 documents).
    if not unicodedata.is_normalized("NFKC", text):  # the check is cheap; most texts are normalised already
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split())
