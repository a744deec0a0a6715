"""The co-evolution loop: the retriever's newest checkpoint becomes the sampler of its next round.

ANCE (Xiong et al. 2020) refreshes the negatives inside one training run; here a round is mine, train,
evaluate and measure, with files between the stages (as Tevatron's drivers do), so each stage can be
rerun, inspected or resumed. What a round does, when the loop stops and what each round records:
``docs/evolve.md`` (The co-evolution loop). The run folder's layout is
:class:`~hardneg.evolution.run_folder.RunFolder`.

Every file is written atomically; a rerun skips rounds with a ``DONE`` marker and, inside an
unfinished round, reuses the candidates and model already written when their manifests are
complete. An output whose manifest is missing or still the stub of a killed run
(:func:`hardneg.outputs.is_complete`) is removed (the loop wrote it, in its own run folder) and
that step is redone. The run folder is locked while the loop runs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hardneg.candidates.retriever import DenseRetriever
from hardneg.data import RetrievalData, add_extra_positives, load_data
from hardneg.diagnostics.evaluate import evaluate_retriever
from hardneg.encoding.model import resolve_model_name
from hardneg.errors import ConfigError
from hardneg.evolution.round_measures import audit_rate, chosen_negatives, measure_negatives
from hardneg.evolution.run_folder import RunFolder
from hardneg.evolution.splits import make_run_view, source_folder
from hardneg.io import atomic_path, read_json_object, write_json_atomic
from hardneg.mining.config import make_config
from hardneg.options import EXTRA_POSITIVES_HELP, EncodingOptions, check_positive, json_options, values_of
from hardneg.options import option as _f
from hardneg.outputs import OutputGuard, build_manifest, is_complete, manifest_of, manifest_path_for

logger = logging.getLogger(__name__)

ROUND0_SAMPLERS = ("dense", "bm25")
# Set by the loop itself; passing them in mine_options / train_options would break it.
LOOP_MINE_KEYS = {"data", "split", "out", "output_format", "model", "preset", "show_progress", "cache_dir", "use_cache", "device"}
LOOP_TRAIN_KEYS = {"data", "split", "out", "model", "corpus", "show_progress", "device", "trust_remote_code"}
# May change between a run and its resumption.
RESUMABLE_KEYS = {"rounds", "patience", "min_delta", "show_progress", "audit", "cache_dir", "use_cache", "device", "batch_size"}


@dataclass
class EvolveConfig(EncodingOptions):
    """Every parameter of ``hardneg evolve``; CLI flags are these names with dashes."""

    data: str = _f("demo", "'demo' or a BEIR folder", group="data")
    out: str | None = _f(None, "run folder (required); rerunning the same command resumes it", group="output")
    train_split: str = _f("train", "qrels split the loop mines and trains on", group="data")
    dev_split: str | None = _f(None, "qrels split rounds are judged on (default: hold out dev_fraction of train)", group="data")
    dev_fraction: float = _f(0.1, "share of training queries held out as dev when there is no dev split", group="data")
    test_split: str | None = _f("test", "qrels split recorded each round, never used to decide ('' for none)", group="data")
    rounds: int = _f(3, "maximum number of rounds", group="loop")
    patience: int = _f(1, "stop after this many rounds without a dev nDCG@10 gain", group="loop")
    min_delta: float = _f(0.0, "a dev nDCG@10 gain must exceed this to count", group="loop")
    round0_sampler: str = _f(
        "dense", "round 0 mines with the base model (dense) or with BM25 (DPR warm-up)", choices=ROUND0_SAMPLERS, group="loop"
    )
    continue_training: bool = _f(
        True, "round r fine-tunes round r-1's model (ANCE); otherwise every round starts from the base model", group="loop"
    )
    extra_positives: str | None = _f(
        None, EXTRA_POSITIVES_HELP + " (added to the train and dev queries, never to test)", group="data"
    )
    preset: str = _f("default", "mining preset of every round (see `hardneg presets`)", group="loop")
    mine_options: str | None = _f(
        None, "JSON object of hardneg mine parameters overriding the preset, e.g. '{\"range_max\": 50}'", group="loop"
    )
    train_options: str | None = _f(
        None, "JSON object of hardneg train parameters for every round, e.g. '{\"max_steps\": 30}'", group="loop"
    )
    staleness_k: int = _f(100, "staleness: share of a round's negatives still in the next model's top k", group="loop")
    audit: bool = _f(True, "record the false-negative audit rate of each round's mining (hardneg.drivers.audit)", group="loop")
    seed: int = _f(42, "seed of the dev split, mining and training", group="loop")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.out:
            raise ConfigError("out is required: the run folder")
        if self.round0_sampler not in ROUND0_SAMPLERS:
            raise ConfigError(f"round0_sampler must be one of {ROUND0_SAMPLERS}, got {self.round0_sampler!r}")
        check_positive(self, "rounds", "patience", "staleness_k")
        self.mine_params = json_options("mine_options", self.mine_options, LOOP_MINE_KEYS)
        self.train_params = json_options("train_options", self.train_options, LOOP_TRAIN_KEYS)
        make_config(self.preset, **self.mine_params)  # validates names and values now, not in round 2
        from hardneg.training.train import TrainConfig

        TrainConfig(out="check", **self.train_params)

    def comparable(self) -> dict[str, Any]:
        """The values a resumed run must share with the run it resumes."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in RESUMABLE_KEYS}


def _qrels_rows(path: str) -> list[tuple[str, str, float]]:
    from hardneg.data import Problems, read_qrels

    return [(q, d, s) for q, d, s, _ in read_qrels(Path(path), Problems("raise"))]


def _check_extra_positives(path: str, train: RetrievalData, dev: RetrievalData) -> None:
    """Every row of the extra positives must be a train or dev query: a mark must not be lost silently."""
    from hardneg.data import Problems, read_qrels
    from hardneg.errors import DataError

    known = set(train.query_ids) | set(dev.query_ids)
    for qid, _, score, line in read_qrels(Path(path), Problems("raise")):
        if score > 0 and qid not in known:
            raise DataError(f"query-id {qid!r} is not a train or dev query of the run", path=path, line=line)


@dataclass
class EvolveResult:
    run: Path
    summary: dict[str, Any]

    @property
    def best_model(self) -> Path | None:
        best = self.summary.get("best_model")
        return Path(best) if best else None


def evolve(data: str | Path = "demo", out: str | Path | None = None, **params: Any) -> EvolveResult:
    """Run (or resume) the co-evolution loop; see the module docstring.

    Example:
        >>> result = hardneg.evolve("demo", "run", rounds=2, train_options={"max_steps": 20})
        >>> result.summary["best_round"], result.best_model
    """
    for key in ("mine_options", "train_options"):
        if isinstance(params.get(key), dict):
            params[key] = json.dumps(params[key], sort_keys=True)
    config = EvolveConfig(data=str(data), out=None if out is None else str(out), **params)
    return Evolution(config).run()


class Evolution:
    """Runs one :class:`EvolveConfig` round by round."""

    def __init__(self, config: EvolveConfig):
        self.config = config
        self.folder = RunFolder(Path(config.out))
        self.run_dir = self.folder.root
        self.view = self.folder.data
        self.base_model = config.model

    # --- set-up -------------------------------------------------------------------------------

    def _check_config(self) -> None:
        path = self.folder.config
        current = self.config.comparable()
        if path.is_file():
            saved = read_json_object(path)["config"]
            differ = {k: (saved.get(k), v) for k, v in current.items() if saved.get(k) != v}
            if differ:
                details = "; ".join(f"{k}: run has {a!r}, now {b!r}" for k, (a, b) in differ.items())
                raise ConfigError(f"{path.parent} was started with other parameters ({details}); use another out folder")
        else:
            write_json_atomic(path, {"config": current})

    def _retriever(self, model: str | None) -> DenseRetriever:
        return DenseRetriever.load(EncodingOptions(**{**values_of(self.config, EncodingOptions), "model": model}))

    def _split(self, split: str) -> RetrievalData:
        # the test split is only scored, as `hardneg eval` scores it (documents absent from the corpus included)
        data = load_data(self.view, split=split, absent_documents="judge" if split == "test" else "refuse")
        if self.config.extra_positives and split in ("train", "dev"):
            data = add_extra_positives(data, self.config.extra_positives, other_queries=True)
        return data

    def _evaluate(self, retriever: DenseRetriever) -> dict[str, Any]:
        out = {"dev": evaluate_retriever(retriever, self.dev).metrics}
        if self.test is not None:
            out["test"] = evaluate_retriever(retriever, self.test).metrics
        return out

    # --- the loop -----------------------------------------------------------------------------

    def run(self) -> EvolveResult:
        """Run or resume the loop; the run folder is checked and locked first (:class:`~hardneg.outputs.OutputGuard`)."""
        c = self.config
        inputs = [c.data if c.data != "demo" else None, c.model]
        guard = OutputGuard(
            self.run_dir,
            "evolve",
            inputs=[p for p in inputs if p and Path(p).exists()],
            folder=True,
            marker=self.folder.config,
            claim=False,
        )
        with guard:
            return self._run()

    def _run(self) -> EvolveResult:
        c = self.config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._check_config()
        make_run_view(
            source_folder(c.data),
            self.view,
            train_split=c.train_split,
            dev_split=c.dev_split,
            dev_fraction=c.dev_fraction,
            test_split=c.test_split or None,
            seed=c.seed,
        )
        self.train_data = self._split("train")
        self.dev = self._split("dev")
        if c.extra_positives:
            _check_extra_positives(c.extra_positives, self.train_data, self.dev)
        self.test = self._split("test") if c.test_split else None

        base_path = self.folder.base
        if not base_path.is_file():
            write_json_atomic(base_path, self._evaluate(self._retriever(self.base_model)))
        base = read_json_object(base_path)

        records: list[dict[str, Any]] = []
        best, best_round, since_best, stopped = base["dev"]["ndcg@10"], -1, 0, f"reached {c.rounds} rounds"
        for r in range(c.rounds):
            done = self.folder.round(r)
            record = read_json_object(done.record) if done.done.is_file() else self._round(r)
            records.append(record)
            score = record["dev"]["ndcg@10"]
            if score > best + c.min_delta:
                best, best_round, since_best = score, r, 0
            else:
                since_best += 1
            self._write_summary(base, records, best_round, None)
            if since_best >= c.patience:
                stopped = f"dev nDCG@10 did not improve for {c.patience} round(s)"
                break
        summary = self._write_summary(base, records, best_round, stopped)
        logger.info("%s", format_rounds(summary))
        return EvolveResult(self.run_dir, summary)

    def _round(self, r: int) -> dict[str, Any]:
        c = self.config
        folder = self.folder.round(r)
        folder.path.mkdir(parents=True, exist_ok=True)
        miner = self.base_model if r == 0 else str(self.folder.round(r - 1).model)
        sampler = "bm25" if r == 0 and c.round0_sampler == "bm25" else None
        seconds: dict[str, float] = {}

        start = time.perf_counter()
        candidates = folder.candidates
        if not _reusable(candidates):
            from hardneg.drivers.mine import mine

            # the miner encodes as the rounds' evaluations do, so it reuses their cached vectors
            params = {**c.mine_params, **values_of(c, EncodingOptions), **self._mining(miner, sampler)}
            mine(str(self.view), candidates, preset=c.preset, split="train", output_format="candidates", **params)
        seconds["mine"] = round(time.perf_counter() - start, 3)

        start = time.perf_counter()
        model_dir = folder.model
        if not _reusable(model_dir):
            self._train(r, candidates, model_dir, miner if c.continue_training else self.base_model)
        train_manifest = read_json_object(manifest_path_for(model_dir))
        seconds["train"] = round(time.perf_counter() - start, 3)

        start = time.perf_counter()
        trained = self._retriever(str(model_dir))
        quality = self._evaluate(trained)
        seconds["evaluate"] = round(time.perf_counter() - start, 3)

        start = time.perf_counter()
        negatives = chosen_negatives(candidates, self.train_data)
        measures, scores = measure_negatives(negatives, self.train_data, self._retriever(miner), trained, top_k=c.staleness_k)
        seconds["measure"] = round(time.perf_counter() - start, 3)
        # with --preset auto, the setting the round's tuner chose (hardneg.drivers.tune): the audit audits it
        mined = (manifest_of(candidates) or {}).get("summary", {})
        tuning = mined.get("tuning")
        audit = None
        if c.audit:
            overrides = {**self._mining(miner, sampler), "cache_dir": c.cache_dir, "show_progress": False}
            mine_params = {**c.mine_params, **(tuning["chosen"] if tuning else {})}
            audit = audit_rate(str(self.view), preset=c.preset, split="train", mine_params=mine_params, **overrides)

        record = {
            "round": r,
            "miner": "bm25" if sampler else resolve_model_name(miner),
            "trained_from": resolve_model_name(miner if c.continue_training else self.base_model),
            "model": str(model_dir),
            **quality,
            **measures,
            "audit": audit,
            "tuning": tuning,
            # a corpus holding its queries: candidates that were the query itself, dropped or (filter off) chosen
            "query_itself": {
                "dropped": mined.get("dropped", {}).get("query_itself", 0),
                "chosen": mined.get("negatives_query_itself", 0),
            },
            "train": {
                k: train_manifest["summary"].get(k)
                for k in ("steps", "rows", "train_loss", "refreshes", "negative_cache", "seconds")
            },
            "seconds": seconds,
        }
        with atomic_path(folder.scores) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **scores)
        write_json_atomic(folder.record, record)
        folder.done.write_text("done\n", encoding="utf-8")
        return record

    # --- stages -------------------------------------------------------------------------------

    def _mining(self, miner: str | None, sampler: str | None) -> dict[str, Any]:
        """What a round's mining and its audit share: the miner, the seed, the sampler, the extra positives."""
        c = self.config
        params: dict[str, Any] = {"model": miner, "seed": c.mine_params.get("seed", c.seed)}
        if sampler:
            params["sampler"] = sampler
        if c.extra_positives:
            params["extra_positives"] = self._train_extra_positives()
        return params

    def _train_extra_positives(self) -> str:
        """The rows of ``extra_positives`` whose query is a training query (the dev ones stay out of mining)."""
        path = self.folder.extra_positives
        train = set(self.train_data.query_ids)
        rows = [r for r in _qrels_rows(self.config.extra_positives) if r[0] in train]
        with atomic_path(path) as tmp:
            tmp.write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s:g}\n" for q, d, s in rows), encoding="utf-8")
        return str(path)

    def _train(self, r: int, candidates: Path, out: Path, start_from: str | None) -> None:
        from hardneg.training.train import TrainConfig, Trainer

        c = self.config
        params = {
            "max_seq_length": c.max_seq_length,
            **c.train_params,
            # Round r shuffles with seed + r: rounds that each train for less than an epoch then
            # see different queries instead of the same first batches every round.
            "seed": c.train_params.get("seed", c.seed) + r,
            "data": str(candidates),
            "out": str(out),
            "model": start_from,
            "device": c.device,
            "show_progress": c.show_progress,
        }
        Trainer(TrainConfig(**params)).run()

    def _write_summary(self, base: dict, records: list[dict], best_round: int, stopped: str | None) -> dict[str, Any]:
        best_model = records[best_round]["model"] if best_round >= 0 else resolve_model_name(self.base_model)
        summary = {
            "run": str(self.run_dir),
            "base": base,
            "rounds": records,
            "best_round": best_round,
            "best_model": best_model,
            "stopped": stopped,
        }
        write_json_atomic(self.folder.summary, summary)
        if stopped is not None:
            manifest = build_manifest(
                command="evolve",
                parameters=dataclasses.asdict(self.config),
                inputs=dict(self.train_data.inputs),
                model={"base": resolve_model_name(self.base_model), "best": best_model},
                outputs={},
                summary={k: summary[k] for k in ("best_round", "best_model", "stopped")},
            )
            write_json_atomic(self.folder.manifest, manifest)
        return summary


def _reusable(output: Path) -> bool:
    """Whether a round's output is finished; an unfinished one (and its manifest) is removed to be redone."""
    if is_complete(output):
        return True
    if output.is_dir():
        shutil.rmtree(output)
    else:
        output.unlink(missing_ok=True)
    manifest_path_for(output).unlink(missing_ok=True)
    return False


def format_rounds(summary: dict[str, Any]) -> str:
    """A small table: dev/test nDCG@10, hardness and staleness per round."""
    lines = ["", f"hardneg evolve: {summary['run']}", f"  {'round':<7}{'dev':>8}{'test':>8}{'neg rank':>10}{'still top-k':>13}"]
    base = summary["base"]
    lines.append(f"  {'base':<7}{base['dev']['ndcg@10']:>8.4f}{base.get('test', {}).get('ndcg@10', float('nan')):>8.4f}")
    for rec in summary["rounds"]:
        k = next((key for key in rec["staleness"] if key.startswith("in_top_")), None)
        lines.append(
            f"  {rec['round']:<7}{rec['dev']['ndcg@10']:>8.4f}{rec.get('test', {}).get('ndcg@10', float('nan')):>8.4f}"
            f"{rec['hardness'].get('mean_rank', float('nan')):>10.1f}{rec['staleness'].get(k, float('nan')) if k else float('nan'):>13.3f}"
        )
    lines.append(f"  best round: {summary['best_round']} ({summary['best_model']}); stopped: {summary['stopped']}")
    return "\n".join(lines)
