"""Near-duplicate documents by character-shingle MinHash, vectorised with numpy.

A positive copied with re-flowed whitespace, changed punctuation or a small edit escapes exact text
matching (:func:`hardneg.data.dataset.normalize_text`); the defence as the user sees it:
``docs/false_negatives.md`` (The defences). Two documents are near duplicates when the Jaccard
similarity of their sets of character 5-grams, after case folding and with every run
of punctuation or whitespace reduced to one space, is at least ``threshold``. The Jaccard similarity
is estimated with MinHash (Broder 1997) over ``num_perm`` hash functions; the standard error of the
estimate is ``sqrt(J(1-J)/num_perm)``, about 0.035 at J = 0.8 with 128 functions.

Signatures are computed lazily, only for the documents asked about, and kept: mining touches the
candidates of each query and its positives, never the whole corpus.

Example:
    >>> nd = NearDuplicates(["The cat sat.", "the  cat, sat", "A dog barked"], threshold=0.8)
    >>> nd.similarity(np.array([0, 0]), np.array([1, 2]))
    array([1., 0.])
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

_NON_WORD = re.compile(r"[\W_]+")
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def shingle_text(text: str) -> str:
    """Case-folded NFKC text with each run of non-alphanumeric characters replaced by one space."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads rolling-hash values over all 64 bits."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def shingle_hashes(text: str, size: int = 5) -> np.ndarray:
    """Distinct 64-bit hashes of the character ``size``-grams of :func:`shingle_text` ``(text)``.

    The n-grams are hashed with a polynomial over the UTF-8 bytes, all windows at once.
    """
    data = np.frombuffer(shingle_text(text).encode("utf-8"), dtype=np.uint8).astype(np.uint64)
    if data.size == 0:
        return np.zeros(1, dtype=np.uint64)
    if data.size < size:
        size = int(data.size)
    windows = np.lib.stride_tricks.sliding_window_view(data, size)
    powers = np.uint64(1099511628211) ** np.arange(size, dtype=np.uint64)  # FNV prime powers, wrapping
    with np.errstate(over="ignore"):
        h = (windows * powers).sum(axis=1, dtype=np.uint64)
    return np.unique(_mix(h))


class NearDuplicates:
    """Estimated Jaccard similarity between documents, and near-duplicate masks for mining.

    Args:
        texts: every document text (indices refer to this list).
        threshold: estimated Jaccard similarity at or above which two documents are near duplicates.
        num_perm: hash functions per signature; more is more precise and slower.
    """

    def __init__(self, texts: Sequence[str], *, threshold: float = 0.8, num_perm: int = 128, seed: int = 0):
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if num_perm < 1:
            raise ValueError(f"num_perm must be >= 1, got {num_perm}")
        self.texts, self.threshold = texts, threshold
        rng = np.random.default_rng(seed)
        # Multiply-shift hashing (Dietzfelbinger et al. 1997): odd multipliers, keep the top 32 bits.
        self._a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
        self._b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
        self._signatures: dict[int, np.ndarray] = {}

    @property
    def num_perm(self) -> int:
        return int(self._a.size)

    def signature_of(self, text: str) -> np.ndarray:
        """The MinHash signature (``num_perm`` uint32) of one text."""
        h = shingle_hashes(text)[:, None]
        with np.errstate(over="ignore"):
            values = ((h * self._a + self._b) & _MASK64) >> np.uint64(32)
        return values.min(axis=0).astype(np.uint32)

    def signatures(self, indices: np.ndarray) -> np.ndarray:
        """Signatures of documents by index, any shape; ``-1`` gives a row that matches nothing."""
        indices = np.asarray(indices)
        flat = indices.reshape(-1)
        out = np.zeros((flat.size, self.num_perm), dtype=np.uint32)
        for i, doc in enumerate(flat.tolist()):
            if doc < 0:
                continue
            sig = self._signatures.get(doc)
            if sig is None:
                sig = self._signatures[doc] = self.signature_of(self.texts[doc])
            out[i] = sig
        return out.reshape(*indices.shape, self.num_perm)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Estimated Jaccard similarity of documents ``a`` and ``b`` (same shape); ``-1`` gives 0."""
        a, b = np.asarray(a), np.asarray(b)
        sim = (self.signatures(a) == self.signatures(b)).mean(axis=-1)
        return np.where((a >= 0) & (b >= 0), sim, 0.0)

    def mask(self, candidates: np.ndarray, positives: np.ndarray) -> np.ndarray:
        """(queries, depth) True where a candidate is a near duplicate of any of its query's positives.

        Args:
            candidates: (queries, depth) document indices, ``-1`` padded.
            positives: (queries, p) document indices of each query's positives, ``-1`` padded.
        """
        cand_sig = self.signatures(candidates)  # (q, k, P)
        pos_sig = self.signatures(positives)  # (q, p, P)
        out = np.zeros(candidates.shape, dtype=bool)
        for j in range(positives.shape[1]):
            agree = (cand_sig == pos_sig[:, j : j + 1, :]).mean(axis=-1)
            out |= (agree >= self.threshold) & (positives[:, j : j + 1] >= 0)
        return out & (candidates >= 0)

    def text_mask(self, candidates: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """(rows, depth) True where a candidate is a near duplicate of its row's text (a query, not a document).

        Args:
            candidates: (rows, depth) document indices, ``-1`` padded.
        """
        if not len(texts):
            return np.zeros(np.shape(candidates), dtype=bool)
        text_sig = np.stack([self.signature_of(t) for t in texts])  # (rows, P)
        agree = (self.signatures(candidates) == text_sig[:, None, :]).mean(axis=-1)
        return (agree >= self.threshold) & (np.asarray(candidates) >= 0)

    def groups(self, indices: Sequence[int]) -> list[list[int]]:
        """Clusters of near-duplicate documents among ``indices`` (connected components).

        Candidate pairs come from locality-sensitive hashing of the signatures in :func:`_default_bands` bands
        (pairs sharing a whole band), then are confirmed by the signature agreement.
        """
        indices = [int(i) for i in indices]
        if not indices:
            return []
        sig = self.signatures(np.array(indices, dtype=np.int64))
        bands = _default_bands(self.num_perm, self.threshold)
        rows = self.num_perm // bands
        parent = list(range(len(indices)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for band in range(bands):
            buckets: dict[bytes, list[int]] = {}
            block = np.ascontiguousarray(sig[:, band * rows : (band + 1) * rows])
            for i in range(len(indices)):
                buckets.setdefault(block[i].tobytes(), []).append(i)
            for members in buckets.values():
                for pos, x in enumerate(members):
                    for y in members[:pos]:
                        if find(x) != find(y) and (sig[x] == sig[y]).mean() >= self.threshold:
                            parent[find(x)] = find(y)
        clusters: dict[int, list[int]] = {}
        for i in range(len(indices)):
            clusters.setdefault(find(i), []).append(indices[i])
        return [c for c in clusters.values() if len(c) > 1]


def _default_bands(num_perm: int, threshold: float) -> int:
    """The band count whose LSH S-curve threshold ``(1/b)^(1/r)`` is closest below ``threshold``."""
    best, best_gap = 1, float("inf")
    for b in range(1, num_perm + 1):
        if num_perm % b:
            continue
        r = num_perm // b
        t = (1 / b) ** (1 / r)
        gap = threshold - t
        if 0 <= gap < best_gap:
            best, best_gap = b, gap
    return best
