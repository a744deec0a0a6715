"""Deprecated: moved to :mod:`hardneg.diagnostics.audit` (the diagnostics live above the mining they measure)."""

import warnings

from hardneg.diagnostics.audit import *  # noqa: F403

warnings.warn("hardneg.defence.audit moved to hardneg.diagnostics.audit; import it from there", DeprecationWarning, stacklevel=2)
