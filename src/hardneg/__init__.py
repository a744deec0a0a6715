"""hardneg: hard, clean negatives for dense-retrieval training."""

from hardneg._version import __version__
from hardneg.data import RetrievalData, load_beir, load_data, load_pairs
from hardneg.errors import ConfigError, DataError, HardnegError, ModelError

# the training loop: evaluate, train, evolve
from hardneg.evolution.evaluate import EvalResult, evaluate  # noqa: E402
from hardneg.evolution.loop import EvolveResult, evolve  # noqa: E402
from hardneg.mining.api import mine
from hardneg.mining.compat import mine_hard_negatives
from hardneg.mining.compat_rows import mining_summary
from hardneg.mining.config import MineConfig
from hardneg.mining.presets import PRESETS
from hardneg.mining.run import MineResult
from hardneg.training.train import TrainResult, train  # noqa: E402

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
