"""Deprecated: moved to :mod:`hardneg.diagnostics.hardness` (the diagnostics live above the mining they measure)."""

import warnings

from hardneg.diagnostics.hardness import *  # noqa: F403

warnings.warn("hardneg.hardness moved to hardneg.diagnostics.hardness; import it from there", DeprecationWarning, stacklevel=2)
