"""hardneg: hard, clean negatives for dense-retrieval training."""

from hardneg.config import MineConfig
from hardneg.data import RetrievalData, load_beir, load_data, load_pairs
from hardneg.errors import ConfigError, DataError, HardnegError, ModelError
from hardneg.mine import MineResult, mine
from hardneg.presets import PRESETS

__version__ = "0.1.0"

# the training loop: evaluate, train, evolve
from hardneg.evaluate import EvalResult, evaluate  # noqa: E402
from hardneg.evolve import EvolveResult, evolve  # noqa: E402
from hardneg.train import TrainResult, train  # noqa: E402

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
    "EvalResult",
    "EvolveResult",
    "TrainResult",
    "evaluate",
    "evolve",
    "train",
]
