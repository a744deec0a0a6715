"""The mining configuration: one dataclass, from which the CLI's flags are generated, and the named methods
(presets) that set several of its values at once; explicit arguments override a preset."""

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

__all__ = [
    "AUTO",
    "ENGINES",
    "FIELDS",
    "OUTPUT_FORMATS",
    "PRESETS",
    "SAMPLERS",
    "SELECTIONS",
    "MineConfig",
    "config_of",
    "make_config",
]
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
        if SAMPLERS[self.sampler].mines and self.num_negatives == 0:
            raise ConfigError("num_negatives must be >= 1 unless sampler='none' (pairs only)")
        if self.range_max is not None and self.num_negatives > self.range_max - self.range_min:
            raise ConfigError(
                f"num_negatives={self.num_negatives} cannot fit in the rank window [{self.range_min}, {self.range_max})"
            )
        if self.sampler == "bm25" and self.selection == "simans" and not self.simans_normalize:
            raise ConfigError("SimANS on BM25 scores needs simans_normalize=True: its a is set for another score scale")
        if not SAMPLERS[self.sampler].mines and self.output_format not in ("n-tuple", "labeled-pair", "labeled-list"):
            raise ConfigError(
                f"sampler='none' writes (anchor, positive) pairs: use output_format 'n-tuple', 'labeled-pair' or "
                f"'labeled-list', got {self.output_format!r}"
            )
        if self.teacher and not SAMPLERS[self.sampler].mines:
            raise ConfigError("teacher rescores candidates; sampler='none' mines none")

    def check_against(self, data: Any) -> None:
        """Settings that are impossible for this data (known once it is loaded, before any encoding)."""
        documents = len(data.corpus_ids)
        if not self.strict_checks:  # mined as given; short or empty output is warned about
            return
        if SAMPLERS[self.sampler].mines and self.num_negatives >= documents:
            raise ConfigError(
                f"num_negatives={self.num_negatives} cannot be found: the corpus has {documents} documents, "
                "one of them a positive of each query; ask for fewer"
            )
        if SAMPLERS[self.sampler].mines and self.range_min >= documents:
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


FIELDS = {f.name: f for f in dataclasses.fields(MineConfig)}


def config_of(parameters: dict[str, Any]) -> MineConfig:
    """The configuration a manifest's ``parameters`` describe (names that are not fields are left out)."""
    return MineConfig(**{k: v for k, v in parameters.items() if k in FIELDS})


PRESETS: dict[str, dict[str, Any]] = {
    # Dense candidates; drop any candidate scored within 5 % of the positive (the candidates most
    # often unlabelled positives, judged relative to each query's own positive score so it holds on
    # any score scale); then draw uniformly from the top 50 survivors instead of always taking the
    # very top, which spreads negatives over hardness levels. Searches deeper until every query has
    # its negatives.
    "default": {"sampler": "dense", "relative_margin": 0.05, "range_max": 50, "selection": "random", "num_negatives": 3},
    # (anchor, positive) pairs only: the loss uses the other in-batch positives as negatives.
    "in-batch": {"sampler": "none", "num_negatives": 0},
    # Uniformly random documents: easy negatives, the weakest baseline.
    "random": {"sampler": "random", "selection": "random", "num_negatives": 3},
    # DPR (Karpukhin et al. 2020): the top BM25 document that is not a positive.
    "dpr": {"sampler": "bm25", "selection": "top", "num_negatives": 1},
    # sentence-transformers mine_hard_negatives defaults: dense top-k, no filters.
    "top": {"sampler": "dense", "selection": "top", "num_negatives": 3},
    # ANCE (Xiong et al. 2020): uniform sample from the dense top 200 minus positives.
    "ance": {"sampler": "dense", "selection": "random", "range_max": 200, "num_negatives": 3},
    # NV-Retriever (Moreira et al. 2024) TopK-PercPos: top 4 below 95 % of the positive's score.
    "nv-retriever": {"sampler": "dense", "selection": "top", "relative_margin": 0.05, "num_negatives": 4},
    # SimANS (Zhou et al. 2022): sample the dense top 100 around the positive's score.
    "simans": {"sampler": "dense", "selection": "simans", "range_max": 100, "simans_a": 0.5, "simans_b": 0.0, "num_negatives": 3},
}
AUTO = "auto"
"""Not a set of values but a choice among them: ``hardneg mine --preset auto`` audits a grid of filter settings on
the data at hand and mines with the hardest that stays clean (:mod:`hardneg.drivers.tune`)."""
AUTO_FALLBACK = "default"
"""The preset ``auto`` starts from, and falls back to where too few queries have two or more positives to measure."""
PRESETS[AUTO] = {**PRESETS[AUTO_FALLBACK]}

DEFAULT_PRESET = "default"


def make_config(preset: str | None = None, **overrides: Any) -> MineConfig:
    """A validated config: dataclass defaults, then the preset's values, then ``overrides``."""
    name = preset or DEFAULT_PRESET
    if name not in PRESETS:
        raise ConfigError(f"preset must be one of {', '.join(map(repr, PRESETS))}, got {name!r}")
    unknown = sorted(set(overrides) - set(FIELDS))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {unknown}; see `hardneg mine --help`")
    values = {**PRESETS[name], **overrides, "preset": name}
    return MineConfig(**values)
