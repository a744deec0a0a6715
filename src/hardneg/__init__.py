"""hardneg: hard, clean negatives for dense-retrieval training.

The names below are imported on first use, so ``import hardneg`` (and the ``hardneg`` command's
start-up, which Ctrl-C may interrupt) loads no model library until one is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hardneg._lazy import lazy_exports
from hardneg._version import __version__
from hardneg.errors import ConfigError, DataError, HardnegError, ModelError

_WHERE = {
    "RetrievalData": "hardneg.data",
    "load_beir": "hardneg.data",
    "load_data": "hardneg.data",
    "load_pairs": "hardneg.data",
    "EvalResult": "hardneg.diagnostics.evaluate",
    "evaluate": "hardneg.drivers.evaluate",
    "EvolveResult": "hardneg.evolution.loop",
    "evolve": "hardneg.evolution.loop",
    "mine": "hardneg.drivers.mine",
    "mine_hard_negatives": "hardneg.drivers.compat",
    "mining_summary": "hardneg.drivers.compat_rows",
    "MineConfig": "hardneg.mining.config",
    "PRESETS": "hardneg.mining.config",
    "MineResult": "hardneg.mining.run",
    "TrainResult": "hardneg.training.train",
    "train": "hardneg.training.train",
}

if TYPE_CHECKING:
    from hardneg.data import RetrievalData, load_beir, load_data, load_pairs
    from hardneg.diagnostics.evaluate import EvalResult
    from hardneg.drivers.compat import mine_hard_negatives
    from hardneg.drivers.compat_rows import mining_summary
    from hardneg.drivers.evaluate import evaluate
    from hardneg.drivers.mine import mine
    from hardneg.evolution.loop import EvolveResult, evolve
    from hardneg.mining.config import PRESETS, MineConfig
    from hardneg.mining.run import MineResult
    from hardneg.training.train import TrainResult, train


__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

__all__ = [
    "__version__",
    "ConfigError",
    "DataError",
    "HardnegError",
    "MineConfig",
    "MineResult",
    "ModelError",
    "PRESETS",
    "RetrievalData",
    "load_beir",
    "load_data",
    "load_pairs",
    "mine",
    "mine_hard_negatives",
    "mining_summary",
    "EvalResult",
    "EvolveResult",
    "TrainResult",
    "evaluate",
    "evolve",
    "train",
]
