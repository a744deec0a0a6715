"""Per-query pools of negative candidates, re-sampled every epoch (dynamic sampling).

Training from a candidates file draws fresh negatives from each query's pool every epoch (Tevatron
rotates through a stored pool the same way; ANCE and Conan-embedding replace the pool itself, see
:mod:`hardneg.training.inline_refresh`); what ``--sampling`` draws: ``docs/evolve.md`` (Train).

The draw for a query depends only on ``(seed, epoch, query id)``: it does not change with batch
order, sharding or a resumed run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hardneg.selection import id_hashes


@dataclass
class PoolRows:
    """The training rows: one per (query, positive)."""

    query: np.ndarray
    """Row -> query index."""
    positive: np.ndarray
    """Row -> corpus index of the positive."""


class NegativePool:
    """Candidate negatives per query and the negatives currently drawn from them.

    Args:
        corpus_texts: texts of the whole corpus (candidates are indices into it).
        positives: per query, corpus indices of its positives (they define the rows).
        candidates: per query, corpus indices to draw negatives from, best first.
        sampling: ``"random"`` draws uniformly from the pool each epoch; ``"top"`` always takes
            the first ``num_negatives`` (a static set, useful as a control).
    """

    def __init__(
        self,
        corpus_texts: Sequence[str],
        query_ids: Sequence[str],
        query_texts: Sequence[str],
        positives: Sequence[Sequence[int]],
        candidates: Sequence[Sequence[int]],
        *,
        num_negatives: int,
        seed: int,
        sampling: str = "random",
    ):
        if num_negatives < 1:
            raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
        if sampling not in ("random", "top"):
            raise ValueError(f"sampling must be 'random' or 'top', got {sampling!r}")
        if not (len(query_ids) == len(query_texts) == len(positives) == len(candidates)):
            raise ValueError("query_ids, query_texts, positives and candidates differ in length")
        self.corpus_texts = corpus_texts
        self.query_ids = list(query_ids)
        self.query_texts = list(query_texts)
        self.positives = [list(p) for p in positives]
        self.num_negatives = num_negatives
        self.seed = seed
        self.sampling = sampling
        self.query_hashes = id_hashes(self.query_ids)
        self.candidates: list[np.ndarray] = []
        self.version = -1
        """How many times the candidates were replaced (0 = as mined)."""
        self.set_candidates(candidates)
        queries = [q for q, pos in enumerate(self.positives) for _ in pos]
        self.rows = PoolRows(
            np.array(queries, dtype=np.int64), np.array([d for pos in self.positives for d in pos], dtype=np.int64)
        )
        self.epoch = -1
        self.emit_rows = False
        """When set, batches also carry each row's index in a ``label`` column (the live negative cache reads it)."""
        self.negatives = np.full((len(self.query_ids), num_negatives), -1, dtype=np.int64)
        self.resample(0)

    def __len__(self) -> int:
        return len(self.rows.query)

    @property
    def usable_queries(self) -> np.ndarray:
        """Queries with at least one candidate (the others cannot form a row with negatives)."""
        return np.array([len(c) > 0 for c in self.candidates], dtype=bool)

    def set_candidates(self, candidates: Sequence[Sequence[int]]) -> None:
        """Replace every query's pool (a refresh); positives are removed from it."""
        if len(candidates) != len(self.query_ids):
            raise ValueError(f"expected candidates for {len(self.query_ids)} queries, got {len(candidates)}")
        pools = []
        for q, cands in enumerate(candidates):
            cands = np.asarray(cands, dtype=np.int64)
            cands = cands[(cands >= 0) & ~np.isin(cands, self.positives[q])]
            _, first = np.unique(cands, return_index=True)
            pools.append(cands[np.sort(first)])
        self.candidates = pools
        self.version += 1

    def resample(self, epoch: int) -> None:
        """Draw every query's negatives for ``epoch`` (a short pool is repeated cyclically)."""
        self.epoch = epoch
        n = self.num_negatives
        for q, pool in enumerate(self.candidates):
            if len(pool) == 0:
                self.negatives[q] = -1
                continue
            if self.sampling == "top" or len(pool) <= n:
                picked = pool[:n]
            else:
                rng = np.random.default_rng([self.seed, epoch, self.version, int(self.query_hashes[q])])
                picked = np.sort(rng.choice(len(pool), size=n, replace=False))
                picked = pool[picked]
            self.negatives[q] = [picked[i % len(picked)] for i in range(n)]

    # --- the dataset view ---------------------------------------------------------------------

    def dataset(self):
        """A ``datasets.Dataset`` of rows whose negatives are looked up when a batch is read.

        The stored columns are ``anchor``, ``positive``, the row's query index and the row's index; a transform
        replaces the index by ``negative_1 … negative_n`` from :attr:`negatives`, so a
        :meth:`resample` or :meth:`set_candidates` takes effect from the next batch on.
        """
        import datasets

        keep = self.usable_queries[self.rows.query]
        rows = np.nonzero(keep)[0]
        ds = datasets.Dataset.from_dict(
            {
                "anchor": [self.query_texts[self.rows.query[r]] for r in rows],
                "positive": [self.corpus_texts[self.rows.positive[r]] for r in rows],
                "query_index": self.rows.query[rows].tolist(),
                "row_index": rows.tolist(),
            }
        )
        ds.set_transform(self.transform)
        return ds

    def transform(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        out = {"anchor": batch["anchor"], "positive": batch["positive"]}
        negs = self.negatives[np.asarray(batch["query_index"], dtype=np.int64)]
        for j in range(self.num_negatives):
            out[f"negative_{j + 1}"] = [self.corpus_texts[d] for d in negs[:, j]]
        if self.emit_rows:
            out["label"] = list(batch["row_index"])
        return out
