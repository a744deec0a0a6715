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

How well it all works is measured by :mod:`hardneg.defence.audit`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hardneg.data import RetrievalData
from hardneg.defence.denoise import Denoise, Promote
from hardneg.defence.leakage import ExcludedDocuments, excluded_documents
from hardneg.defence.near_duplicates import NearDuplicates
from hardneg.errors import ConfigError
from hardneg.teachers import ACTIVATIONS, TEACHER_TYPES, Teacher, build_teacher, split_list

if TYPE_CHECKING:
    from hardneg.mining.config import MineConfig


def validate_defence(c: MineConfig) -> None:
    """Checks of the ``defence`` parameters; errors name the parameter and the allowed values."""
    if isinstance(c.teacher, list | tuple):
        c.teacher = ",".join(c.teacher)
    if isinstance(c.exclude_qrels, list | tuple):
        c.exclude_qrels = ",".join(str(p) for p in c.exclude_qrels)
    teachers = split_list(c.teacher)
    types = split_list(c.teacher_type)
    if not types or any(t not in TEACHER_TYPES for t in types):
        raise ConfigError(
            f"teacher_type must be one of {', '.join(map(repr, TEACHER_TYPES))} (comma-separated), got {c.teacher_type!r}"
        )
    if teachers and len(types) not in (1, len(teachers)):
        raise ConfigError(
            f"teacher_type lists {len(types)} types for {len(teachers)} teachers; give one type, or one per teacher"
        )
    if c.teacher_activation not in ACTIVATIONS:
        raise ConfigError(f"teacher_activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {c.teacher_activation!r}")
    if c.teacher_batch_size < 1:
        raise ConfigError(f"teacher_batch_size must be >= 1, got {c.teacher_batch_size}")
    if teachers and c.sampler == "none":
        raise ConfigError("teacher rescores candidates; sampler='none' mines none")
    for name in ("denoise_threshold", "promote_threshold"):
        value = getattr(c, name)
        if value is None:
            continue
        if not teachers:
            raise ConfigError(f"{name} compares the teacher's probability; set teacher too")
        if not 0 < value <= 1:
            raise ConfigError(f"{name} is a probability and must be in (0, 1], got {value}")
        if not teacher_gives_probabilities(types, len(teachers), c.teacher_activation):
            raise ConfigError(
                f"{name} is a probability, but the teacher gives raw scores (bi-encoder, or teacher_activation='raw'); "
                "use a cross-encoder with teacher_activation='sigmoid', or max_score for a threshold on raw scores"
            )
    if teachers and not c.teacher_score_filters and c.denoise_threshold is None and c.promote_threshold is None:
        raise ConfigError(
            "teacher_score_filters=False leaves the teacher nothing to do: set denoise_threshold or promote_threshold"
        )
    if c.denoise_threshold is not None and c.promote_threshold is not None and c.promote_threshold < c.denoise_threshold:
        raise ConfigError(
            f"promote_threshold ({c.promote_threshold}) must be >= denoise_threshold ({c.denoise_threshold}): "
            "a candidate cannot be both a trusted negative and a positive"
        )
    if c.near_duplicate_threshold is not None and not 0 < c.near_duplicate_threshold <= 1:
        raise ConfigError(f"near_duplicate_threshold must be in (0, 1], got {c.near_duplicate_threshold}")


def teacher_gives_probabilities(types: list[str], n_teachers: int, activation: str) -> bool:
    """True when the (ensemble of) teacher(s) scores in [0, 1] as probabilities."""
    return n_teachers > 0 and activation == "sigmoid" and all(t == "cross-encoder" for t in types)


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
        self.promoted = 0

    @classmethod
    def from_config(
        cls, c: MineConfig, data: RetrievalData, *, cache_dir: Path | None = None, teacher: Teacher | None = None
    ) -> Defence | None:
        """The defences ``c`` asks for, or ``None`` when it asks for none.

        ``teacher``, when given, is used instead of loading ``c.teacher`` (``c.teacher`` must still be set,
        so the configuration says a teacher was used).
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
                device=c.device,
                cache_dir=cache_dir if c.use_cache else None,
                show_progress=c.show_progress,
                bf16=c.teacher_bf16,
            )
        return cls(
            data,
            teacher=teacher,
            near_duplicates=NearDuplicates(data.corpus_texts, threshold=c.near_duplicate_threshold, seed=c.seed)
            if c.near_duplicate_threshold is not None
            else None,
            excluded=excluded_documents(qrels, data) if qrels else None,
            denoise_threshold=c.denoise_threshold,
            promote_threshold=c.promote_threshold,
        )

    # --- what the miner calls ------------------------------------------------------------------

    @property
    def mask_names(self) -> list[str]:
        """Names of the masks counted before the filters (candidates treated as positives)."""
        return ["near_duplicate"] if self.near_duplicates is not None else []

    def positives_matrix(self, queries: np.ndarray) -> np.ndarray:
        """(queries, max positives) labelled positives, ``-1`` padded."""
        width = max(len(self.data.positives[q]) for q in queries)
        out = np.full((len(queries), width), -1, dtype=np.int64)
        for row, q in enumerate(queries):
            out[row, : len(self.data.positives[q])] = self.data.positives[q]
        return out

    def near_duplicate_mask(self, queries: np.ndarray, candidates: np.ndarray, eligible: np.ndarray) -> np.ndarray:
        """(queries, depth) eligible candidates that are near duplicates of one of their query's positives."""
        if self.near_duplicates is None:
            return np.zeros(candidates.shape, dtype=bool)
        return self.near_duplicates.mask(np.where(eligible, candidates, -1), self.positives_matrix(queries))

    def rescore(self, queries: np.ndarray, candidates: np.ndarray, in_window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Teacher scores ``(candidate_scores, positive_scores)``; candidates outside the window score ``-inf``.

        Positives and window candidates are scored in one call per query row, so an ensemble
        normalises each query over that set.
        """
        positives = self.positives_matrix(queries)
        row = np.concatenate([positives, np.where(in_window, candidates, -1)], axis=1)
        scores = self.teacher.score(queries, row)
        return scores[:, positives.shape[1] :], scores[:, : positives.shape[1]]

    def promoted_of(self, candidates: np.ndarray, scores: np.ndarray, dropped: dict[str, np.ndarray]):
        """Per query, the promoted documents and their teacher scores (``None`` without promotion)."""
        mask = dropped.get("promote")
        if mask is None:
            return None, None
        self.promoted += int(mask.sum())
        return [candidates[r][mask[r]] for r in range(len(mask))], [scores[r][mask[r]] for r in range(len(mask))]

    @property
    def promotes(self) -> bool:
        return any(f.name == "promote" for f in self.filters)

    # --- reporting -------------------------------------------------------------------------------

    def teacher_info(self) -> dict[str, Any] | None:
        return self.teacher.info() if self.teacher is not None else None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.teacher is not None:
            info = self.teacher.info()
            out["teacher"] = {k: info[k] for k in ("type", "path", "activation", "pairs_scored", "seconds") if k in info}
        if self.promotes:
            out["promoted_positives"] = self.promoted
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
