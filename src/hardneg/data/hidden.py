"""Hiding one positive of each query: the labels the false-negative audit measures against.

The audit (:mod:`hardneg.drivers.audit`) hides one positive of every query with two or more, mines, and
counts how often a hidden positive came back as a negative. Teacher training
(:mod:`hardneg.drivers.teacher`) hides the same labels so that a teacher cannot learn the hidden positives
from them. Both read the choice from here.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np

from hardneg.data.dataset import RetrievalData


@dataclass
class HiddenPositives:
    """The audited queries, each with one positive hidden from its labels."""

    data: RetrievalData
    """Only the audited queries; ``positives`` without the hidden one. The corpus is unchanged."""
    hidden: np.ndarray
    """(queries,) corpus index of each query's hidden positive."""
    all_positives: list[list[int]]
    """Each query's positives before hiding (the hidden one included)."""


def hidden_position(seed: int, query_id: str, n_positives: int) -> int | None:
    """Which of a query's positives the audit hides (``None`` below two positives): a hash of
    ``(seed, query id)``, so the choice depends on no other query and on no order."""
    if n_positives < 2:
        return None
    digest = hashlib.blake2b(f"{seed}\x00{query_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % n_positives


def hidden_documents(data: RetrievalData, seed: int) -> np.ndarray:
    """(queries,) the corpus index of each query's hidden positive (:func:`hidden_position`), ``-1`` for a query
    with fewer than two positives."""
    hidden = np.full(len(data.query_ids), -1, dtype=np.int64)
    for q, positives in enumerate(data.positives):
        h = hidden_position(seed, data.query_ids[q], len(positives))
        if h is not None:
            hidden[q] = positives[h]
    return hidden


def hide_positives(data: RetrievalData, seed: int) -> HiddenPositives:
    """For every query with two or more positives, hide the one :func:`hidden_position` picks."""
    keep, hidden, remaining, everything = [], [], [], []
    for q, doc in enumerate(hidden_documents(data, seed).tolist()):
        if doc < 0:
            continue
        positives = data.positives[q]
        keep.append(q)
        hidden.append(doc)
        remaining.append([d for d in positives if d != doc])
        everything.append(list(positives))
    subset = data.subset(keep)
    subset.positives = remaining
    return HiddenPositives(subset, np.array(hidden, dtype=np.int64), everything)


def without_hidden(data: RetrievalData, seed: int) -> RetrievalData:
    """All of ``data``'s queries, minus the labels the audit with ``seed`` hides.

    A teacher trained on this has seen exactly the labels the audited miner sees, so it cannot
    have learnt the hidden positives from their labels.
    """
    positives = []
    for q, docs in enumerate(data.positives):
        h = hidden_position(seed, data.query_ids[q], len(docs))
        positives.append([d for i, d in enumerate(docs) if i != h])
    return dataclasses.replace(data, positives=positives)
