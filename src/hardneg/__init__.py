"""hardneg: hard, clean negatives for dense-retrieval training."""

from hardneg.config import MineConfig
from hardneg.data import RetrievalData, load_beir, load_data, load_pairs
from hardneg.errors import ConfigError, DataError, HardnegError, ModelError
from hardneg.mine import MineResult, mine
from hardneg.presets import PRESETS

__version__ = "0.1.0"

__all__ = [
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
]
