"""Trainer callbacks that change the negatives while a model trains."""

from __future__ import annotations

import math

from transformers import TrainerCallback

from hardneg.training.negative_pool import NegativePool


class ResampleEachEpoch(TrainerCallback):
    """Draws fresh negatives from the pool at the start of every epoch (dynamic sampling)."""

    def __init__(self, pool: NegativePool):
        self.pool = pool

    def on_epoch_begin(self, args, state, control, **kwargs):
        # state.epoch is fractional; at an epoch's start it is that epoch's number (also after a resume).
        self.pool.resample(int(math.floor((state.epoch or 0.0) + 1e-6)))
        return control
