"""What the false-negative defence is asked to do: its options, checked when they are built.

:class:`DefenceOptions` is the defence's part of ``hardneg mine``'s configuration
(the mining configuration is built from it, as from the encoding and data options) and all
the defence stage (:class:`~hardneg.defence.stage.Defence`) receives of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hardneg.errors import ConfigError
from hardneg.options import Options, check_positive, option
from hardneg.teachers import ACTIVATIONS, TEACHER_TYPES, split_list


@dataclass
class DefenceOptions(Options):
    """Teacher rescoring, RocketQA denoising and promotion, near duplicates and the leakage guard."""

    teacher: str | None = option(
        None, "teacher model path (comma-separated paths: an ensemble); filters then use its scores", group="defence"
    )
    teacher_type: str = option(
        "cross-encoder", "'cross-encoder' or 'bi-encoder'; comma-separated for one type per teacher", group="defence"
    )
    teacher_activation: str = option(
        "sigmoid", "cross-encoder output: 'sigmoid' probabilities or 'raw' logits", choices=("sigmoid", "raw"), group="defence"
    )
    teacher_batch_size: int = option(32, "pairs per teacher forward pass", group="defence")
    teacher_max_length: int | None = option(
        None, "truncate teacher inputs to this many tokens (default: the model's)", group="defence"
    )
    teacher_score_filters: bool = option(
        True,
        "score filters (margins, max/min score) compare the teacher's scores; with --no-teacher-score-filters they keep "
        "the candidate source's scores and the teacher only denoises and promotes",
        group="defence",
    )
    teacher_bf16: bool = option(
        False, "run the cross-encoder teacher in bfloat16 (faster on CPUs and GPUs with bfloat16 support)", group="defence"
    )
    denoise_threshold: float | None = option(
        None, "RocketQA t_neg: keep a candidate only when the teacher's probability is below this (paper: 0.1)", group="defence"
    )
    promote_threshold: float | None = option(
        None,
        "RocketQA t_pos: candidates the teacher scores at or above this become extra positives (paper: 0.9)",
        group="defence",
    )
    near_duplicate_threshold: float | None = option(
        None,
        "candidates whose character-shingle Jaccard with a positive is at least this count as positives (e.g. 0.5)",
        group="defence",
    )
    exclude_query_itself: bool = option(
        True,
        "a candidate that is the query itself (the document with the query's id, the same normalised text, or with "
        "near_duplicate_threshold set a near duplicate of the query) is never a negative; corpora that hold their "
        "queries would otherwise offer each query as its own hardest negative",
        group="defence",
    )
    exclude_qrels: str | None = option(
        None, "dev/test qrels file(s), comma-separated: documents judged relevant there are never negatives", group="defence"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_defence()

    def check_defence(self) -> None:
        """Checks of the ``defence`` options; errors name the option and the allowed values. A list of teachers or
        qrels files is joined into the comma-separated string the CLI takes."""
        if isinstance(self.teacher, list | tuple):
            self.teacher = ",".join(self.teacher)
        if isinstance(self.exclude_qrels, list | tuple):
            self.exclude_qrels = ",".join(str(p) for p in self.exclude_qrels)
        teachers = split_list(self.teacher)
        types = split_list(self.teacher_type)
        if not types or any(t not in TEACHER_TYPES for t in types):
            raise ConfigError(
                f"teacher_type must be one of {', '.join(map(repr, TEACHER_TYPES))} (comma-separated), got {self.teacher_type!r}"
            )
        if teachers and len(types) not in (1, len(teachers)):
            raise ConfigError(
                f"teacher_type lists {len(types)} types for {len(teachers)} teachers; give one type, or one per teacher"
            )
        if self.teacher_activation not in ACTIVATIONS:
            raise ConfigError(
                f"teacher_activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {self.teacher_activation!r}"
            )
        check_positive(self, "teacher_batch_size", "teacher_max_length")
        for name in ("denoise_threshold", "promote_threshold"):
            value = getattr(self, name)
            if value is None:
                continue
            if not teachers:
                raise ConfigError(f"{name} compares the teacher's probability; set teacher too")
            if not 0 < value <= 1:
                raise ConfigError(f"{name} is a probability and must be in (0, 1], got {value}")
            if not teacher_gives_probabilities(types, len(teachers), self.teacher_activation):
                raise ConfigError(
                    f"{name} is a probability, but the teacher gives raw scores (bi-encoder, or teacher_activation='raw'); "
                    "use a cross-encoder with teacher_activation='sigmoid', or max_score for a threshold on raw scores"
                )
        if teachers and not self.teacher_score_filters and self.denoise_threshold is None and self.promote_threshold is None:
            raise ConfigError(
                "teacher_score_filters=False leaves the teacher nothing to do: set denoise_threshold or promote_threshold"
            )
        if (
            self.denoise_threshold is not None
            and self.promote_threshold is not None
            and self.promote_threshold < self.denoise_threshold
        ):
            raise ConfigError(
                f"promote_threshold ({self.promote_threshold}) must be >= denoise_threshold ({self.denoise_threshold}): "
                "a candidate cannot be both a trusted negative and a positive"
            )
        if self.near_duplicate_threshold is not None and not 0 < self.near_duplicate_threshold <= 1:
            raise ConfigError(f"near_duplicate_threshold must be in (0, 1], got {self.near_duplicate_threshold}")


def teacher_gives_probabilities(types: list[str], n_teachers: int, activation: str) -> bool:
    """True when the (ensemble of) teacher(s) scores in [0, 1] as probabilities."""
    return n_teachers > 0 and activation == "sigmoid" and all(t == "cross-encoder" for t in types)
