"""Choosing ``n`` negatives per query from the candidates that survived the filters.

Random choices are keyed by a hash of ``(seed, query id, document id)``: a query gets the same
negatives whatever the batch, shard or search depth it was processed with, which makes runs
reproducible and lets a resumed or distributed run match an uninterrupted one exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from hardneg.errors import ConfigError
from hardneg.fields import Options, check_choices, option

_M = np.uint64(0xFFFFFFFFFFFFFFFF)


def id_hashes(ids: Sequence[str]) -> np.ndarray:
    """A stable 64-bit hash of each id (blake2b), as uint64."""
    return np.array(
        [int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=8).digest(), "little") for i in ids],
        dtype=np.uint64,
    )


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _M
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _M
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _M
        return x ^ (x >> np.uint64(31))


def pair_uniforms(seed: int, query_hash: np.ndarray, doc_hash: np.ndarray) -> np.ndarray:
    """Uniforms in (0, 1), one per (query, document), fixed by the seed and the two ids."""
    with np.errstate(over="ignore"):
        x = _splitmix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) ^ query_hash[:, None])
        x = _splitmix64(x ^ (doc_hash * np.uint64(0xD6E8FEB86659FD93)))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


@dataclass
class SelectionContext:
    keep: np.ndarray
    """(queries, depth) candidates that survived every filter, in rank order."""
    scores: np.ndarray
    positive_score: np.ndarray
    query_hash: np.ndarray
    doc_hash: np.ndarray
    """(queries, depth) hash of each candidate's document id."""


class Selection(Protocol):
    name: str

    def select(self, ctx: SelectionContext, n: int) -> np.ndarray:
        """(queries, n) column positions of the chosen candidates in rank order, ``-1`` when short."""


def _take_best(order_key: np.ndarray, keep: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` kept entries with the smallest key, returned in rank order."""
    key = np.where(keep, order_key, np.inf)
    chosen = np.argsort(key, axis=1, kind="stable")[:, :n]
    ok = np.take_along_axis(keep, chosen, 1)
    chosen = np.where(ok, chosen, np.iinfo(np.int64).max)
    chosen.sort(axis=1)
    return np.where(chosen == np.iinfo(np.int64).max, -1, chosen)


@dataclass
class TopSelection:
    """The ``n`` best-ranked surviving candidates."""

    name: str = "top"

    def select(self, ctx: SelectionContext, n: int) -> np.ndarray:
        positions = np.broadcast_to(np.arange(ctx.keep.shape[1], dtype=np.float64), ctx.keep.shape)
        return _take_best(positions, ctx.keep, n)


@dataclass
class RandomSelection:
    """``n`` surviving candidates drawn uniformly without replacement (ANCE samples this way)."""

    seed: int = 42
    name: str = "random"

    def select(self, ctx: SelectionContext, n: int) -> np.ndarray:
        return _take_best(pair_uniforms(self.seed, ctx.query_hash, ctx.doc_hash), ctx.keep, n)


@dataclass
class SimANSSelection:
    """SimANS (Zhou et al. 2022): sample without replacement with ``p ∝ exp(−a·(s − s⁺ − b)²)``.

    Negatives scored near the positive are favoured over both easy ones (far below) and likely
    false negatives (far above). The paper's ``a = 0.5, b = 0`` were set for unnormalised
    dot-product scores; with ``normalize=True`` (default) the difference ``s − s⁺`` is divided by
    the standard deviation of the query's surviving candidate scores first, so one ``a`` means
    the same for cosine, dot-product or BM25 scores. Sampling uses Efraimidis–Spirakis keys.
    """

    a: float = 0.5
    b: float = 0.0
    seed: int = 42
    normalize: bool = True
    name: str = "simans"

    def select(self, ctx: SelectionContext, n: int) -> np.ndarray:
        diff = ctx.scores.astype(np.float64) - ctx.positive_score[:, None]
        if self.normalize:
            masked = np.where(ctx.keep, ctx.scores, np.nan).astype(np.float64)
            with np.errstate(all="ignore"):
                std = np.nanstd(masked, axis=1)
            std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
            diff = diff / std[:, None]
        log_weight = -self.a * (diff - self.b) ** 2
        u = pair_uniforms(self.seed, ctx.query_hash, ctx.doc_hash)
        # Smallest log(-log u) - log w  <=>  largest u ** (1 / w).
        with np.errstate(all="ignore"):
            key = np.log(-np.log(u)) - log_weight
        key = np.where(np.isfinite(key), key, 1e300)  # still ahead of dropped candidates (inf)
        return _take_best(key, ctx.keep, n)


def build_selection(
    name: str, *, seed: int, simans_a: float = 0.5, simans_b: float = 0.0, simans_normalize: bool = True
) -> Selection:
    if name == "top":
        return TopSelection()
    if name == "random":
        return RandomSelection(seed=seed)
    if name == "simans":
        return SimANSSelection(a=simans_a, b=simans_b, seed=seed, normalize=simans_normalize)
    raise ValueError(f"selection must be 'top', 'random' or 'simans', got {name!r}")


SELECTIONS = ("top", "random", "simans")


@dataclass
class SelectionOptions(Options):
    """How negatives are chosen among the survivors: all the selection reads of a run's configuration
    (the mining configuration is built from it)."""

    selection: str = option("top", "how negatives are chosen among survivors", choices=SELECTIONS)
    simans_a: float = option(0.5, "SimANS a: how sharply sampling concentrates near the positive's score")
    simans_b: float = option(0.0, "SimANS b: offset of the preferred score from the positive's")
    simans_normalize: bool = option(True, "divide SimANS score differences by each query's candidate score std")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choices(self, "selection")
        if self.simans_a < 0:
            raise ConfigError(f"simans_a must be >= 0, got {self.simans_a}")

    def build(self, seed: int) -> Selection:
        """The selection these options name, drawing with ``seed``."""
        return build_selection(
            self.selection, seed=seed, simans_a=self.simans_a, simans_b=self.simans_b, simans_normalize=self.simans_normalize
        )
