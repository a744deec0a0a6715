"""The fooling matrix: does a model trained with one sampler resist the negatives of another?

It measures the arms-race argument for co-evolution (ANCE, Xiong et al. 2020): rows are models trained
with each sampler (``random``, ``bm25``, ``dense``, and ``evolve``, the run's best model), columns the
negatives each sampler mines on held-out queries, and a cell the triplet accuracy, the share of
(query, positive, negative) triplets with ``s(q, positive) > s(q, negative)``. Every sampler model is
trained from the base model with the same training options and the same number of optimiser steps as the
evolved model received (identical budget). Everything is written under ``RUN_DIR/fooling/`` and reused on
a rerun; the matrix goes to ``RUN_DIR/fooling.json``, which ``hardneg report`` draws. The samplers, and a
measured matrix: ``docs/evolve.md`` (The fooling matrix and the report).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hardneg.candidates.retriever import DenseRetriever
from hardneg.candidates_file import chosen_negatives
from hardneg.data import RetrievalData, load_data
from hardneg.errors import ConfigError
from hardneg.evolution.run_folder import RunFolder
from hardneg.io import read_json_object, write_json_atomic
from hardneg.options import EncodingOptions, check_positive, json_options, values_of
from hardneg.options import option as _f

# sampler name -> mining preset; "dense" and "evolve" differ only in the model that mines
SAMPLERS: dict[str, str] = {"random": "random", "bm25": "dpr", "dense": "top", "evolve": "top"}
TRAINED_SAMPLERS = ("random", "bm25", "dense")


@dataclass
class FoolingConfig(EncodingOptions):
    """Every parameter of ``hardneg fooling``."""

    run: str | None = _f(None, "the run folder of hardneg evolve (required)", group="data")
    split: str = _f("dev", "split of the run's data view whose queries the triplets come from (never trained on)", group="data")
    num_negatives: int = _f(3, "negatives per query mined by each sampler for the triplets", group="data")
    models: str | None = _f(
        None,
        'JSON object of already trained sampler models to use instead of training them, e.g. \'{"bm25": "path"}\'',
        group="data",
    )
    seed: int = _f(42, "seed of mining and training", group="data")
    model_round: int | None = _f(
        None,
        "round whose model is the evolve row and sets the budget (default: the run's best round); naming a round "
        "compares it even where the dev check kept the base model; written to fooling-round-NNN/ and fooling-round-NNN.json",
        group="data",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.run:
            raise ConfigError("run is required: the folder of a hardneg evolve run")
        check_positive(self, "num_negatives")
        check_positive(self, "model_round", least=0)
        given = json_options("models", self.models)
        if set(given) - set(TRAINED_SAMPLERS):
            raise ConfigError(f"models must be a JSON object with keys among {TRAINED_SAMPLERS}, got {self.models!r}")
        self.given_models = {k: str(v) for k, v in given.items()}


def triplet_accuracy(retriever: DenseRetriever, data: RetrievalData, negatives: np.ndarray) -> float:
    """Share of (query, positive, negative) triplets with ``s(q, positive) > s(q, negative)``.

    Only the queries and the documents the triplets use are encoded.
    """
    docs = np.unique(np.concatenate([np.concatenate(data.positives), negatives[negatives >= 0]])).astype(np.int64)
    position = {int(d): i for i, d in enumerate(docs)}
    queries = retriever.encode_queries(data.query_texts)
    vectors = retriever.encode_documents([data.corpus_texts[d] for d in docs]).to_array()
    right = total = 0
    for q, positives in enumerate(data.positives):
        negs = [position[int(d)] for d in negatives[q] if d >= 0]
        if not negs:
            continue
        pos_scores = vectors[[position[d] for d in positives]] @ queries[q]
        neg_scores = vectors[negs] @ queries[q]
        right += int((pos_scores[:, None] > neg_scores[None, :]).sum())
        total += pos_scores.size * neg_scores.size
    return right / total if total else float("nan")


class Fooling:
    """Trains the sampler models a run lacks, mines each sampler's dev negatives, fills the matrix."""

    def __init__(self, config: FoolingConfig):
        self.config = config
        run = RunFolder(Path(config.run))
        self.run_dir = run.root
        self.summary = run.read_summary()
        self.evolve_config = read_json_object(run.config)["config"]
        self.view = run.data
        self.round = self._round()
        # A named round trains its sampler models to that round's budget: they live apart from the default's.
        self.folder, self.result_path = run.fooling(None if config.model_round is None else self.round)
        self.base_model = self.evolve_config.get("model")

    def _round(self) -> int:
        """The round whose model is the ``evolve`` row: ``model_round``, else the run's best round."""
        rounds = self.summary["rounds"]
        chosen = self.summary["best_round"] if self.config.model_round is None else self.config.model_round
        if chosen < 0:
            raise ConfigError(
                "the run's best model is the base model (no round improved dev quality): nothing to compare; "
                "model_round N (--model-round N) compares round N's model anyway"
            )
        if chosen >= len(rounds):
            raise ConfigError(f"model_round {chosen} is not a round of this run: it has {len(rounds)}")
        return chosen

    def budget(self) -> int:
        """Optimiser steps the evolved model received: its round's, plus earlier rounds' when training continued."""
        first = 0 if self.evolve_config.get("continue_training", True) else self.round
        return int(sum(r["train"]["steps"] for r in self.summary["rounds"][first : self.round + 1]))

    def _mine(self, sampler: str, model: str | None, split: str, out: Path, num_negatives: int | None = None) -> Path:
        from hardneg.drivers.mine import mine

        if not out.is_file():
            c = self.config
            params = {"num_negatives": num_negatives} if num_negatives else {}
            mine(
                str(self.view), out, preset=SAMPLERS[sampler], split=split, output_format="candidates", model=model, seed=c.seed,
                cache_dir=c.cache_dir, use_cache=c.use_cache, batch_size=c.batch_size, max_seq_length=c.max_seq_length,
                query_prompt=c.query_prompt, document_prompt=c.document_prompt, device=c.device, show_progress=c.show_progress,
                **params,
            )  # fmt: skip
        return out

    def _train(self, sampler: str, steps: int) -> str:
        from hardneg.training.train import TrainConfig, Trainer

        out = self.folder / sampler / "model"
        if not out.is_dir():
            c = self.config
            candidates = self._mine(sampler, self.base_model, "train", self.folder / sampler / "candidates.parquet")
            options = json.loads(self.evolve_config.get("train_options") or "{}")
            # A sampler's model trains on that sampler's negatives alone: an in-run refresh would
            # re-mine them with the model being trained and make every row a self-mining one.
            for f in dataclasses.fields(TrainConfig):
                if f.metadata.get("group") == "refresh":
                    options.pop(f.name, None)
            options.update(
                data=str(candidates), out=str(out), model=self.base_model, max_steps=steps, seed=c.seed,
                max_seq_length=options.get("max_seq_length", c.max_seq_length), device=c.device, show_progress=c.show_progress,
            )  # fmt: skip
            Trainer(TrainConfig(**options)).run()
        return str(out)

    def run(self) -> dict[str, Any]:
        start = time.perf_counter()
        steps = self.budget()
        models = {s: self.config.given_models.get(s) or self._train(s, steps) for s in TRAINED_SAMPLERS}
        models["evolve"] = self.summary["rounds"][self.round]["model"]
        data = load_data(self.view, split=self.config.split)
        negative_sets = {}
        for sampler in SAMPLERS:
            miner = models["evolve"] if sampler == "evolve" else self.base_model
            out = self.folder / f"negatives-{self.config.split}-{sampler}.parquet"
            mined = self._mine(sampler, miner, self.config.split, out, self.config.num_negatives)
            negative_sets[sampler] = chosen_negatives(mined, data, self.config.num_negatives)
        matrix = []
        for path in models.values():
            retriever = DenseRetriever.load(EncodingOptions(**{**values_of(self.config, EncodingOptions), "model": path}))
            matrix.append([round(triplet_accuracy(retriever, data, negative_sets[s]), 4) for s in SAMPLERS])
        result = {
            "description": (
                f"Triplet accuracy on {len(data.query_ids)} {self.config.split} queries, {self.config.num_negatives} negatives "
                f"each; every model trained from the base for {steps} steps"
            ),
            "models": list(models),
            "negatives": list(SAMPLERS),
            "triplet_accuracy": matrix,
            "model_paths": models,
            "steps": steps,
            "evolve_round": self.round,
            "parameters": dataclasses.asdict(self.config),
            "seconds": round(time.perf_counter() - start, 3),
        }
        write_json_atomic(self.result_path, result)
        return result
