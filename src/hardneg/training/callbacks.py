"""Trainer callbacks that change the negatives while a model trains."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from transformers import TrainerCallback

from hardneg.io import write_json_atomic
from hardneg.training.negative_pool import NegativePool


class ResampleEachEpoch(TrainerCallback):
    """Draws fresh negatives from the pool at the start of every epoch (dynamic sampling)."""

    def __init__(self, pool: NegativePool):
        self.pool = pool

    def on_epoch_begin(self, args, state, control, **kwargs):
        # state.epoch is fractional; at an epoch's start it is that epoch's number (also after a resume).
        self.pool.resample(int(math.floor((state.epoch or 0.0) + 1e-6)))
        return control


CHECKPOINT_COMPLETE = "hardneg-complete.json"
"""Written into ``checkpoint-N`` once the trainer has saved all of it: the size of each of its files."""


def checkpoint_is_complete(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` (a ``checkpoint-N``) was saved to the end and is unchanged since: its record is
    there and every file it lists has its recorded size (a SIGKILL mid-save leaves no record; one
    during the rotation of old checkpoints leaves a record whose files are gone)."""
    folder = Path(folder)
    try:
        files = json.loads((folder / CHECKPOINT_COMPLETE).read_text(encoding="utf-8"))["files"]
        return bool(files) and all((folder / name).stat().st_size == size for name, size in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


class MarkCheckpointComplete(TrainerCallback):
    """Records, after the trainer saved ``checkpoint-N`` (``on_save`` runs once it has written every file
    and rotated old checkpoints), that the checkpoint is complete (:func:`checkpoint_is_complete`)."""

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and folder.is_dir():
            files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != CHECKPOINT_COMPLETE]
            write_json_atomic(
                folder / CHECKPOINT_COMPLETE, {"files": {p.relative_to(folder).as_posix(): p.stat().st_size for p in files}}
            )
        return control
