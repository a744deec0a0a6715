"""Deprecated: moved to :mod:`hardneg.diagnostics.fooling` (the diagnostics live above the mining they measure)."""

import warnings

from hardneg.diagnostics.fooling import *  # noqa: F403

warnings.warn(
    "hardneg.evolution.fooling moved to hardneg.diagnostics.fooling; import it from there", DeprecationWarning, stacklevel=2
)
