"""RocketQA denoising (Qu et al. 2021): a cross-encoder decides which hard negatives to trust.

A candidate stays a negative only when the cross-encoder's probability is below ``t_neg`` (0.1 in the
paper), and an unlabelled candidate above ``t_pos`` (0.9) becomes a pseudo-positive, as RLHN (Thakur et
al. 2025) also does with an LLM judge. Both rules are candidate filters over the teacher's scores; the
candidates ``Promote`` drops are the promoted positives. What denoising did in the paper, and on SciFact:
``docs/false_negatives.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Denoise:
    """Keep a candidate only when the teacher's probability is below ``threshold`` (RocketQA's t_neg)."""

    threshold: float
    name: str = "denoise"

    def keep(self, ctx) -> np.ndarray:
        return _teacher_scores(ctx) < self.threshold


@dataclass
class Promote:
    """Candidates the teacher scores at or above ``threshold`` (t_pos) leave the negatives and become positives."""

    threshold: float
    name: str = "promote"

    def keep(self, ctx) -> np.ndarray:
        return ~(_teacher_scores(ctx) >= self.threshold)


def _teacher_scores(ctx) -> np.ndarray:
    return ctx.teacher_scores if ctx.teacher_scores is not None else ctx.scores
