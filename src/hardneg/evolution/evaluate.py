"""Deprecated: moved to :mod:`hardneg.diagnostics.evaluate` (the diagnostics live above the mining they measure)."""

import warnings

from hardneg.diagnostics.evaluate import *  # noqa: F403

warnings.warn(
    "hardneg.evolution.evaluate moved to hardneg.diagnostics.evaluate; import it from there", DeprecationWarning, stacklevel=2
)
