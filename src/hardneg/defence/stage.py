"""The false-negative defences of one mining run, as the miner sees them.

A false negative is a relevant but unlabelled document used as a negative; the harder the sampler,
the more of them it finds. The miner asks this stage three things for each batch of queries:

1. which candidates are near duplicates of a positive (they then count as positives:
   :mod:`hardneg.defence.near_duplicates`);
2. the teacher's scores of the window's candidates and of the positives (the score space the
   filters then work in: :mod:`hardneg.teachers`);
3. extra filters: the leakage guard (:mod:`hardneg.defence.leakage`), RocketQA promotion and denoising
   (:mod:`hardneg.defence.denoise`). They run before the configuration's own filters, so the summary
   credits a candidate to the first of them that dropped it.

How well it all works is measured by :mod:`hardneg.drivers.audit`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hardneg.data import RetrievalData
from hardneg.data.dataset import positives_matrix
from hardneg.defence.denoise import Denoise, Promote
from hardneg.defence.leakage import ExcludedDocuments, excluded_documents
from hardneg.defence.near_duplicates import NearDuplicates
from hardneg.defence.options import DefenceOptions, teacher_gives_probabilities
from hardneg.teachers import Teacher, build_teacher, split_list

__all__ = ["Defence", "DefenceOptions", "teacher_gives_probabilities"]


class Defence:
    """Near duplicates, teacher scores and the defence filters for one run.

    Build with :meth:`from_config`; every part is optional.
    """

    def __init__(
        self,
        data: RetrievalData,
        *,
        teacher: Teacher | None = None,
        near_duplicates: NearDuplicates | None = None,
        excluded: ExcludedDocuments | None = None,
        denoise_threshold: float | None = None,
        promote_threshold: float | None = None,
    ):
        self.data = data
        self.teacher = teacher
        self.near_duplicates = near_duplicates
        self.excluded = excluded
        self.filters: list[Any] = []
        if excluded is not None:
            self.filters.append(excluded)
        if promote_threshold is not None:
            self.filters.append(Promote(promote_threshold))
        if denoise_threshold is not None:
            self.filters.append(Denoise(denoise_threshold))

    @classmethod
    def from_config(
        cls,
        c: DefenceOptions,
        data: RetrievalData,
        *,
        seed: int = 42,
        device: str | None = None,
        cache_dir: Path | None = None,
        show_progress: bool = False,
        teacher: Teacher | None = None,
    ) -> Defence | None:
        """The defences ``c`` asks for, or ``None`` when it asks for none.

        ``seed`` seeds the near-duplicate hashing, ``device`` and ``cache_dir`` (``None``: no cache) are the
        teacher's. ``teacher``, when given, is used instead of loading ``c.teacher`` (``c.teacher`` must still be
        set, so the configuration says a teacher was used).
        """
        teachers = split_list(c.teacher)
        qrels = split_list(c.exclude_qrels)
        if not (teachers or qrels or c.near_duplicate_threshold is not None):
            return None
        if teachers and teacher is None:
            teacher = build_teacher(
                teachers,
                split_list(c.teacher_type),
                data,
                activation=c.teacher_activation,
                batch_size=c.teacher_batch_size,
                max_length=c.teacher_max_length,
                device=device,
                cache_dir=cache_dir,
                show_progress=show_progress,
                bf16=c.teacher_bf16,
            )
        return cls(
            data,
            teacher=teacher,
            near_duplicates=NearDuplicates(data.corpus_texts, threshold=c.near_duplicate_threshold, seed=seed)
            if c.near_duplicate_threshold is not None
            else None,
            excluded=excluded_documents(qrels, data) if qrels else None,
            denoise_threshold=c.denoise_threshold,
            promote_threshold=c.promote_threshold,
        )

    # --- what the miner calls ------------------------------------------------------------------

    def near_duplicate_mask(self, queries: np.ndarray, candidates: np.ndarray, eligible: np.ndarray) -> np.ndarray:
        """(queries, depth) eligible candidates that are near duplicates of one of their query's positives
        (called only when there is a near-duplicate finder)."""
        return self.near_duplicates.mask(np.where(eligible, candidates, -1), positives_matrix(self.data.positives, queries))

    def rescore(self, queries: np.ndarray, candidates: np.ndarray, in_window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Teacher scores ``(candidate_scores, positive_scores)``; candidates outside the window score ``-inf``.

        Positives and window candidates are scored in one call per query row, so an ensemble
        normalises each query over that set.
        """
        positives = positives_matrix(self.data.positives, queries)
        row = np.concatenate([positives, np.where(in_window, candidates, -1)], axis=1)
        scores = self.teacher.score(queries, row)
        return scores[:, positives.shape[1] :], scores[:, : positives.shape[1]]

    def promoted_of(self, candidates: np.ndarray, scores: np.ndarray, dropped: dict[str, np.ndarray]):
        """Per query, the promoted documents and their teacher scores (``None`` without promotion).

        Nothing is counted here: a batch may be mined on a copy of the defence (a Ray worker) or not at all (a resumed
        batch); the run counts promotions with the batch's other drops (``dropped["promote"]``)."""
        mask = dropped.get("promote")
        if mask is None:
            return None, None
        return [candidates[r][mask[r]] for r in range(len(mask))], [scores[r][mask[r]] for r in range(len(mask))]

    @property
    def promotes(self) -> bool:
        return any(f.name == "promote" for f in self.filters)

    # --- reporting -------------------------------------------------------------------------------

    def summary(self, promoted: int = 0) -> dict[str, Any]:
        """What the run's summary says of the defence; ``promoted``: the run's count of promoted positives."""
        out: dict[str, Any] = {}
        if self.teacher is not None:
            info = self.teacher.info()
            out["teacher"] = {k: info[k] for k in ("type", "path", "activation", "pairs_scored", "seconds") if k in info}
        if self.promotes:
            out["promoted_positives"] = promoted
        if self.near_duplicates is not None:
            out["near_duplicate_threshold"] = self.near_duplicates.threshold
        if self.excluded is not None:
            out["excluded_documents"] = {"documents": self.excluded.count, "per_file": self.excluded.sources}
            if self.excluded.unknown:
                out["excluded_documents"]["not_in_corpus"] = self.excluded.unknown
        return out

    def score_space(self, default: str, teacher_score_filters: bool = True) -> str:
        """Which scores the filters compared: the teacher's, or the candidate source's (``default``)."""
        if self.teacher is None:
            return default
        kind = self.teacher.name
        if getattr(self.teacher, "is_probability", False):
            kind += " (probability)"
        if not teacher_score_filters:
            return f"{default}; teacher: {kind} for denoise/promote"
        return f"teacher: {kind}"
