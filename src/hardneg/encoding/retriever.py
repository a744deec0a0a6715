"""Deprecated: moved to :mod:`hardneg.candidates.retriever` (a model's encoder and exact search is a candidate source)."""

import warnings

from hardneg.candidates.retriever import *  # noqa: F403

warnings.warn(
    "hardneg.encoding.retriever moved to hardneg.candidates.retriever; import it from there", DeprecationWarning, stacklevel=2
)
