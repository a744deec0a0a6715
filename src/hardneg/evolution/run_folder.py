"""The layout of an evolve run folder, spelled out once: the loop writes it, the report and the fooling matrix read it.

::

    RUN/evolve.json          the configuration (a rerun with other values is refused)
    RUN/data/                the run's BEIR view: links to corpus and queries, train/dev/test qrels
    RUN/base.json            dev/test quality of the base model
    RUN/round-000/candidates.parquet (+ manifest)   what the round's miner found
    RUN/round-000/model/ (+ model.manifest.json)     the round's trained model
    RUN/round-000/round.json, scores.npz, DONE      measures; DONE is written last
    RUN/summary.json         every round so far, the best round, why the loop stopped
    RUN/fooling.json, RUN/fooling/                  the fooling matrix and its sampler models
                                                    (fooling-round-NNN* for a named round)
    RUN/curve.json           a training curve, when one was measured for the run
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardneg.errors import DataError
from hardneg.io import read_json_object


@dataclass(frozen=True)
class RoundFolder:
    """One round's folder, ``RUN/round-NNN``."""

    path: Path

    @property
    def candidates(self) -> Path:
        return self.path / "candidates.parquet"

    @property
    def model(self) -> Path:
        return self.path / "model"

    @property
    def record(self) -> Path:
        return self.path / "round.json"

    @property
    def scores(self) -> Path:
        return self.path / "scores.npz"

    @property
    def done(self) -> Path:
        """Written last: the round is complete."""
        return self.path / "DONE"


@dataclass(frozen=True)
class RunFolder:
    """An evolve run folder."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def config(self) -> Path:
        return self.root / "evolve.json"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def base(self) -> Path:
        return self.root / "base.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def manifest(self) -> Path:
        return self.root / "evolve.manifest.json"

    @property
    def extra_positives(self) -> Path:
        return self.root / "extra_positives.train.tsv"

    @property
    def curve(self) -> Path:
        return self.root / "curve.json"

    def round(self, r: int) -> RoundFolder:
        return RoundFolder(self.root / f"round-{r:03d}")

    def fooling(self, model_round: int | None = None) -> tuple[Path, Path]:
        """The fooling matrix's folder (its sampler models) and result file; a named round's live apart."""
        name = "fooling" if model_round is None else f"fooling-round-{model_round:03d}"
        return self.root / name, self.root / f"{name}.json"

    def read_summary(self) -> dict[str, Any]:
        """The run's summary; a folder without one is not a run folder."""
        if not self.summary.is_file():
            raise DataError(
                "not a run folder: summary.json is missing (run `hardneg evolve --out RUN_DIR` first)", path=str(self.root)
            )
        return read_json_object(self.summary)
