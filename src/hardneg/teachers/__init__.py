"""Teachers: scorers stronger than the model being trained, whose scores the filters can use instead.

``build_teacher`` turns the mining configuration's teacher settings into one scorer: a
cross-encoder, a bi-encoder, or an ensemble of several; a cross-encoder may be given loaded instead of by path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hardneg.data import RetrievalData
from hardneg.teachers.base import PairCache, Teacher, score_pairs
from hardneg.teachers.bi_encoder import BiEncoderTeacher
from hardneg.teachers.cross_encoder import ACTIVATIONS, CrossEncoderScorer, load_cross_encoder
from hardneg.teachers.ensemble import EnsembleScorer, minmax_rows

TEACHER_TYPES = ("cross-encoder", "bi-encoder")

__all__ = [
    "ACTIVATIONS",
    "BiEncoderTeacher",
    "CrossEncoderScorer",
    "EnsembleScorer",
    "PairCache",
    "TEACHER_TYPES",
    "Teacher",
    "build_teacher",
    "load_cross_encoder",
    "minmax_rows",
    "score_pairs",
    "split_list",
]


def split_list(value: str | Sequence[str] | None) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` -> ``["a", "b"]``; ``None`` -> ``[]``."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [s.strip() for s in items if s and s.strip()]


def build_teacher(
    paths: Sequence[Any],
    types: Sequence[str],
    data: RetrievalData,
    *,
    activation: str = "sigmoid",
    batch_size: int = 32,
    max_length: int | None = None,
    device: str | None = None,
    cache_dir=None,
    show_progress: bool = True,
    bf16: bool = False,
) -> Teacher:
    """One teacher per path, or per loaded one-output ``CrossEncoder`` (``types`` has one entry per path, or one for
    all); several make an ensemble."""
    if not paths:
        raise ValueError("build_teacher needs at least one path")
    types = list(types) * len(paths) if len(types) == 1 else list(types)
    members = []
    for path, kind in zip(paths, types):
        if kind == "cross-encoder":
            members.append(
                CrossEncoderScorer(
                    path,
                    data.query_texts,
                    data.corpus_texts,
                    activation=activation,
                    batch_size=batch_size,
                    max_length=max_length,
                    device=device,
                    show_progress=show_progress,
                    bf16=bf16,
                )
            )
        elif kind == "bi-encoder":
            members.append(
                BiEncoderTeacher(
                    path,
                    data,
                    batch_size=batch_size,
                    max_seq_length=max_length,
                    device=device,
                    cache_dir=cache_dir,
                    show_progress=show_progress,
                )
            )
        else:
            raise ValueError(f"teacher_type must be one of {TEACHER_TYPES}, got {kind!r}")
    return members[0] if len(members) == 1 else EnsembleScorer(members)
