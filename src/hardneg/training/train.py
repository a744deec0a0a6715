"""Fine-tuning a bi-encoder on mined negatives with the sentence-transformers trainer.

The loss is MultipleNegativesRankingLoss (InfoNCE, van den Oord et al. 2018; as used for dense
retrieval by Henderson et al. 2017 and DPR, Karpukhin et al. 2020): for each anchor, a softmax over
scaled cosine similarities to its positive, every other positive in the batch, and every mined
negative in the batch. ``loss="cached-mnrl"`` is the GradCache variant (Gao et al. 2021): the same
loss with large batches in small memory, computed in mini-batches of ``mini_batch_size``. The model
folder is written atomically; how a rerun resumes from checkpoints: ``docs/reliability.md``.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardneg.encoding.model import fingerprint_model, load_model, resolve_model_name
from hardneg.errors import ConfigError
from hardneg.io import atomic_path, write_json_atomic
from hardneg.options import (
    EXTRA_POSITIVES_HELP,
    PRECISION_ALIASES,
    TRAIN_PRECISIONS,
    ModelOptions,
    canonical_precision,
    check_choices,
    check_positive,
)
from hardneg.options import option as _f
from hardneg.outputs import build_manifest, manifest_path_for
from hardneg.training.data import POOLS, SAMPLINGS, TrainingInput, load_training_input
from hardneg.training.inline_refresh import REFRESH_MODES
from hardneg.training.negative_cache import CACHE_DTYPES

logger = logging.getLogger(__name__)

LOSSES = ("mnrl", "cached-mnrl")
BATCH_SAMPLERS = ("no-duplicates", "default", "conflict-free")


@dataclass
class TrainConfig(ModelOptions):
    """Every parameter of ``hardneg train``; CLI flags are these names with dashes."""

    # data
    data: str = _f(
        "demo",
        "mined rows (.parquet, .jsonl, dataset folder; n-tuple or triplet), a candidates file "
        "(dynamic negatives), or 'demo' / a BEIR folder (pairs only)",
        group="data",
    )
    split: str = _f("train", "qrels split when data (or corpus) is a BEIR folder", group="data")
    corpus: str | None = _f(
        None, "for a candidates file: the BEIR folder or 'demo' it was mined from (default: read from its manifest)", group="data"
    )
    num_negatives: int | None = _f(
        None, "negatives per row (default: every negative column; for candidates, as many as mining chose)", group="data"
    )
    pool: str = _f(
        "kept", "for candidates: draw from the candidates that passed the filters, or from all", choices=POOLS, group="data"
    )
    sampling: str = _f(
        "auto",
        "for candidates: how each epoch's negatives are drawn from the pool. auto follows the mining selection: "
        "top trains on the top kept candidates (the mined choice), random and simans redraw uniformly every epoch",
        choices=SAMPLINGS,
        group="data",
    )
    extra_positives: str | None = _f(None, EXTRA_POSITIVES_HELP, group="data")
    out: str | None = _f(None, "output model folder (required)", group="output")
    # optimisation
    loss: str = _f("mnrl", "MultipleNegativesRankingLoss or its cached (GradCache) variant", choices=LOSSES, group="training")
    mini_batch_size: int = _f(32, "cached-mnrl: texts per forward pass (memory), not the batch size", group="training")
    scale: float = _f(20.0, "inverse temperature of the softmax over cosine similarities", group="training")
    batch_size: int = _f(32, "rows per training batch (each row's positive is every other row's negative)", group="training")
    learning_rate: float = _f(2e-5, "peak learning rate (AdamW, linear decay)", group="training")
    epochs: float = _f(1.0, "passes over the data (ignored when max_steps is set)", group="training")
    max_steps: int | None = _f(None, "stop after this many optimiser steps", group="training")
    warmup: float = _f(0.1, "linear warm-up: a fraction of the steps if < 1, else a number of steps", group="training")
    weight_decay: float = _f(0.01, "AdamW weight decay", group="training")
    seed: int = _f(42, "seed of initialisation, batch order and negative draws", group="training")
    mask_known_positives: bool = _f(
        True,
        "leave every known positive of a query (its other positives in the training rows) out of its in-batch "
        "negatives, at the loss (mnrl and refresh_mode cache; hardneg.training.known_positives)",
        group="training",
    )
    batch_sampler: str = _f(
        "conflict-free",
        "conflict-free keeps rows apart when one's positive or negatives are related to the other's query, so no query "
        "meets its own unlabelled positive as an in-batch negative (hardneg.training.batch_hygiene; measured the best of "
        "the batchings on both datasets, docs/results.md; on data whose queries share many positives its late batches "
        "shrink); no-duplicates, sentence-transformers' choice, only keeps a text from appearing twice in a batch",
        choices=BATCH_SAMPLERS,
        group="training",
    )
    precision: str = _f(
        "float32",
        "bf16 (also bfloat16) trains under bfloat16 mixed precision (faster on CPUs with AVX-512 BF16)",
        choices=TRAIN_PRECISIONS,
        aliases=PRECISION_ALIASES,
        group="training",
    )
    # refresh inside the run (candidates input only)
    refresh_steps: int | None = _f(
        None,
        "every this many steps, re-mine the negatives with the weights being trained (ANCE-style; see hardneg.training.inline_refresh)",
        group="refresh",
    )
    refresh_mode: str = _f(
        "full",
        "full: re-encode the whole corpus (ANCE); pool: re-rank only the file's candidates plus BM25's top k; "
        "cache: re-mine every batch (every refresh_steps steps, default 1) from a live table of corpus embeddings "
        "that each step's own document embeddings and a refresher keep fresh (hardneg.training.negative_cache)",
        choices=REFRESH_MODES,
        group="refresh",
    )
    refresh_budget: int = _f(64, "cache mode: stalest documents re-encoded after every step", group="refresh")
    cache_dtype: str = _f("float16", "cache mode: storage of the embedding table", choices=CACHE_DTYPES, group="refresh")
    cache_memmap_mb: int = _f(512, "cache mode: memory-map the table (a file beside out) when larger than this", group="refresh")
    cache_check_steps: int | None = _f(
        None,
        "cache mode: every this many steps, re-encode the whole corpus and record the share of the cache's negatives "
        "a full refresh would have chosen (costly; for measurement)",
        group="refresh",
    )
    refresh_bm25_k: int = _f(100, "pool mode: BM25 documents per query added to the pool", group="refresh")
    # checkpoints and logs
    checkpoint_steps: int | None = _f(None, "save a resumable checkpoint every this many steps", group="output")
    save_total_limit: int = _f(2, "checkpoints kept", group="output")
    resume: bool = _f(True, "resume from the newest checkpoint in <out>.checkpoints when there is one", group="output")
    keep_checkpoints: bool = _f(False, "keep <out>.checkpoints after a successful run", group="output")
    logging_steps: int = _f(10, "log the loss every this many steps", group="output")
    show_progress: bool = _f(True, "progress bar and loss logs", group="output")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.precision = canonical_precision(self.precision, TRAIN_PRECISIONS)
        check_choices(self, "loss", "batch_sampler", "pool", "sampling", "refresh_mode", "cache_dtype")
        check_positive(self, "batch_size", "mini_batch_size", "save_total_limit", "logging_steps")
        for name in ("refresh_bm25_k", "refresh_budget", "cache_memmap_mb"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.refresh_mode == "cache" and self.loss != "mnrl":
            raise ConfigError("refresh_mode='cache' wraps loss='mnrl'; cached-mnrl is not supported with it")
        for name in ("num_negatives", "max_steps", "checkpoint_steps", "max_seq_length", "refresh_steps", "cache_check_steps"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1 when given, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.epochs <= 0:
            raise ConfigError(f"epochs must be > 0, got {self.epochs}")
        if self.warmup < 0:
            raise ConfigError(f"warmup must be >= 0, got {self.warmup}")
        if self.batch_size < 2 and self.num_negatives is None:
            logger.warning("batch_size=1 leaves MultipleNegativesRankingLoss with no in-batch negatives")


@dataclass
class TrainResult:
    model: Any
    """The trained ``SentenceTransformer`` (in memory)."""
    out: Path
    manifest_path: Path
    summary: dict[str, Any]


def train(
    data: str | Path = "demo", out: str | Path | None = None, *, callbacks: Sequence[Any] = (), **params: Any
) -> TrainResult:
    """Fine-tune a model on ``data`` and write it to ``out``.

    Args:
        data: mined rows, an id-based candidates file, ``"demo"`` or a BEIR folder.
        out: the model folder to write.
        callbacks: extra ``transformers.TrainerCallback`` objects (e.g. an
            :class:`~hardneg.training.inline_refresh.InlineRefresh`).
        **params: any :class:`TrainConfig` field.

    Example:
        >>> hardneg.mine("demo", "cands.parquet", output_format="candidates")
        >>> hardneg.train("cands.parquet", "model", max_steps=20).summary["steps"]
        20
    """
    config = TrainConfig(data=str(data), out=None if out is None else str(out), **params)
    return Trainer(config).run(callbacks=callbacks)


class Trainer:
    """Runs one :class:`TrainConfig`: read data, build loss and trainer, train, save atomically."""

    def __init__(self, config: TrainConfig):
        if not config.out:
            raise ConfigError("out is required: the folder to write the trained model to")
        self.config = config
        self.out = Path(config.out)
        self.checkpoints = self.out.with_name(self.out.name + ".checkpoints")
        self.input: TrainingInput | None = None

    def load_input(self) -> TrainingInput:
        c = self.config
        if self.input is None:
            self.input = load_training_input(
                c.data,
                split=c.split,
                corpus=c.corpus,
                num_negatives=c.num_negatives,
                pool=c.pool,
                seed=c.seed,
                sampling=c.sampling,
                extra_positives=c.extra_positives,
            )
        return self.input

    def build_loss(self, model, training_input: TrainingInput):
        from sentence_transformers.sentence_transformer.losses import (
            CachedMultipleNegativesRankingLoss,
            MultipleNegativesRankingLoss,
        )

        c = self.config
        if c.mask_known_positives and c.loss != "mnrl":
            logger.info("mask_known_positives works with loss 'mnrl' only; %r trains unmasked", c.loss)
        if c.loss == "cached-mnrl":
            return CachedMultipleNegativesRankingLoss(model, scale=c.scale, mini_batch_size=c.mini_batch_size)
        if c.mask_known_positives:
            from hardneg.training.data import text_columns
            from hardneg.training.known_positives import KnownPositivesMNRL, known_positive_keys

            anchors, positives, _ = text_columns(training_input.dataset, None)
            return KnownPositivesMNRL(model, known_positive_keys(model, anchors, positives), scale=c.scale)
        return MultipleNegativesRankingLoss(model, scale=c.scale)

    def batch_sampler(self, training_input: TrainingInput):
        """The sentence-transformers batch sampler (an enum value or a factory) ``batch_sampler`` names."""
        from sentence_transformers.base.sampler import BatchSamplers

        c = self.config
        if c.batch_sampler == "no-duplicates":
            return BatchSamplers.NO_DUPLICATES
        if c.batch_sampler == "default":
            return BatchSamplers.BATCH_SAMPLER
        from hardneg.training.batch_hygiene import ConflictFreeBatchSampler

        candidates = c.data if training_input.kind == "candidates" else None
        return ConflictFreeBatchSampler.factory(candidates=candidates, data=training_input.data)

    def training_arguments(self, training_input: TrainingInput):
        from sentence_transformers import SentenceTransformerTrainingArguments

        c = self.config
        return SentenceTransformerTrainingArguments(
            output_dir=str(self.checkpoints),
            num_train_epochs=c.epochs,
            max_steps=c.max_steps if c.max_steps is not None else -1,
            per_device_train_batch_size=c.batch_size,
            learning_rate=c.learning_rate,
            warmup_steps=c.warmup if c.warmup < 1 else int(c.warmup),
            weight_decay=c.weight_decay,
            seed=c.seed,
            data_seed=c.seed,
            bf16=c.precision == "bf16",
            use_cpu=c.device == "cpu" or (c.device is None and not _has_cuda()),
            batch_sampler=self.batch_sampler(training_input),
            save_strategy="steps" if c.checkpoint_steps else "no",
            save_steps=c.checkpoint_steps or 500,
            save_total_limit=c.save_total_limit,
            logging_steps=c.logging_steps,
            report_to="none",
            disable_tqdm=not c.show_progress,
            dataloader_pin_memory=_has_cuda(),
        )

    def _check_refreshable(self, training_input: TrainingInput, what: str) -> None:
        c = self.config
        if training_input.pool is None:
            raise ConfigError(f"{what} needs a candidates file (hardneg mine --output-format candidates) as data")
        if training_input.mined_with is None:
            raise ConfigError(f"{what} re-mines with the file's mining parameters, but {c.data!r} has no manifest")

    def negative_cache(self, training_input: TrainingInput, model):
        """The live cache ``refresh_mode='cache'`` asks for (its loss and its callback), or ``None``."""
        c = self.config
        if c.refresh_mode != "cache":
            return None
        self._check_refreshable(training_input, "refresh_mode='cache'")
        from hardneg.candidates.retriever import DenseRetriever
        from hardneg.options import EncodingOptions
        from hardneg.training.negative_cache import CacheRefresh, EmbeddingTable, LiveNegativeCache, cached_negatives_loss

        mined = training_input.mined_with
        # The table starts as the training model's corpus vectors through the embedding cache: when training
        # starts from the mining model (as evolve does), these are the vectors mining computed and cached.
        options = EncodingOptions(
            model=mined.get("model") or c.model,
            precision=mined.get("precision", "float32"),
            batch_size=int(mined.get("batch_size", 64)),
            cache_dir=mined.get("cache_dir"),
            use_cache=True,
            show_progress=c.show_progress,
        )
        vectors = DenseRetriever(model, options).encode_documents(list(training_input.data.corpus_texts)).to_array()
        folder = self.out.parent if self.out.parent.is_dir() else None
        table = EmbeddingTable(vectors, dtype=c.cache_dtype, memmap_dir=folder, memmap_bytes=c.cache_memmap_mb << 20)
        pool = training_input.pool
        pool.emit_rows = True
        cache = LiveNegativeCache(
            pool,
            table,
            training_input.data.corpus_ids,
            mined,
            pool_mode=training_input.pool_mode,
            every_steps=c.refresh_steps or 1,
            data=training_input.data,
        )
        callback = CacheRefresh(cache, budget=c.refresh_budget, check_steps=c.cache_check_steps)
        return cached_negatives_loss(model, cache, scale=c.scale, mask_known_positives=c.mask_known_positives), callback

    def inline_refresh(self, training_input: TrainingInput):
        """The ANCE-style refresh callback ``refresh_steps`` asks for, or ``None``."""
        c = self.config
        if not c.refresh_steps or c.refresh_mode == "cache":
            return None
        self._check_refreshable(training_input, "refresh_steps")
        from hardneg.training.inline_refresh import FullRefresher, InlineRefresh, PoolRefresher

        pool = training_input.pool
        mode = training_input.pool_mode
        if c.refresh_mode == "full":
            refresher = FullRefresher(pool, training_input.mined_with, training_input.data, pool_mode=mode)
        else:
            everything = [r.candidates for r in training_input.candidates.rows]
            refresher = PoolRefresher(
                pool, everything, training_input.mined_with, bm25_k=c.refresh_bm25_k, pool_mode=mode, data=training_input.data
            )
        return InlineRefresh(pool, refresher, c.refresh_steps)

    def _resume_from(self) -> str | None:
        """The newest complete checkpoint, or ``None``. A checkpoint the trainer did not finish saving
        (the run was killed while it wrote it) is removed with a warning and an earlier one is used."""
        from hardneg.training.callbacks import checkpoint_is_complete

        if not self.config.resume or not self.checkpoints.is_dir():
            return None
        found = [p for p in self.checkpoints.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
        for folder in sorted(found, key=lambda p: int(p.name.split("-")[-1]), reverse=True):
            if checkpoint_is_complete(folder):
                logger.info("resuming from %s", folder)
                return str(folder)
            logger.warning("%s was not completely saved (the run was interrupted while writing it); it is removed", folder)
            shutil.rmtree(folder, ignore_errors=True)
        return None

    def run(self, *, callbacks: Sequence[Any] = ()) -> TrainResult:
        """Train and save; ``out`` is checked, locked and claimed first (:class:`~hardneg.outputs.OutputGuard`)."""
        from hardneg.outputs import OutputGuard

        c = self.config
        inputs = [c.data if c.data != "demo" else None, c.corpus if c.corpus != "demo" else None, c.model]
        with OutputGuard(self.out, "train", inputs=[p for p in inputs if p and Path(p).exists()], folder=True):
            return self._run(callbacks)

    def _run(self, callbacks: Sequence[Any]) -> TrainResult:
        from sentence_transformers import SentenceTransformerTrainer

        from hardneg.training.callbacks import MarkCheckpointComplete, ResampleEachEpoch

        c = self.config
        start = time.perf_counter()
        training_input = self.load_input()
        if len(training_input.dataset) == 0:
            raise ConfigError(
                f"no training rows in {c.data!r}: no query has a candidate in its pool (pool={c.pool!r}); "
                "use pool='all' or mine with looser filters"
            )
        model = load_model(c.model, device=c.device, max_seq_length=c.max_seq_length, trust_remote_code=c.trust_remote_code)
        base = {"model": resolve_model_name(c.model), "fingerprint": fingerprint_model(model)}
        all_callbacks = [*callbacks, MarkCheckpointComplete()]
        if training_input.pool is not None:
            all_callbacks.insert(0, ResampleEachEpoch(training_input.pool))
        refresh = self.inline_refresh(training_input)
        if refresh is not None:
            all_callbacks.append(refresh)
        live = self.negative_cache(training_input, model)
        if live is not None:
            all_callbacks.append(live[1])
        loss = self.build_loss(model, training_input) if live is None else live[0]
        trainer = SentenceTransformerTrainer(
            model=model,
            args=self.training_arguments(training_input),
            train_dataset=training_input.dataset,
            loss=loss,
            callbacks=all_callbacks,
        )
        try:
            output = trainer.train(resume_from_checkpoint=self._resume_from())
        finally:
            if live is not None:
                live[1].cache.table.close()
        fingerprint = fingerprint_model(model)
        with atomic_path(self.out, directory=True) as tmp:
            model.save(str(tmp))
        if not c.keep_checkpoints:
            shutil.rmtree(self.checkpoints, ignore_errors=True)
        summary = {
            "rows": len(training_input.dataset),
            "input": training_input.kind,
            "negatives_per_row": training_input.num_negatives,
            **training_input.info,
            "steps": int(trainer.state.global_step),
            "epochs": round(float(trainer.state.epoch or 0.0), 4),
            "train_loss": round(float(output.training_loss), 6),
            "loss_curve": [
                {"step": e["step"], "loss": round(float(e["loss"]), 6)} for e in trainer.state.log_history if "loss" in e
            ],
            "seconds": round(time.perf_counter() - start, 3),
        }
        if getattr(loss, "masking", False):  # hardneg.training.known_positives.MaskedSoftmax
            summary["known_positives"] = loss.summary()
        if refresh is not None:
            summary["refreshes"] = refresh.history
        if live is not None:
            summary["negative_cache"] = live[1].summary()
        manifest = build_manifest(
            command="train",
            parameters=c.to_dict(),
            inputs=training_input.inputs,
            model={"base": base, "trained": {"path": str(self.out), "fingerprint": fingerprint}},
            outputs={},
            summary=summary,
        )
        manifest_path = manifest_path_for(self.out)
        write_json_atomic(manifest_path, manifest)
        return TrainResult(model=model, out=self.out, manifest_path=manifest_path, summary=summary)


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()
