"""hardneg: hard, clean negatives for dense-retrieval training.

The public names are imported on first use (PEP 562), so ``import hardneg.cli`` and
``hardneg --help`` do not pay for torch, transformers or FAISS; ``hardneg.mine`` imports them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hardneg._version import __version__
from hardneg.errors import ConfigError, DataError, HardnegError, ModelError

if TYPE_CHECKING:
    from hardneg.data import RetrievalData, load_beir, load_data, load_pairs
    from hardneg.evolution.evaluate import EvalResult, evaluate
    from hardneg.evolution.loop import EvolveResult, evolve
    from hardneg.mining.api import mine
    from hardneg.mining.compat import mine_hard_negatives
    from hardneg.mining.config import MineConfig
    from hardneg.mining.presets import PRESETS
    from hardneg.mining.run import MineResult
    from hardneg.training.train import TrainResult, train

_LAZY = {
    "RetrievalData": "hardneg.data",
    "load_beir": "hardneg.data",
    "load_data": "hardneg.data",
    "load_pairs": "hardneg.data",
    # the training loop: evaluate, train, evolve
    "EvalResult": "hardneg.evolution.evaluate",
    "evaluate": "hardneg.evolution.evaluate",
    "EvolveResult": "hardneg.evolution.loop",
    "evolve": "hardneg.evolution.loop",
    "mine": "hardneg.mining.api",
    "mine_hard_negatives": "hardneg.mining.compat",
    "MineConfig": "hardneg.mining.config",
    "PRESETS": "hardneg.mining.presets",
    "MineResult": "hardneg.mining.run",
    "TrainResult": "hardneg.training.train",
    "train": "hardneg.training.train",
}

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
    "EvalResult",
    "EvolveResult",
    "TrainResult",
    "evaluate",
    "evolve",
    "train",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hardneg' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
