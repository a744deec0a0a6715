"""Where candidates come from: the candidate source's part of a mining configuration, and what each sampler is.

:class:`CandidateOptions` is what :func:`hardneg.candidates.factory.build_source` reads to build a source
(the mining configuration is built from it), checked when the options are built. :data:`SAMPLERS` answers what a
sampler needs and gives (embeddings, a BM25 index, scores of its own), so no caller compares sampler names.
"""

from __future__ import annotations

from dataclasses import dataclass

from hardneg.errors import ConfigError
from hardneg.fields import Options, check_choices, check_positive, option


@dataclass(frozen=True)
class Sampler:
    """One candidate source a mining configuration can name."""

    name: str
    dense: bool = False
    """It searches query and document embeddings (a model encodes both)."""
    bm25: bool = False
    """It searches a BM25 index."""
    own_scores: bool = True
    """Its candidates come with scores of its own; without, the model's scorer scores them (if one is loaded)."""
    mines: bool = True
    """It finds candidates at all (``none``: the (anchor, positive) pairs only)."""


SAMPLERS: dict[str, Sampler] = {
    s.name: s
    for s in (
        Sampler("dense", dense=True),
        Sampler("bm25", bm25=True),
        Sampler("random", own_scores=False),
        Sampler("hybrid", dense=True, bm25=True),
        Sampler("none", own_scores=False, mines=False),
    )
}
"""Every sampler by name, in the order ``--sampler`` lists them."""
BM25_K1_MAX = 1000.0
"""The largest BM25 k1 taken. k1 is where a term's count saturates; at 1000 a term seen 10 times in a
document of average length already scores within 1 % of the unsaturated (linear) limit, so a larger
k1 ranks the same, and a huge one (1e100 on the demo) overflows every score and mines nothing."""


@dataclass
class CandidateOptions(Options):
    """The sampler and its settings: BM25's, the hybrid fusion's and the dense index's."""

    sampler: str = option("dense", "where candidates come from", choices=tuple(SAMPLERS))
    bm25_k1: float = option(1.5, "BM25 k1, the term-count saturation, in [0, 1000]")
    bm25_b: float = option(0.75, "BM25 b, the share of document-length normalisation, in [0, 1]")
    bm25_stemmer: str | None = option("english", "Snowball stemmer language for BM25 ('' for none)")
    rrf_k: int = option(60, "reciprocal-rank-fusion constant of the hybrid sampler")
    index: str = option(
        "Flat", "FAISS index factory string: 'Flat' (exact), 'IVF4096,Flat', 'HNSW32', 'IVF1024,PQ64', ...", group="scale"
    )
    nprobe: int | None = option(None, "IVF cells visited per query (FAISS default: 1)", group="scale")
    ef_search: int | None = option(None, "HNSW search depth efSearch (FAISS uses at least the depth asked for)", group="scale")
    recall_sample: int = option(
        200, "queries on which an approximate index's top-k is checked against exact search", group="scale"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choices(self, "sampler")
        check_positive(self, "rrf_k", "nprobe", "ef_search")
        if not 0 <= self.bm25_k1 <= BM25_K1_MAX:
            raise ConfigError(f"bm25_k1 must be in [0, {BM25_K1_MAX:g}], got {self.bm25_k1:g}")
        if not 0 <= self.bm25_b <= 1:  # the share of length normalisation (Robertson & Zaragoza, 2009)
            raise ConfigError(f"bm25_b must be in [0, 1], got {self.bm25_b}")
        if not self.index.strip():
            raise ConfigError("index must be a FAISS index factory string such as 'Flat', 'IVF4096,Flat' or 'HNSW32', got ''")
        if self.recall_sample < 0:
            raise ConfigError(f"recall_sample must be >= 0, got {self.recall_sample}")
