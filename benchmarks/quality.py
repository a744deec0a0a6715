"""Which negatives train the best retriever? nDCG@10 on a BEIR test split, arm by arm, seed by seed.

Every arm starts from all-MiniLM-L6-v2, trains with MultipleNegativesRankingLoss (so every arm also
has the in-batch negatives) for the same ``--steps`` optimiser steps of ``--batch-size`` rows, on
the **same training pairs**: per seed, a benchmark view of ``--data`` is written (links to the
corpus and queries, its own qrels) and every arm of that seed mines and trains on it.

- Dev queries: the evolve arms choose their best round on dev. So that no arm trains on fewer
  queries, the dev queries are held out of **every** arm: the data's ``dev`` qrels when it has
  them (NFCorpus: separate queries, nothing is taken from train), else a seeded ``--dev-fraction``
  of the training queries (SciFact: 10 %, out of every arm).
- Training pairs: all of them (SciFact), or every pair of a seeded draw of ``--train-queries``
  queries (NFCorpus: 512 of its 2,590, about 43 judged positives each), trained for a fixed
  ``--steps`` budget; the trainer's seeded sampler draws the rows. A drawn query keeps all its
  judged positives, so the miner knows them (``--pairs N`` draws pairs instead, which leaves a
  drawn query's other positives unknown and minable as negatives: a false negative by construction).
- ``--steps`` defaults to one pass over the view's training pairs.
- Batches and loss: an arm trains with sentence-transformers' ``no-duplicates`` batch sampler and plain
  MultipleNegativesRankingLoss (what its users run); ``ARM+masked`` masks every known positive of a
  query out of its in-batch negatives (``hardneg train --mask-known-positives``), ``ARM+conflict-free``
  keeps such rows out of each other's batches instead (``--batch-sampler conflict-free``), and
  ``ARM+masked+conflict-free`` does both.

Arms (``--arm``, repeatable; mining arms run at each ``--negatives`` count, named ``ARM-nN``; an arm
given as ``ARM-nN`` runs at that count only):

- ``zero-shot``: the base model, no training; ``in-batch``: (query, positive) pairs only;
- static, mined once by the base model: ``top`` (sentence-transformers ``mine_hard_negatives``'
  default), ``nv-retriever`` (TopK-PercPos 95 %), ``default`` (what ``hardneg mine`` does without
  flags), ``dpr`` (BM25);
- evolve configurations (``--evolve-config LABEL=JSON`` adds or replaces one; JSON keys ``rounds``,
  ``preset``, ``train``, ``mine``): ``evolve`` (one round of nv-retriever, re-mined with the weights
  being trained every 10 steps), ``evolve-cache`` (the
  same with the live negative cache, ``refresh_mode=cache``), ``evolve-2r`` (two rounds, each mining
  with the previous round's model), ``evolve-once`` (one round, mined once by the base model: ``hardneg
  mine``, ``hardneg train`` and the dev check against the base model in one command).

Dev-checked arms (``--no-dev-check`` leaves them out): every trained static and in-batch arm is also
scored on the dev queries, and ``ARM:dev-checked`` is what a user who keeps the trained model only when
it beats the base model on dev (``hardneg eval`` of both) ends up with: the arm's test score where its dev
nDCG@10 is above the base model's, else the base model's. The evolve arms make that check themselves.

Prints mean ± std per arm over seeds and, seed by seed, each arm's difference to ``top-n3`` (sentence-transformers'
defaults) with its mean ± standard error. The bar, checked for the recommended arm once it and ``top-n3`` have 5 seeds:
it is above ``top-n3`` in every seed, and its mean paired difference over every other arm is at least minus one
standard error. Writes every number, the paired differences of every arm against ``top-n3`` and against the
recommended arm included, to ``benchmarks/results/quality_<dataset>.json`` (``--out``). Finished arms are reused on
rerun; ``--runs-from FILE`` reuses those of an earlier results file (a run started in one session, finished in another).

``--curve-steps 26,52,104,208`` instead trains one run per ``--curve-arm`` and seed for the last
step count and probes test nDCG@10 and the staleness of the negatives along it
(:class:`hardneg.evolution.curve.CurveProbe`); results go to ``quality_<dataset>_curve.json``.

``--smoke`` proves the plumbing in minutes (one seed, 64 pairs, 4 steps, few arms, texts cut to 32
tokens, 20 dev and 20 test queries, the corpus cut to the judged documents): its numbers are not results.

Examples (docs/research-notes.md lists what was run and measured):

    HARDNEG_CACHE=/tmp/hncache python benchmarks/quality.py --data ../shared/data/scifact --seed 1 --seed 2 --seed 3
    HARDNEG_CACHE=/tmp/hncache python benchmarks/quality.py --data ../shared/data/nfcorpus --seed 1 --seed 2 --seed 3
    HARDNEG_CACHE=/tmp/hncache python benchmarks/quality.py --data ../shared/data/scifact --smoke
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

from hardneg.data import load_data
from hardneg.data.beir import read_qrels
from hardneg.drivers.evaluate import evaluate
from hardneg.drivers.mine import mine
from hardneg.evolution.loop import evolve
from hardneg.evolution.splits import _write_qrels, make_run_view
from hardneg.io.tables import Problems
from hardneg.outputs import manifest_of
from hardneg.training.train import TrainConfig, Trainer, train

STATIC = ("top", "nv-retriever", "default", "dpr", "auto")
EVOLVE = {
    "evolve": {"rounds": 1, "preset": "nv-retriever", "train": {"refresh_steps": 10}},
    "evolve-cache": {"rounds": 1, "preset": "nv-retriever", "train": {"refresh_mode": "cache", "refresh_budget": 64}},
    "evolve-2r": {"rounds": 2, "preset": "nv-retriever", "train": {}},
    "evolve-once": {"rounds": 1, "preset": "nv-retriever", "train": {}},
}
RECOMMENDED = "default+masked+conflict-free:dev-checked"
"""The configuration the docs recommend (docs/results.md, "How a recipe is chosen"): ``default`` negatives, trained with
known positives masked in conflict-free batches (``hardneg train``'s defaults), kept only where the trained model beats
the base model on dev (``hardneg evolve --rounds 1 --preset default`` in one command); the bar is checked for it at 3
negatives."""
CHECKED = ":dev-checked"


def benchmark_view(args, seed: int, work: Path) -> tuple[Path, dict]:
    """Seed ``seed``'s view of ``--data``: dev held out of every arm, a seeded draw of the training pairs."""
    folder = work / f"data-seed{seed}"
    info_path = folder / "view.json"
    if info_path.is_file():
        return folder, json.loads(info_path.read_text())
    source = Path(args.data).resolve()
    dev_split = "dev" if (source / "qrels" / "dev.tsv").is_file() and not args.dev_from_train else None
    counts = make_run_view(source, folder, dev_split=dev_split, dev_fraction=args.dev_fraction, seed=seed)
    rows = read_qrels(folder / "qrels" / "train.tsv", Problems("raise"))
    positives = [r for r in rows if r[2] > 0]
    if args.train_queries:
        # every judged positive of a drawn query stays in its qrels: the miner knows them all
        queries = sorted({r[0] for r in positives})
        if args.train_queries < len(queries):
            kept = set(np.random.default_rng(seed).choice(queries, size=args.train_queries, replace=False).tolist())
            positives = [r for r in positives if r[0] in kept]
            _write_qrels(folder / "qrels" / "train.tsv", positives)
    elif args.pairs and args.pairs < len(positives):
        picked = np.sort(np.random.default_rng(seed).choice(len(positives), size=args.pairs, replace=False))
        positives = [positives[i] for i in picked]
        _write_qrels(folder / "qrels" / "train.tsv", positives)
    if args.eval_queries:
        for split in ("dev", "test"):
            rows = read_qrels(folder / "qrels" / f"{split}.tsv", Problems("raise"))
            queries = sorted({r[0] for r in rows})
            if len(queries) > args.eval_queries:
                kept = set(np.random.default_rng(seed).choice(queries, size=args.eval_queries, replace=False).tolist())
                _write_qrels(folder / "qrels" / f"{split}.tsv", [r for r in rows if r[0] in kept])
    if args.corpus_sample:
        _sample_corpus(folder, args.corpus_sample, seed)
    info = {
        "corpus_sample": args.corpus_sample or None,
        "dev": f"qrels/{dev_split}.tsv (separate queries)" if dev_split else f"{args.dev_fraction:.0%} of the training queries",
        "dev_judgements": len(read_qrels(folder / "qrels" / "dev.tsv", Problems("raise"))),
        "test_queries": len({r[0] for r in read_qrels(folder / "qrels" / "test.tsv", Problems("raise"))}),
        "train_pairs": len(positives),
        "train_queries": len({r[0] for r in positives}),
        "pairs_drawn": bool(not args.train_queries and args.pairs and args.pairs < counts["train"]),
        "queries_drawn": args.train_queries or None,
    }
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    return folder, info


def _sample_corpus(folder: Path, size: int, seed: int) -> None:
    """Replace the view's corpus link by a file of every judged document plus seeded others, ``size`` in all
    (smoke runs only: a smaller corpus is a different, easier task)."""
    judged = {
        r[1] for split in ("train", "dev", "test") for r in read_qrels(folder / "qrels" / f"{split}.tsv", Problems("raise"))
    }
    lines = (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    ids = [json.loads(line)["_id"] for line in lines]
    others = [i for i, d in enumerate(ids) if d not in judged]
    extra = max(0, size - (len(ids) - len(others)))
    keep = {i for i, d in enumerate(ids) if d in judged}
    keep |= set(np.random.default_rng(seed).choice(others, size=min(extra, len(others)), replace=False).tolist())
    (folder / "corpus.jsonl").unlink()  # the link this view made, not the source
    (folder / "corpus.jsonl").write_text("\n".join(lines[i] for i in sorted(keep)) + "\n", encoding="utf-8")


COUNTED = re.compile(r"(.+)-n(\d+)")


def counted(arm: str, negatives: list[int]) -> list[str]:
    """``top+masked`` → ``top+masked-n1``, ``top+masked-n3`` (one per count); an arm named with its count
    (``top+masked-n1``) runs at that one; ``zero-shot`` and ``in-batch`` train no mined negatives."""
    if COUNTED.fullmatch(arm) or with_options(arm)[0] in ("zero-shot", "in-batch"):
        return [arm]
    return [f"{arm}-n{n}" for n in negatives]


def arm_names(args) -> list[str]:
    """Every ``--arm`` at every ``--negatives`` count (:func:`counted`)."""
    return [name for arm in args.arm for name in counted(arm, args.negatives)]


def curve_names(args) -> list[str]:
    """Every ``--curve-arm`` at every ``--negatives`` count, named as :func:`arm_names` names them."""
    return [name for arm in args.curve_arm for name in counted(arm, args.negatives)]


def split_name(name: str) -> tuple[str, int | None]:
    """``top+masked-n3`` → (``top+masked``, 3); ``in-batch+masked`` → (``in-batch+masked``, None)."""
    match = COUNTED.fullmatch(name)
    if name.partition("+")[0] in ("zero-shot", "in-batch") or not match:
        return name, None
    return match.group(1), int(match.group(2))


TRAINING_VARIANTS = {
    "": {"batch_sampler": "no-duplicates", "mask_known_positives": False},
    "masked": {"batch_sampler": "no-duplicates", "mask_known_positives": True},
    "conflict-free": {"batch_sampler": "conflict-free", "mask_known_positives": False},
    "masked+conflict-free": {"batch_sampler": "conflict-free", "mask_known_positives": True},
}


def with_options(family: str) -> tuple[str, dict]:
    """``default+masked`` → (``default``, its training options); the options are explicit for every arm, so an
    arm means the same whatever the trainer's defaults."""
    base, _, variant = family.partition("+")
    if variant not in TRAINING_VARIANTS:
        raise SystemExit(f"unknown arm variant {variant!r} (known: {', '.join(v for v in TRAINING_VARIANTS if v)})")
    return base, TRAINING_VARIANTS[variant]


def encoding_path(family: str, args) -> tuple[str, dict]:
    """``top@int8`` → (``top``, torch int8); ``top@onnx-int8`` → (``top``, ONNX int8); ``top`` → (``top``, ``--mine-precision``).

    A static arm's negatives can be mined on a fast encoding path, so that a fast path is judged by
    the model it trains, not by how many negatives it shares with float32.
    """
    if "@" not in family:
        return family, {"precision": args.mine_precision, "backend": "torch"}
    family, path = family.split("@", 1)
    backend, _, precision = path.rpartition("-")
    return family, {"precision": precision, "backend": backend or "torch"}


def encoding_of(args) -> dict:
    """The mining and scoring options every arm shares: ``--encode-max-seq-length`` when given."""
    return {"max_seq_length": args.encode_max_seq_length} if args.encode_max_seq_length else {}


def run_arm(name: str, seed: int, args, view: Path, work: Path) -> dict:
    """Train (when the arm trains) and score one arm for one seed; reuses finished outputs."""
    family, negatives = split_name(name)
    family, variant = with_options(family)
    folder = work / f"{name}-seed{seed}"
    result_path = folder / "result.json"
    if result_path.is_file():
        return with_mining_counts(json.loads(result_path.read_text()), folder)
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    common = {"show_progress": False, "device": args.device}
    encoding = encoding_of(args)
    training = {
        "max_steps": args.steps,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "max_seq_length": args.max_seq_length,
        "precision": args.train_precision,
        "seed": seed,
        **variant,
    }
    model, extra = None, {}
    if family == "in-batch":
        model = folder / "model"
        if not model.is_dir():
            train(view, model, split="train", **training, **common)
    elif encoding_path(family, args)[0] in STATIC:
        preset, path = encoding_path(family, args)
        rows = folder / "train.parquet"
        if not rows.is_file():
            mine(
                view, rows, preset=preset, split="train", num_negatives=negatives, seed=seed,
                **encoding, **path, **args.mine_options, **common,
            )  # fmt: skip
        model = folder / "model"
        if not model.is_dir():
            train(rows, model, **training, **common)
        tuning = ((manifest_of(rows) or {}).get("summary") or {}).get("tuning")
        if tuning:  # --preset auto: what it chose on this seed's training data, and why
            extra = {"auto_chose": tuning["chosen_name"], "auto_reason": tuning["reason"]}
    elif family in args.evolve_configs:
        cfg = args.evolve_configs[family]
        rounds = int(cfg.get("rounds", 1))
        per_round = {**training, "max_steps": max(1, args.steps // rounds), "num_negatives": negatives, **cfg.get("train", {})}
        run = evolve(
            view, folder / "run", rounds=rounds, patience=rounds, preset=cfg.get("preset", "nv-retriever"), dev_split="dev",
            mine_options={"num_negatives": negatives, **encoding, **cfg.get("mine", {})}, train_options=per_round, seed=seed,
            audit=False, precision=args.eval_precision, **encoding, **common,
        )  # fmt: skip
        model = run.best_model
        # best_round -1: no round beat the base model on dev, and the loop returns the base model; the
        # trained rounds' own test scores are kept beside it
        extra = {
            "best_round": run.summary["best_round"],
            "dev": [r["dev"]["ndcg@10"] for r in run.summary["rounds"]],
            "rounds_test": [(r.get("test") or {}).get("ndcg@10") for r in run.summary["rounds"]],
        }
    elif family != "zero-shot":
        raise SystemExit(f"unknown arm {family!r}")
    metrics = evaluate(
        view, split="test", model=None if model is None else str(model), precision=args.eval_precision, **encoding, **common
    )
    result = {
        "arm": name,
        "seed": seed,
        **metrics.metrics,
        **extra,
        "model": None if model is None else str(model),
        "seconds": round(time.perf_counter() - start, 1),
    }
    result_path.write_text(json.dumps(result, indent=2) + "\n")
    return with_mining_counts(result, folder)


def with_mining_counts(result: dict, folder: Path) -> dict:
    """A static arm's result with what its mining summary counted (negatives found, chosen negatives that were
    the query itself, candidates dropped as the query itself), read once from the rows' manifest and stored."""
    summary = (manifest_of(folder / "train.parquet") or {}).get("summary")
    if "mined" in result or not summary:
        return result
    result = {
        **result,
        "mined": {
            "negatives_found": summary.get("negatives_found"),
            "negatives_query_itself": summary.get("negatives_query_itself"),
            "query_itself_dropped": summary.get("dropped", {}).get("query_itself"),
        },
    }
    (folder / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


PROTOCOL = ("steps", "batch_size", "lr", "max_seq_length", "encode_max_seq_length", "train_queries", "pairs", "dev_fraction")
"""The settings two runs must share for their numbers to be paired (``--runs-from`` checks them)."""


def import_runs(paths: list[str], args, work: Path) -> int:
    """Finished runs of an earlier session, read from its results files and written into ``work`` as if run there
    (never over a run already there), so that a run started in one session is finished and tabled in another.

    The files' protocol must be this run's (:data:`PROTOCOL`); dev-checked rows are derived again from the base
    model's dev score they carry."""
    imported = 0
    for path in paths:
        payload = json.loads(Path(path).read_text())
        theirs = payload["settings"]
        differ = [
            k
            for k in PROTOCOL
            if theirs.get(k) != getattr(args, k) and not (k == "pairs" and not theirs.get(k) and not args.pairs)
        ]
        if differ:
            raise SystemExit(f"{path} was run under another protocol ({', '.join(f'{k} {theirs.get(k)!r}' for k in differ)})")
        for r in payload["runs"]:
            if r["arm"].endswith(CHECKED):
                base = work / f"base-dev-seed{r['seed']}.json"
                if not base.is_file():
                    base.write_text(json.dumps({"seed": r["seed"], "ndcg@10": r["base_dev_ndcg@10"]}) + "\n")
                continue
            target = work / f"{r['arm']}-seed{r['seed']}" / "result.json"
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps({**r, "imported_from": str(path)}, indent=2) + "\n")
                imported += 1
    return imported


def dev_score(model: Path | None, args, view: Path) -> float:
    """nDCG@10 of ``model`` (``None``: the base model) on the view's dev queries (the test run cached the corpus)."""
    metrics = evaluate(
        view, split="dev", model=None if model is None else str(model), precision=args.eval_precision,
        show_progress=False, device=args.device, **encoding_of(args),
    )  # fmt: skip
    return round(float(metrics.metrics["ndcg@10"]), 6)


def base_dev_score(seed: int, args, view: Path, work: Path) -> float:
    """The base model's dev nDCG@10 on seed ``seed``'s view (dev queries differ by seed where they are drawn)."""
    path = work / f"base-dev-seed{seed}.json"
    if path.is_file():
        return json.loads(path.read_text())["ndcg@10"]
    score = dev_score(None, args, view)
    path.write_text(json.dumps({"seed": seed, "ndcg@10": score}) + "\n")
    return score


def with_dev_check(result: dict, args, view: Path, work: Path) -> dict:
    """Add the dev score to a trained static or in-batch arm's result, once (it is stored beside the test score)."""
    family, _ = split_name(result["arm"])
    family = with_options(family)[0]
    if "dev_ndcg@10" in result or result.get("model") is None or family in args.evolve_configs:
        return result
    result = {**result, "dev_ndcg@10": dev_score(Path(result["model"]), args, view)}
    path = work / f"{result['arm']}-seed{result['seed']}" / "result.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def dev_checked(results: list[dict], base_dev: dict[int, float]) -> list[dict]:
    """``ARM:dev-checked`` per seed: the arm's test scores where it beat the base model on dev, else the base model's."""
    base = next((r for r in results if r["arm"] == "zero-shot"), None)
    if base is None:
        return []
    checked = []
    for r in results:
        if "dev_ndcg@10" not in r:
            continue
        kept = r["dev_ndcg@10"] > base_dev[r["seed"]]
        source = r if kept else base
        checked.append({
            "arm": r["arm"] + CHECKED, "seed": r["seed"], "ndcg@10": source["ndcg@10"], "recall@100": source["recall@100"],
            "kept_trained": kept, "dev_ndcg@10": r["dev_ndcg@10"], "base_dev_ndcg@10": base_dev[r["seed"]], "seconds": 0.0,
        })  # fmt: skip
    return checked


def run_curve(name: str, seed: int, args, view: Path, work: Path) -> dict:
    """One run of ``args.curve_steps[-1]`` steps, probed at every curve step (quality and staleness)."""
    from hardneg.evolution.curve import CurveProbe
    from hardneg.options import EncodingOptions

    family, negatives = split_name(name)
    family, variant = with_options(family)
    folder = work / f"curve-{name}-seed{seed}"
    result_path = folder / "curve.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    encoding = encoding_of(args)
    preset, extra_train = family, {}
    if family in args.evolve_configs:  # one round: mined by the base model, re-mined inside the run as configured
        preset, extra_train = (
            args.evolve_configs[family].get("preset", "nv-retriever"),
            args.evolve_configs[family].get("train", {}),
        )
    elif family not in STATIC:
        raise SystemExit(f"--curve-arm takes a static or evolve arm, got {family!r}")
    candidates = folder / "candidates.parquet"
    if not candidates.is_file():
        mine(
            view, candidates, preset=preset, split="train", num_negatives=negatives, seed=seed, output_format="candidates",
            show_progress=False, device=args.device, **encoding,
        )  # fmt: skip
    start = time.perf_counter()
    config = TrainConfig(
        data=str(candidates), out=str(folder / "model"), max_steps=max(args.curve_steps), batch_size=args.batch_size,
        learning_rate=args.lr, max_seq_length=args.max_seq_length, precision=args.train_precision, seed=seed,
        num_negatives=negatives, show_progress=False, device=args.device, **{**variant, **extra_train},
    )  # fmt: skip
    trainer = Trainer(config)
    options = EncodingOptions(precision=args.eval_precision, use_cache=False, show_progress=False, device=args.device, **encoding)
    test = load_data(str(view), split="test", absent_documents="judge")  # scored as `hardneg eval` scores it
    probe = CurveProbe(test, args.curve_steps, pool=trainer.load_input().pool, options=options)
    trainer.run(callbacks=[probe])
    result = {"arm": name, "seed": seed, "points": probe.points, "seconds": round(time.perf_counter() - start, 1)}
    result_path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def table_of(results: list[dict]) -> dict:
    table = {}
    for arm in dict.fromkeys(r["arm"] for r in results):
        values = [r["ndcg@10"] for r in results if r["arm"] == arm]
        std = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
        table[arm] = {
            "mean": round(float(np.mean(values)), 4),
            "std": round(std, 4),
            "n": len(values),
            "recall@100": round(float(np.mean([r["recall@100"] for r in results if r["arm"] == arm])), 4),
        }
    return table


def recommended_name(args) -> str:
    """``default+masked:dev-checked`` → ``default+masked-n3:dev-checked`` (at the largest ``--negatives``)."""
    arm, sep, check = args.recommended.partition(":")
    if with_options(arm)[0] in ("zero-shot", "in-batch"):
        return args.recommended
    return f"{arm}-n{max(args.negatives)}{sep}{check}"


BASELINE = "top-n3"
"""The arm every other is paired against: sentence-transformers' defaults at 3 negatives per row."""
DECIDING_SEEDS = 5
"""Seeds the recommended arm and the baseline need before the bar is checked."""


def per_seed(results: list[dict]) -> dict[str, dict[int, float]]:
    """Per arm, test nDCG@10 per seed; ``zero-shot`` (no randomness, evaluated once) stands for every seed."""
    out: dict[str, dict[int, float]] = {}
    for r in results:
        out.setdefault(r["arm"], {})[r["seed"]] = r["ndcg@10"]
    seeds = sorted({s for arm, v in out.items() if arm != "zero-shot" for s in v})
    if "zero-shot" in out:
        value = next(iter(out["zero-shot"].values()))
        out["zero-shot"] = {s: value for s in seeds or out["zero-shot"]}
    return out


def paired(a: dict[int, float], b: dict[int, float]) -> dict | None:
    """``a`` minus ``b`` on the seeds both have: every difference, their mean and its standard error."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    diffs = [round(a[s] - b[s], 6) for s in seeds]
    se = float(np.std(diffs, ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else float("nan")
    return {
        "seeds": seeds,
        "differences": diffs,
        "mean": round(float(np.mean(diffs)), 6),
        "se": round(se, 6),
        "positive_in_every_seed": all(d > 0 for d in diffs),
    }


def paired_table(results: list[dict], recommended: str, baseline: str = BASELINE) -> dict:
    """Per arm, its paired differences against ``baseline`` and against ``recommended`` (same seed, same view, same
    steps): what the bar reads, and what the docs' tables show beside the means."""
    scores = per_seed(results)
    table = {}
    for arm, values in scores.items():
        table[arm] = {
            f"vs {baseline}": paired(values, scores[baseline]) if baseline in scores and arm != baseline else None,
            "vs recommended": paired(values, scores[recommended]) if recommended in scores and arm != recommended else None,
        }
    return table


def verdict(results: list[dict], recommended: str, baseline: str = BASELINE, seeds: int = DECIDING_SEEDS) -> dict:
    """The bar, on paired seeds: ``recommended`` beats ``baseline`` in every seed, and its mean difference over every
    other arm is at least minus one standard error; checked once it and ``baseline`` have ``seeds`` seeds."""
    scores = per_seed(results)
    if recommended not in scores:
        return {"recommended": recommended, "checked": False, "why": "the recommended arm was not run"}
    over = {arm: paired(scores[recommended], v) for arm, v in scores.items() if arm != recommended}
    over = {arm: d for arm, d in over.items() if d is not None}
    short = [arm for arm in (recommended, baseline) if len(scores.get(arm, {})) < seeds]
    beats_baseline = bool(over.get(baseline) and over[baseline]["positive_in_every_seed"])
    # one seed gives no standard error: such an arm is compared on its mean alone
    below = [arm for arm, d in over.items() if d["mean"] < -(d["se"] if np.isfinite(d["se"]) else 0.0)]
    return {
        "recommended": recommended,
        "baseline": baseline,
        "checked": not short,
        "why": f"fewer than {seeds} seeds: {', '.join(short)}" if short else None,
        "over_baseline_in_every_seed": beats_baseline,
        "below_by_more_than_one_se": below,
        "holds": not short and beats_baseline and not below,
        "paired": over,
    }


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scifact"))
    parser.add_argument("--arm", action="append", help="zero-shot, in-batch, a static preset or an evolve configuration")
    parser.add_argument("--negatives", type=int, action="append", help="negatives per row of the mining arms (default 1 and 3)")
    parser.add_argument("--seed", type=int, action="append", help="seeds (repeatable; default 1, 2, 3)")
    parser.add_argument(
        "--pairs", type=int, default=None,
        help="seeded draw of training pairs (0: all, the default); a drawn query's other positives are then unknown "
        "to the miner and can be mined as its negatives, so prefer --train-queries on data with many positives per query",
    )  # fmt: skip
    parser.add_argument(
        "--train-queries", type=int, default=None,
        help="seeded draw of training queries, each with all its judged positives (default: all; NFCorpus 512)",
    )  # fmt: skip
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps per arm (default: one pass over the pairs)")
    parser.add_argument("--dev-fraction", type=float, default=0.1, help="dev share of the training queries without dev qrels")
    parser.add_argument("--dev-from-train", action="store_true", help="hold dev out of train even when the data has dev qrels")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--max-seq-length", type=int, default=256, help="training")
    parser.add_argument("--encode-max-seq-length", type=int, default=None, help="mining and evaluation (default: the model's)")
    # bfloat16 (mixed-precision training, bf16 encoding) keeps all arms affordable on 2 CPU cores
    # bfloat16 only where it is native: on a CPU without AVX-512 BF16 it is emulated, and encoding SciFact
    # documents in bfloat16 measured 6.3x slower than float32 (3.0 against 19.1 docs/s on an AVX2 CPU).
    native = "bfloat16" if torch.cuda.is_available() else "float32"
    parser.add_argument("--train-precision", default=native, choices=("float32", "bfloat16"))
    parser.add_argument("--eval-precision", default=native, choices=("float32", "bfloat16"))
    parser.add_argument(
        "--mine-precision", default="float32", choices=("float32", "bf16", "int8"),
        help="encoding of the static mining arms (an arm named PRESET@[BACKEND-]PRECISION overrides it; "
        "the evolve arms mine and score in --eval-precision)",
    )  # fmt: skip
    parser.add_argument(
        "--mine-option", action="append", default=[], metavar="KEY=VALUE",
        help="a mining parameter for every static arm (a JSON value or a string), e.g. positive_reference=min",
    )  # fmt: skip
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--evolve-config", action="append", default=[], help="LABEL=JSON: add or replace an evolve arm")
    parser.add_argument("--recommended", default=RECOMMENDED, help="the arm the bar is checked for")
    parser.add_argument(
        "--dev-check", action=argparse.BooleanOptionalAction, default=True,
        help="score the trained static and in-batch arms on dev too, and add their ARM:dev-checked rows",
    )  # fmt: skip
    parser.add_argument("--curve-steps", default=None, help="comma-separated steps: probe one run per --curve-arm instead")
    parser.add_argument("--curve-arm", action="append", help="arms of the curve (default top, nv-retriever, evolve)")
    parser.add_argument("--eval-queries", type=int, default=0, help="smoke: a seeded sample of this many dev and test queries")
    parser.add_argument("--corpus-sample", type=int, default=0, help="smoke: judged documents plus seeded others, this many")
    parser.add_argument("--smoke", action="store_true", help="minutes-long plumbing check; its numbers are not results")
    parser.add_argument(
        "--work", default=None, help="views, models and per-arm results (default /tmp/hardneg-bench-quality-<data>)"
    )
    parser.add_argument("--out", help="results JSON (default benchmarks/results/quality_<dataset>[_curve|_smoke].json)")
    parser.add_argument(
        "--no-run", action="store_true",
        help="run nothing: table the finished runs of the work folder (and --runs-from) among the arms and seeds asked for",
    )  # fmt: skip
    parser.add_argument(
        "--runs-from", action="append", default=[], metavar="RESULTS_JSON",
        help="reuse the finished runs of an earlier results file (same protocol) instead of running them again",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.pairs and args.train_queries:
        parser.error("--pairs and --train-queries draw the training data two ways: give one")
    args.dataset = Path(args.data).resolve().name
    args.mine_options = {}
    for item in args.mine_option:
        key, _, value = item.partition("=")
        try:
            args.mine_options[key] = json.loads(value)
        except json.JSONDecodeError:
            args.mine_options[key] = value
    args.evolve_configs = dict(EVOLVE)
    for item in args.evolve_config:
        label, _, spec = item.partition("=")
        args.evolve_configs[label] = json.loads(spec)
    if args.smoke:
        args.seed = args.seed or [1]
        args.arm = args.arm or ["zero-shot", "in-batch", "top", "evolve-cache"]
        args.negatives = args.negatives or [1]
        args.pairs = args.pairs or 64
        args.steps = args.steps or 4
        args.batch_size, args.max_seq_length = 16, 32
        args.encode_max_seq_length = args.encode_max_seq_length or 32
        args.corpus_sample = args.corpus_sample or 1
        args.eval_queries = args.eval_queries or 20
        args.evolve_configs["evolve-cache"] = {
            **args.evolve_configs["evolve-cache"],
            "train": {"refresh_mode": "cache", "refresh_budget": 16},
        }
    args.seed = args.seed or [1, 2, 3]
    recommended_arm = RECOMMENDED.partition(":")[0]
    args.arm = args.arm or ["zero-shot", "in-batch", "in-batch+masked", *STATIC, recommended_arm, *args.evolve_configs]
    args.negatives = sorted(set(args.negatives or [1, 3]))
    if args.pairs is None:
        args.pairs = 0
    if args.train_queries is None:
        args.train_queries = 512 if args.dataset == "nfcorpus" and not args.pairs else 0
    args.curve_steps = [int(s) for s in args.curve_steps.split(",")] if args.curve_steps else None
    args.curve_arm = args.curve_arm or ["top", "nv-retriever", "evolve"]
    suffix = "_curve" if args.curve_steps else "_smoke" if args.smoke else ""
    args.work = Path(args.work or f"/tmp/hardneg-bench-quality-{args.dataset}{suffix}")
    args.out = args.out or str(Path(__file__).resolve().parent / "results" / f"quality_{args.dataset}{suffix}.json")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    views = {}
    for seed in args.seed:
        views[seed] = benchmark_view(args, seed, args.work)
        if args.steps is None:
            args.steps = max(1, math.ceil(views[seed][1]["train_pairs"] / args.batch_size))
    print(f"{args.dataset}: {views[args.seed[0]][1]} -> {args.steps} steps of {args.batch_size}", file=sys.stderr)
    if args.runs_from:
        print(f"reused {import_runs(args.runs_from, args, args.work)} finished runs from {args.runs_from}", file=sys.stderr)

    if args.curve_steps:
        names = curve_names(args)
        runs = [run_curve(name, seed, args, views[seed][0], args.work) for seed in args.seed for name in names]
        from hardneg.evolution.report import curve_means

        base = run_arm("zero-shot", args.seed[0], args, views[args.seed[0]][0], args.work)  # the line every curve starts from
        payload = {
            "dataset": args.dataset,
            "views": {s: v[1] for s, v in views.items()},
            "runs": runs,
            "zero_shot": {"ndcg@10": base["ndcg@10"], "recall@100": base["recall@100"]},
        }
        payload["means"] = curve_means(payload)
        for arm, rows in payload["means"].items():
            for r in rows:
                print(
                    f"{arm:<20} step {r['step']:>5}  nDCG@10 {r['ndcg@10']:.4f}  negatives' mean rank {r['negative_mean_rank']}"
                )
    else:
        results = []
        for seed in args.seed:
            for name in arm_names(args):
                if name == "zero-shot" and seed != args.seed[0]:
                    continue  # no randomness: one evaluation is every seed's
                if args.no_run and not (args.work / f"{name}-seed{seed}" / "result.json").is_file():
                    continue
                r = run_arm(name, seed, args, views[seed][0], args.work)
                if args.dev_check:
                    r = with_dev_check(r, args, views[seed][0], args.work)
                results.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
        if args.dev_check and any(r["arm"] == "zero-shot" for r in results):
            seeds = [s for s in args.seed if not args.no_run or (args.work / f"base-dev-seed{s}.json").is_file()]
            base_dev = {seed: base_dev_score(seed, args, views[seed][0], args.work) for seed in seeds}
            results += dev_checked([r for r in results if r["seed"] in base_dev], base_dev)
        table = table_of(results)
        recommended = recommended_name(args)
        pairs = paired_table(results, recommended)
        print(f"\n{'arm':<40}{'nDCG@10 mean':>13}{'std':>8}{'seeds':>6}  {'vs ' + BASELINE + ' (mean ± SE, per seed)'}")
        for arm, row in table.items():
            d = pairs[arm][f"vs {BASELINE}"]
            shown = f"{d['mean']:+.4f} ± {d['se']:.4f}  {d['differences']}" if d else ""
            print(f"{arm:<40}{row['mean']:>13.4f}{row['std']:>8.4f}{row['n']:>6}  {shown}")
        bar = verdict(results, recommended)
        if bar["checked"]:
            print(
                f"\n{recommended}: {'holds' if bar['holds'] else 'does NOT hold'} the bar (above {BASELINE} in every seed: "
                f"{bar['over_baseline_in_every_seed']}; below by more than one SE: {bar['below_by_more_than_one_se'] or 'none'})"
            )
        else:
            print(f"\nthe bar is not checked: {bar['why']}")
        payload = {
            "dataset": args.dataset,
            "views": {s: v[1] for s, v in views.items()},
            "table": table,
            "paired": pairs,
            "bar": bar,
            "runs": results,
        }
        payload["total_seconds"] = round(sum(r["seconds"] for r in results))
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "work")}
    settings["work"] = str(args.work)
    payload = {"settings": settings, "smoke": args.smoke, **payload}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
