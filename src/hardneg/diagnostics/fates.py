"""Where each hidden positive of the false-negative audit ended, and the interval of the rate.

Shared by the audit (:mod:`hardneg.drivers.audit`) and the tuner (:mod:`hardneg.drivers.tune`), which
audits many settings at once.
"""

from __future__ import annotations

import math

import numpy as np

from hardneg.filters import VERDICTS
from hardneg.mined import MinedBatch

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


FATE_OF_VERDICT = {
    "chosen": "selected",
    "kept": "not_selected",
    "beyond_window": "outside_window",
    "known_positive_id": "outside_window",
    "query_itself": "outside_window",
}
"""A hidden positive's fate, from its verdict (:data:`~hardneg.filters.VERDICTS`) in the mined batch: a known positive
by id, or the query itself, never entered the rank window; any other verdict (a filter's, ``near_duplicate``,
``known_positive_text``) is its own fate."""


class FateRecorder:
    """Miner observer: where each hidden positive ended, and which negatives each query got, read from the verdicts
    the miner gave every searched candidate (:attr:`~hardneg.mined.MinedBatch.verdicts`), so a fate is decided once."""

    def __init__(self, hidden: np.ndarray):
        self.hidden = hidden
        self.fates: dict[int, str] = {}
        self.negatives: dict[int, np.ndarray] = {}

    def observe(self, mined: MinedBatch) -> None:
        searched = np.maximum(mined.candidates, mined.excluded)  # each searched candidate, in the window or not
        for row, q in enumerate(mined.queries.tolist()):
            chosen = mined.negatives[row][mined.negatives[row] >= 0]
            self.negatives[q] = chosen
            doc = int(self.hidden[q])
            where = np.nonzero(searched[row] == doc)[0]
            if doc in chosen:
                self.fates[q] = "selected"
            elif where.size == 0:
                self.fates[q] = "not_retrieved"
            else:
                verdict = VERDICTS[mined.verdicts[row, where[0]]]
                self.fates[q] = FATE_OF_VERDICT.get(verdict, verdict)
