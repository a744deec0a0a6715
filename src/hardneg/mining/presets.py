"""Named mining methods. A preset is a set of MineConfig values; explicit arguments override it."""

from __future__ import annotations

from typing import Any

from hardneg.errors import ConfigError
from hardneg.mining.config import FIELDS, MineConfig

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
