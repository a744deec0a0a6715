"""The mining configuration: one dataclass, from which the CLI's flags are generated."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hardneg.defence.options import DefenceOptions
from hardneg.errors import ConfigError
from hardneg.filters import POSITIVE_REFERENCES
from hardneg.options import DataOptions, EncodingOptions, check_choices, check_positive
from hardneg.options import option as _f

SAMPLERS = ("dense", "bm25", "random", "hybrid", "none")
SELECTIONS = ("top", "random", "simans")
ENGINES = ("local", "ray")
OUTPUT_FORMATS = ("n-tuple", "triplet", "labeled-pair", "labeled-list", "flagembedding", "tevatron", "candidates")


@dataclass
class MineConfig(EncodingOptions, DataOptions, DefenceOptions):
    """Every parameter of ``hardneg mine``; CLI flags are these names with dashes."""

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
    sampler: str = _f("dense", "where candidates come from", choices=SAMPLERS)
    num_negatives: int = _f(3, "negatives per query")
    range_min: int = _f(0, "skip this many best-ranked non-positive candidates")
    range_max: int | None = _f(None, "look no deeper than this rank; unset, as deep as needed for top and 100 for random/simans")
    max_score: float | None = _f(None, "drop candidates scored above this")
    min_score: float | None = _f(None, "drop candidates scored below this")
    absolute_margin: float | None = _f(None, "drop candidates scored above positive - margin (TopK-MarginPos)")
    relative_margin: float | None = _f(
        None, "drop candidates scored above positive - |positive| * margin (TopK-PercPos; 0.05 = 95%)"
    )
    positive_reference: str = _f(
        "max",
        "which positive score of a query the margin filters compare with: its best-matching positive (max), "
        "the mean, or its weakest (min, strictest; leaves queries with many loose positives short)",
        choices=POSITIVE_REFERENCES,
    )
    selection: str = _f("top", "how negatives are chosen among survivors", choices=SELECTIONS)
    simans_a: float = _f(0.5, "SimANS a: how sharply sampling concentrates near the positive's score")
    simans_b: float = _f(0.0, "SimANS b: offset of the preferred score from the positive's")
    simans_normalize: bool = _f(True, "divide SimANS score differences by each query's candidate score std")
    seed: int = _f(42, "seed of every random choice")
    extend_window: bool = _f(
        True,
        "widen the rank window (doubling) of a query with fewer than num_negatives survivors in it, rather than leave it short",
    )
    max_depth: int | None = _f(None, "deepest rank searched while looking for enough survivors (default: the whole corpus)")
    bm25_k1: float = _f(1.5, "BM25 k1")
    bm25_b: float = _f(0.75, "BM25 b")
    bm25_stemmer: str | None = _f("english", "Snowball stemmer language for BM25 ('' for none)")
    rrf_k: int = _f(60, "reciprocal-rank-fusion constant of the hybrid sampler")
    # encoding (the shared encoding options are declared in hardneg.options)
    shard_size: int = _f(50_000, "documents per embedding shard (unit of caching and resuming)", group="encoding")
    query_chunk_size: int = _f(4096, "queries searched at once; bounds search memory", group="encoding")
    # defence: the fields of DefenceOptions (hardneg.defence.options), and the audit
    audit: bool = _f(False, "also run the false-negative audit (`hardneg audit`) and add it to the summary", group="defence")
    # scale: resuming, approximate search, faster encoding, distributed execution
    resume: bool = _f(True, "keep each query batch's result until the output is complete, so a killed run resumes", group="scale")
    index: str = _f(
        "Flat", "FAISS index factory string: 'Flat' (exact), 'IVF4096,Flat', 'HNSW32', 'IVF1024,PQ64', ...", group="scale"
    )
    nprobe: int | None = _f(None, "IVF cells visited per query (FAISS default: 1)", group="scale")
    ef_search: int | None = _f(None, "HNSW search depth efSearch (FAISS uses at least the depth asked for)", group="scale")
    recall_sample: int = _f(200, "queries on which an approximate index's top-k is checked against exact search", group="scale")
    engine: str = _f("local", "where shards are encoded and query batches mined", choices=ENGINES, group="scale")
    ray_address: str | None = _f(
        None, "Ray cluster to use with engine='ray' ('auto', 'ray://head:10001'); default: start one here", group="scale"
    )
    num_cpus: int | None = _f(None, "CPUs of the Ray started here when no ray_address is given (default: all)", group="scale")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choices(self, "sampler", "selection", "output_format", "on_error", "positive_reference")
        if self.num_negatives < 0:
            raise ConfigError(f"num_negatives must be >= 0, got {self.num_negatives}")
        if self.sampler != "none" and self.num_negatives == 0:
            raise ConfigError("num_negatives must be >= 1 unless sampler='none' (pairs only)")
        if self.range_min < 0:
            raise ConfigError(f"range_min must be >= 0, got {self.range_min}")
        if self.range_max is not None and self.range_max <= self.range_min:
            raise ConfigError(
                f"range_max must be greater than range_min, got range_min={self.range_min}, range_max={self.range_max}"
            )
        if self.range_max is not None and self.num_negatives > self.range_max - self.range_min:
            raise ConfigError(
                f"num_negatives={self.num_negatives} cannot fit in the rank window [{self.range_min}, {self.range_max})"
            )
        check_positive(self, "shard_size", "query_chunk_size", "max_depth")
        if self.min_score is not None and self.max_score is not None and self.min_score > self.max_score:
            raise ConfigError(
                f"min_score={self.min_score} is above max_score={self.max_score}: no candidate can pass both; "
                "nothing would be mined"
            )
        for name in ("simans_a", "bm25_k1"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.bm25_b <= 1:  # the share of length normalisation (Robertson & Zaragoza, 2009)
            raise ConfigError(f"bm25_b must be in [0, 1], got {self.bm25_b}")
        check_positive(self, "rrf_k")
        if self.absolute_margin is not None and self.absolute_margin < 0:
            raise ConfigError(f"absolute_margin must be >= 0, got {self.absolute_margin}")
        if self.relative_margin is not None and not 0 <= self.relative_margin < 1:
            raise ConfigError(f"relative_margin must be in [0, 1), got {self.relative_margin}")
        if self.sampler == "bm25" and self.selection == "simans" and not self.simans_normalize:
            raise ConfigError("SimANS on BM25 scores needs simans_normalize=True: its a is set for another score scale")
        if self.sampler == "none" and self.output_format not in ("n-tuple", "labeled-pair", "labeled-list"):
            raise ConfigError(
                f"sampler='none' writes (anchor, positive) pairs: use output_format 'n-tuple', 'labeled-pair' or "
                f"'labeled-list', got {self.output_format!r}"
            )
        if self.teacher and self.sampler == "none":
            raise ConfigError("teacher rescores candidates; sampler='none' mines none")
        _validate_scale(self)

    def check_against(self, data: Any) -> None:
        """Settings that are impossible for this data (known once it is loaded, before any encoding)."""
        documents = len(data.corpus_ids)
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
    def uses_score_filters(self) -> bool:
        return any(getattr(self, n) is not None for n in ("max_score", "min_score", "absolute_margin", "relative_margin"))

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


def _validate_scale(c: MineConfig) -> None:
    check_choices(c, "engine")
    check_positive(c, "num_cpus", "nprobe", "ef_search")
    if not c.index.strip():
        raise ConfigError("index must be a FAISS index factory string such as 'Flat', 'IVF4096,Flat' or 'HNSW32', got ''")
    if c.recall_sample < 0:
        raise ConfigError(f"recall_sample must be >= 0, got {c.recall_sample}")


FIELDS = {f.name: f for f in dataclasses.fields(MineConfig)}
