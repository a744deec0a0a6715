"""Batch hygiene for in-batch negatives: no two related queries in one batch.

A relevant document that another row of the batch brings is a false negative no mining filter can see,
because the batch is put together after mining. GISTEmbed (Solatorio 2024) masks such in-batch negatives
with a guide model; TAS-Balanced (Hofstätter et al. 2021) builds batches on purpose; this sampler keeps
such rows out of each other's batches. Why, what it costs, and its use with a sentence-transformers
trainer: ``docs/evolve.md`` (In-batch false negatives) and ``docs/migrating.md``.

Rows ``i`` and ``j`` conflict when they have the same anchor, when the positive of one is in the
*related set* of the other's anchor (that anchor's positives, the negatives of its rows, the
candidates mined for it from a ``hardneg mine --output-format candidates`` file, and the near
duplicates of its positives, :mod:`hardneg.defence.near_duplicates`), or when a negative of one is a
known positive of the other's anchor (the loss scores every row's negatives against every query of
the batch). Texts are compared after :func:`hardneg.data.dataset.normalize_text`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from sentence_transformers.base.sampler import DefaultBatchSampler

from hardneg.candidates_file import read_candidates
from hardneg.data import RetrievalData, load_data
from hardneg.data.dataset import normalize_text
from hardneg.defence.near_duplicates import NearDuplicates
from hardneg.training.data import text_columns

logger = logging.getLogger(__name__)


def related_from_candidates(path: str | Path, data: str | Path | RetrievalData) -> dict[str, set[str]]:
    """Normalised query text -> normalised texts of its candidates (and promoted positives) in a candidates file."""
    if not isinstance(data, RetrievalData):
        data = load_data(data)
    related: dict[str, set[str]] = {}
    for row in read_candidates(path, data=data).rows:
        bucket = related.setdefault(normalize_text(row.query), set())
        bucket.update(normalize_text(data.corpus_texts[d]) for d in (*row.candidates, *row.positives, *row.promoted))
    return related


class ConflictFreeBatchSampler(DefaultBatchSampler):
    """Shuffled batches in which no row's positive is related to another row's anchor.

    Args:
        dataset (datasets.Dataset): rows of (anchor, positive, negatives...) texts; columns ``anchor``
            and ``positive`` when present, else the first two; other text columns are negatives.
        batch_size: as for every sentence-transformers batch sampler.
        drop_last: as for every sentence-transformers batch sampler.
        valid_label_columns: as for every sentence-transformers batch sampler.
        generator: as for every sentence-transformers batch sampler.
        seed: as for every sentence-transformers batch sampler.
        related: normalised anchor text -> normalised texts related to it (e.g.
            :func:`related_from_candidates`), on top of what the dataset itself shows.
        near_duplicate_threshold: also treat positives whose character-shingle Jaccard is at least
            this as one document (``None``: exact normalised text only).

    A row that conflicts with the batch being filled waits for a later batch; batches may
    therefore hold rows from further down the shuffled order, and the last ones may be smaller.
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
        *,
        related: dict[str, set[str]] | None = None,
        near_duplicate_threshold: float | None = None,
    ):
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        anchors, positives, negatives = text_columns(dataset, valid_label_columns)
        self._build(anchors, positives, negatives, related or {}, near_duplicate_threshold)

    @classmethod
    def factory(
        cls,
        *,
        candidates: str | Path | None = None,
        data: str | Path | RetrievalData | None = None,
        near_duplicate_threshold: float | None = None,
    ):
        """A callable for ``SentenceTransformerTrainingArguments(batch_sampler=...)``.

        ``candidates`` is a ``hardneg mine --output-format candidates`` file, ``data`` the dataset it
        was mined from (to turn its ids into texts).
        """
        related = related_from_candidates(candidates, data if data is not None else "demo") if candidates else None
        return _SamplerFactory(cls, related, near_duplicate_threshold)

    def _build(self, anchors, positives, negatives, related, threshold) -> None:
        keys: dict[str, int] = {}

        def key(text: str) -> int:
            return keys.setdefault(normalize_text(text), len(keys))

        self.anchor = np.array([key(a) for a in anchors], dtype=np.int64)
        self.positive = np.array([key(p) for p in positives], dtype=np.int64)
        self.negatives = [frozenset(key(n) for n in negs) for negs in negatives]
        by_anchor: dict[int, set[int]] = {}
        known: dict[int, set[int]] = {}
        for a, p, negs in zip(self.anchor.tolist(), self.positive.tolist(), self.negatives):
            by_anchor.setdefault(a, set()).update([p, *negs])
            known.setdefault(a, set()).add(p)
        for text, docs in related.items():
            a = keys.get(text)
            if a is not None:
                by_anchor.setdefault(a, set()).update(key(d) for d in docs)
        if threshold is not None:
            self._add_near_duplicates((by_anchor, known), positives, threshold)
        self.related = by_anchor
        self.known = known

    def _add_near_duplicates(self, sets: Sequence[dict[int, set[int]]], positives: Sequence[str], threshold: float) -> None:
        key_of = {}
        for text, k in zip(positives, self.positive.tolist()):
            key_of.setdefault(text, k)
        unique = list(key_of)
        finder = NearDuplicates(unique, threshold=threshold)
        partners: dict[int, set[int]] = {}
        for group in finder.groups(range(len(unique))):
            members = {key_of[unique[i]] for i in group}
            for m in members:
                partners.setdefault(int(m), set()).update(members)
        for by_anchor in sets:
            for docs in by_anchor.values():
                for d in list(docs):
                    docs.update(partners.get(d, ()))

    def __iter__(self) -> Iterator[list[int]]:
        if self.generator is not None and self.seed is not None:
            self.generator.manual_seed(self.seed + self.epoch)
        stream = iter(torch.randperm(len(self.anchor), generator=self.generator).tolist())
        waiting: list[int] = []
        exhausted = False
        while True:
            batch = _OpenBatch(self)
            waiting = [i for i in waiting if not batch.offer(i)]
            while not batch.full and not exhausted:
                i = next(stream, None)
                if i is None:
                    exhausted = True
                elif not batch.offer(i):
                    waiting.append(i)
            if not batch.rows:
                return
            if batch.full or not self.drop_last:
                yield batch.rows
            elif exhausted and not waiting:
                return

    def __len__(self) -> int:
        n = len(self.anchor)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class _SamplerFactory:
    """What :meth:`ConflictFreeBatchSampler.factory` returns: a module-level callable, because the trainer
    pickles its arguments (``batch_sampler`` included) into every checkpoint's ``training_args.bin``.

    The related sets are left out of the pickle (they hold the text of every mined candidate); the
    trainer never reads that file back, and a factory restored from it only keeps the rows' own conflicts.
    """

    def __init__(self, cls, related: dict[str, set[str]] | None, near_duplicate_threshold: float | None):
        self.cls, self.related, self.near_duplicate_threshold = cls, related, near_duplicate_threshold

    def __call__(self, dataset, batch_size, drop_last, valid_label_columns=None, generator=None, seed=0):
        args = (dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        return self.cls(*args, related=self.related, near_duplicate_threshold=self.near_duplicate_threshold)

    def __getstate__(self) -> dict:
        return {"cls": self.cls, "related": None, "near_duplicate_threshold": self.near_duplicate_threshold}


class _OpenBatch:
    """The batch being filled: its rows, and the anchors, positives and related documents they bring."""

    def __init__(self, sampler: ConflictFreeBatchSampler):
        self.sampler = sampler
        self.rows: list[int] = []
        self.anchors: set[int] = set()
        self.positives: set[int] = set()
        self.related: set[int] = set()
        self.known: set[int] = set()
        self.negatives: set[int] = set()

    @property
    def full(self) -> bool:
        return len(self.rows) >= self.sampler.batch_size

    def offer(self, i: int) -> bool:
        """Add row ``i`` unless the batch is full or the row conflicts with it."""
        s = self.sampler
        a, p = int(s.anchor[i]), int(s.positive[i])
        mine, known, negatives = s.related.get(a, set()), s.known.get(a, set()), s.negatives[i]
        if (
            self.full
            or a in self.anchors
            or p in self.related
            or mine & self.positives
            or negatives & self.known
            or known & self.negatives
        ):
            return False
        self.rows.append(i)
        self.anchors.add(a)
        self.positives.add(p)
        self.related |= mine
        self.known |= known
        self.negatives |= negatives
        return True
