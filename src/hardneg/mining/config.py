"""The mining configuration: one dataclass, from which the CLI's flags are generated."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hardneg.candidates.options import SAMPLERS, CandidateOptions
from hardneg.defence.options import DefenceOptions
from hardneg.errors import ConfigError
from hardneg.filters import FilterOptions
from hardneg.formats import FORMATS
from hardneg.options import DataOptions, EncodingOptions, check_choices, check_positive
from hardneg.options import option as _f
from hardneg.selection import SELECTIONS, SelectionOptions

__all__ = ["ENGINES", "FIELDS", "OUTPUT_FORMATS", "SAMPLERS", "SELECTIONS", "MineConfig"]
ENGINES = ("local", "ray")
OUTPUT_FORMATS = tuple(FORMATS)
"""The ``--output-format`` choices: one per entry of :data:`hardneg.formats.FORMATS`."""


@dataclass
class MineConfig(EncodingOptions, DataOptions, DefenceOptions, CandidateOptions, FilterOptions, SelectionOptions):
    """Every parameter of ``hardneg mine``; CLI flags are these names with dashes.

    Each stage's options are declared, and checked, by the stage: where candidates come from
    (:class:`~hardneg.candidates.options.CandidateOptions`), the window and filters
    (:class:`~hardneg.filters.FilterOptions`), the selection (:class:`~hardneg.selection.SelectionOptions`), the
    false-negative defence (:class:`~hardneg.defence.options.DefenceOptions`), the data and the encoding
    (:mod:`hardneg.options`). What is declared here belongs to the run: its output, the preset, the number
    of negatives, the seed and where it runs; the checks here are those that span stages."""

    # output
    out: str | None = _f(None, "output: FILE.parquet, FILE.jsonl, or a folder for a Hugging Face dataset", group="output")
    output_format: str = _f("n-tuple", "rows to write", choices=OUTPUT_FORMATS, group="output")
    include_scores: bool = _f(
        False,
        "add the scores of positives and negatives to the rows (in labeled-pair/labeled-list they replace the labels; "
        "flagembedding rows get the teacher's scores without this flag)",
        group="output",
    )
    overwrite: bool = _f(
        False,
        "replace an existing out file that hardneg did not write (a folder of other files is never replaced)",
        group="output",
    )
    # mining
    preset: str | None = _f(None, "named method; explicit flags override its values (see `hardneg presets`)")
    num_negatives: int = _f(3, "negatives per query")
    seed: int = _f(42, "seed of every random choice")
    max_false_negative_rate: float = _f(
        0.1,
        "with --preset auto: the most false negatives per mined negative the chosen setting may have, as the audit "
        "of hidden positives estimates them (see `hardneg tune`)",
    )
    # encoding (the shared encoding options are declared in hardneg.options)
    shard_size: int = _f(50_000, "documents per embedding shard (unit of caching and resuming)", group="encoding")
    query_chunk_size: int = _f(4096, "queries searched at once; bounds search memory", group="encoding")
    # defence: the fields of DefenceOptions (hardneg.defence.options), and the audit
    audit: bool = _f(False, "also run the false-negative audit (`hardneg audit`) and add it to the summary", group="defence")
    # scale: resuming, approximate search, faster encoding, distributed execution
    resume: bool = _f(True, "keep each query batch's result until the output is complete, so a killed run resumes", group="scale")
    engine: str = _f("local", "where shards are encoded and query batches mined", choices=ENGINES, group="scale")
    ray_address: str | None = _f(
        None, "Ray cluster to use with engine='ray' ('auto', 'ray://head:10001'); default: start one here", group="scale"
    )
    num_cpus: int | None = _f(None, "CPUs of the Ray started here when no ray_address is given (default: all)", group="scale")

    def __post_init__(self) -> None:
        super().__post_init__()  # every stage's options check themselves
        check_choices(self, "output_format", "on_error", "engine")
        check_positive(self, "shard_size", "query_chunk_size", "num_cpus")
        if not 0 < self.max_false_negative_rate <= 1:
            raise ConfigError(f"max_false_negative_rate must be in (0, 1], got {self.max_false_negative_rate}")
        if self.num_negatives < 0:
            raise ConfigError(f"num_negatives must be >= 0, got {self.num_negatives}")
        if self.sampler != "none" and self.num_negatives == 0:
            raise ConfigError("num_negatives must be >= 1 unless sampler='none' (pairs only)")
        if self.range_max is not None and self.num_negatives > self.range_max - self.range_min:
            raise ConfigError(
                f"num_negatives={self.num_negatives} cannot fit in the rank window [{self.range_min}, {self.range_max})"
            )
        if self.sampler == "bm25" and self.selection == "simans" and not self.simans_normalize:
            raise ConfigError("SimANS on BM25 scores needs simans_normalize=True: its a is set for another score scale")
        if self.sampler == "none" and self.output_format not in ("n-tuple", "labeled-pair", "labeled-list"):
            raise ConfigError(
                f"sampler='none' writes (anchor, positive) pairs: use output_format 'n-tuple', 'labeled-pair' or "
                f"'labeled-list', got {self.output_format!r}"
            )
        if self.teacher and self.sampler == "none":
            raise ConfigError("teacher rescores candidates; sampler='none' mines none")

    def check_against(self, data: Any) -> None:
        """Settings that are impossible for this data (known once it is loaded, before any encoding)."""
        documents = len(data.corpus_ids)
        if not self.strict_checks:  # mined as given; short or empty output is warned about
            return
        if self.sampler != "none" and self.num_negatives >= documents:
            raise ConfigError(
                f"num_negatives={self.num_negatives} cannot be found: the corpus has {documents} documents, "
                "one of them a positive of each query; ask for fewer"
            )
        if self.sampler != "none" and self.range_min >= documents:
            raise ConfigError(
                f"range_min={self.range_min} skips every candidate: the corpus has {documents} documents; nothing would be mined"
            )

    @property
    def effective_range_max(self) -> int | None:
        """Random and SimANS need a pool to draw from: 100 ranks unless set (SimANS samples the top 100).

        A teacher scores every candidate in the window, so with a teacher the window is bounded too.
        """
        if self.range_max is None and (self.selection in ("random", "simans") or self.teacher):
            return self.range_min + 100
        return self.range_max

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS = {f.name: f for f in dataclasses.fields(MineConfig)}
