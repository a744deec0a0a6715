"""Training a cross-encoder teacher when there is none: ``hardneg teacher``.

RocketQA (Qu et al. 2021) trains its denoising cross-encoder on the labelled pairs and negatives
mined by the dual encoder; this does the same with sentence-transformers' cross-encoder training
(label 1 for a labelled pair, 0 for a mined negative, ``BinaryCrossEntropyLoss`` on the single logit),
from any local model. What it trains on and where it starts: ``docs/false_negatives.md`` (The defences).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardneg.errors import ConfigError, DataError
from hardneg.options import DataOptions, check_positive
from hardneg.options import option as _f

logger = logging.getLogger(__name__)


@dataclass
class TeacherConfig(DataOptions):
    """Every parameter of ``hardneg teacher``; CLI flags are these names with dashes."""

    # data
    negatives: str | None = _f(
        None, "labelled pairs to train on: a `hardneg mine --output-format labeled-pair` file (default: mine them)", group="data"
    )
    negatives_preset: str = _f(
        "default", "preset that mines the training negatives when no --negatives file is given", group="data"
    )
    num_negatives: int = _f(3, "mined negatives per query", group="data")
    hide_audit_positives: bool = _f(
        False, "leave out the positives `hardneg audit` hides with the same seed (so the teacher never saw them)", group="data"
    )
    # output
    out: str | None = _f(None, "folder to write the trained cross-encoder to", group="output")
    # training
    base_model: str | None = _f(
        None, "model to start from: a cross-encoder or encoder folder (default: offline all-MiniLM-L6-v2)", group="training"
    )
    epochs: float = _f(1.0, "passes over the training pairs", group="training")
    max_steps: int | None = _f(None, "stop after this many optimiser steps (overrides epochs)", group="training")
    learning_rate: float = _f(2e-5, "peak learning rate", group="training")
    batch_size: int = _f(16, "pairs per step", group="training")
    warmup_ratio: float = _f(0.1, "share of steps with a linear learning-rate warm-up", group="training")
    max_length: int = _f(256, "truncate each (query, document) pair to this many tokens", group="training")
    seed: int = _f(42, "seed of the new head, the shuffling and the mined negatives", group="training")
    bf16: bool = _f(False, "train in bfloat16 mixed precision (faster on CPUs and GPUs with bfloat16 support)", group="training")
    device: str | None = _f(None, "torch device (default: cuda if available, else cpu)", group="training")
    cache_dir: str | None = _f(None, "embedding cache for mining negatives", group="training")
    show_progress: bool = _f(True, "progress bars", group="output")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.out:
            raise ConfigError("out is required: the folder to write the trained teacher to")
        check_positive(self, "batch_size", "max_length", "num_negatives", "max_steps")
        if self.epochs <= 0:
            raise ConfigError(f"epochs must be > 0, got {self.epochs}")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")


def training_pairs(c: TeacherConfig):
    """The (query, document, label) table to train on, and a description of where it came from."""
    from hardneg.formats import FORMATS

    if c.negatives:
        path = Path(c.negatives)
        if not path.is_file():
            raise DataError("labelled pair file not found", path=str(path))
        labeled_pair = FORMATS["labeled-pair"]
        table = labeled_pair.read(path, "labelled pair file").table()
        expected = labeled_pair.names()  # with labels, not scores
        missing = set(expected) - set(table.column_names)
        if missing:
            raise DataError(
                f"expected the columns of `hardneg mine --output-format labeled-pair` ({', '.join(expected)}); "
                f"missing {sorted(missing)}",
                path=str(path),
            )
        return table, {"negatives": str(path)}, {"pairs": str(path)}

    from hardneg.mining.config import make_config
    from hardneg.mining.run import Miner

    data = c.load_data()
    inputs = dict(data.inputs)
    if c.hide_audit_positives:
        from hardneg.data.hidden import without_hidden

        data = without_hidden(data, c.seed)
    config = make_config(
        c.negatives_preset,
        data=c.data,
        output_format="labeled-pair",
        num_negatives=c.num_negatives,
        seed=c.seed,
        device=c.device,
        cache_dir=c.cache_dir,
        show_progress=False,
    )
    mined = Miner(config).run(data)
    origin = {"negatives_preset": c.negatives_preset, "pairs_labelled": data.num_pairs, "mining": mined.summary["dropped"]}
    return mined.table, origin, inputs


def train_teacher(c: TeacherConfig) -> dict[str, Any]:
    """Fine-tune a cross-encoder on labelled pairs and mined negatives; returns the manifest.

    ``out`` is checked, locked and claimed first (:class:`~hardneg.outputs.OutputGuard`).

    Example:
        >>> train_teacher(TeacherConfig(data="demo", out="runs/teacher", max_steps=200, seed=1))
    """
    from hardneg.outputs import OutputGuard

    inputs = [c.data if c.data != "demo" else None, c.corpus, c.negatives, c.base_model]
    with OutputGuard(c.out, "teacher", inputs=[p for p in inputs if p and Path(p).exists()], folder=True):
        return _train_teacher(c)


def _train_teacher(c: TeacherConfig) -> dict[str, Any]:
    import datasets
    import torch
    import transformers
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    from hardneg.encoding.model import fingerprint_model, resolve_model_name
    from hardneg.io import atomic_path, write_json_atomic
    from hardneg.outputs import build_manifest, manifest_path_for

    start = time.perf_counter()
    table, origin, inputs = training_pairs(c)
    if table.num_rows == 0:
        raise DataError("no training pairs: nothing was mined")
    rows = datasets.Dataset.from_dict(
        {
            "query": table.column("anchor").to_pylist(),
            "document": table.column("positive").to_pylist(),
            "label": [float(x) for x in table.column("label").to_pylist()],
        }
    )
    base = resolve_model_name(c.base_model)
    transformers.set_seed(c.seed)  # the new head's initial weights
    model = CrossEncoder(base, num_labels=1, max_length=c.max_length, device=c.device)
    if model.num_labels != 1:
        raise ConfigError(f"base_model {base!r} has {model.num_labels} outputs; a relevance teacher needs one")
    with tempfile.TemporaryDirectory(prefix="hardneg-teacher-") as scratch:
        args = CrossEncoderTrainingArguments(
            output_dir=scratch,
            num_train_epochs=c.epochs,
            max_steps=c.max_steps if c.max_steps is not None else -1,
            per_device_train_batch_size=c.batch_size,
            learning_rate=c.learning_rate,
            warmup_steps=c.warmup_ratio,  # a float below 1 is a share of the steps (transformers v5)
            seed=c.seed,
            data_seed=c.seed,
            save_strategy="no",
            report_to="none",
            logging_steps=max(1, (c.max_steps or 100) // 10),
            disable_tqdm=not c.show_progress,
            use_cpu=c.device == "cpu" or (c.device is None and not torch.cuda.is_available()),
            bf16=c.bf16,
        )
        trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=rows, loss=BinaryCrossEntropyLoss(model))
        with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its logs; stdout is for results
            result = trainer.train()
    out = Path(c.out)
    with atomic_path(out, directory=True) as tmp:
        model.save_pretrained(str(tmp))
    positives = int(sum(rows["label"]))
    summary = {
        "pairs": len(rows),
        "positives": positives,
        "negatives": len(rows) - positives,
        "steps": int(result.global_step),
        "train_loss": round(float(result.training_loss), 5),
        "seconds": round(time.perf_counter() - start, 3),
        **origin,
    }
    manifest = build_manifest(
        command="teacher",
        parameters=dataclasses.asdict(c),
        inputs=inputs,
        model={"base_model": base, "fingerprint": fingerprint_model(model), "max_length": c.max_length},
        outputs={},
        summary=summary,
    )
    manifest["outputs"] = {"out": {"path": str(out), "type": "cross-encoder folder"}}
    write_json_atomic(manifest_path_for(out), manifest)
    return manifest
