"""Where each hidden positive of the false-negative audit ended, and the interval of the rate.

Shared by the audit (:mod:`hardneg.drivers.audit`) and the tuner (:mod:`hardneg.drivers.tune`), which
audits many settings at once.
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95 % by default); ``(0, 1)`` when ``trials`` is 0."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    # At 0 and at n successes the bound is exactly 0 (or 1); rounding must not move the rate outside it.
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return lo, hi


class FateRecorder:
    """Miner observer: where each hidden positive ended, and which negatives each query got."""

    def __init__(self, hidden: np.ndarray):
        self.hidden = hidden
        self.fates: dict[int, str] = {}
        self.negatives: dict[int, np.ndarray] = {}

    def observe(self, queries: np.ndarray, cands, masks: dict, negatives: np.ndarray) -> None:
        dropped = masks["dropped"]
        for row, q in enumerate(queries.tolist()):
            chosen = negatives[row][negatives[row] >= 0]
            self.negatives[q] = chosen
            self.fates[q] = self._fate(row, int(self.hidden[q]), cands.indices[row], masks, dropped, chosen)

    @staticmethod
    def _fate(row: int, doc: int, candidates: np.ndarray, masks: dict, dropped: dict, chosen: np.ndarray) -> str:
        if doc in chosen:
            return "selected"
        where = np.nonzero(candidates == doc)[0]
        if where.size == 0:
            return "not_retrieved"
        j = int(where[0])
        if masks["is_pos_text"][row, j]:
            return "known_positive_text"
        if "near_duplicate" in dropped and dropped["near_duplicate"][row, j]:
            return "near_duplicate"
        if not masks["in_window"][row, j]:
            return "outside_window"
        for name, mask in dropped.items():
            if name != "near_duplicate" and mask[row, j]:
                return name
        return "not_selected"
