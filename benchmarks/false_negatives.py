"""False-negative rate of each mining preset, and of the teacher-based defences, on SciFact train.

For every train query with two or more positives the audit (``hardneg.drivers.audit``) hides one positive,
mines with the arm's configuration, and counts how often the hidden positive comes back as a
negative. Every arm uses the default model, 3 negatives and one seed. The table also gives the
hardness of the chosen negatives (mean rank among non-positives and mean cosine under the default
model), because removing false negatives by making every negative easy is no win.

The teacher is a cross-encoder trained here by ``hardneg teacher`` on SciFact train *without* the
positives the audit hides (``hide_audit_positives``): it sees the same labels as the audited miner,
never the hidden ones. Its training negatives are mined with the ``default`` preset, so it may have
seen a hidden positive labelled as a negative, exactly as a real teacher would.

Last, cross-encoder rescoring throughput: hardneg's ``CrossEncoderScorer`` against
sentence-transformers' ``mine_hard_negatives(cross_encoder=...)`` on the same candidates, in one run.

    HARDNEG_CACHE=/tmp/hncache python benchmarks/false_negatives.py

Results go to ``benchmarks/results/false_negatives.json`` (updated after every stage) and a
Markdown table is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT / ".." / "shared" / "data" / "scifact"
PRESETS = ("top", "nv-retriever", "default", "ance", "simans", "dpr", "random")


def defence_arms(teacher: str, max_length: int, window: int) -> dict[str, tuple[str, dict]]:
    """Teacher-based arms: (preset, parameters). The teacher rescores the dense top ``window``."""
    t = {
        "teacher": teacher,
        "teacher_max_length": max_length,
        "teacher_bf16": True,
        "teacher_batch_size": 32,
        "range_max": window,
    }
    veto = {**t, "teacher_score_filters": False, "denoise_threshold": 0.5, "near_duplicate_threshold": 0.5}
    return {
        # RocketQA's thresholds as published: negatives under 0.1, pseudo-positives over 0.9.
        "rocketqa: top + teacher t_neg 0.1, t_pos 0.9": ("top", {**t, "denoise_threshold": 0.1, "promote_threshold": 0.9}),
        # NV-Retriever's TopK-PercPos on the teacher's probabilities (the paper's setting), + near duplicates.
        "nv-retriever, PercPos on teacher": ("nv-retriever", {**t, "near_duplicate_threshold": 0.5}),
        # PercPos on the student's cosines as before, and a teacher veto: nothing it gives even odds.
        "nv-retriever + teacher veto 0.5": ("nv-retriever", veto),
        "default, PercPos on teacher": ("default", {**t, "near_duplicate_threshold": 0.5}),
        "default + teacher veto 0.5": ("default", veto),
    }


def run_audit(name: str, preset: str, params: dict, data: str, seed: int, teacher=None) -> dict:
    from hardneg.drivers.audit import audit

    start = time.perf_counter()
    result = audit(
        data, preset=preset, seed=seed, num_negatives=3, show_progress=False, teacher_scorer=teacher, **params
    ).to_dict()
    result["arm"] = name
    print(
        f"{name}: FN {result['false_negatives']}/{result['hidden_positives']} = {result['false_negative_rate']:.4f}, "
        f"mean rank {result['mean_negative_rank']}, mean score {result['mean_negative_score']} "
        f"({time.perf_counter() - start:.0f} s)",
        file=sys.stderr,
        flush=True,
    )
    return result


def train(data: str, out: Path, seed: int, steps: int, max_length: int, lr: float, num_negatives: int) -> dict:
    from hardneg.drivers.teacher import TeacherConfig, train_teacher

    config = TeacherConfig(
        data=data,
        out=str(out),
        hide_audit_positives=True,
        num_negatives=num_negatives,
        max_steps=steps,
        batch_size=16,
        max_length=max_length,
        learning_rate=lr,
        seed=seed,
        bf16=True,
        show_progress=False,
    )
    return train_teacher(config)["summary"]


def throughput(data_dir: str, teacher: str, n_queries: int, range_max: int, seed: int) -> dict:
    """Pairs/second of both rescoring paths on the same (query, candidate) pairs."""
    import datasets
    from sentence_transformers import CrossEncoder
    from sentence_transformers.util import mine_hard_negatives

    from hardneg.candidates import DenseSearch
    from hardneg.data import load_data
    from hardneg.drivers.audit import hide_positives
    from hardneg.encoding.encode import Encoder
    from hardneg.encoding.model import fingerprint_model, load_model
    from hardneg.options import default_cache_dir
    from hardneg.teachers import CrossEncoderScorer

    data = hide_positives(load_data(data_dir), seed).data.subset(list(range(n_queries)))
    model = load_model(None)
    encoder = Encoder(model, fingerprint_model(model), cache_dir=default_cache_dir(), show_progress=False)
    search = DenseSearch(encoder.encode(data.query_texts, "query").to_array(), encoder.encode(data.corpus_texts, "document"))
    max_pos = max(len(p) for p in data.positives)
    cands = search.search(np.arange(n_queries), range_max + max_pos)
    # The corpus handed to sentence-transformers is exactly these candidates plus the positives,
    # so its own top range_max + max_positives are the same documents.
    keep = sorted(set(cands.indices.ravel().tolist()) | {d for p in data.positives for d in p})
    corpus = [data.corpus_texts[d] for d in keep]
    pairs = datasets.Dataset.from_dict(
        {
            "anchor": [data.query_texts[q] for q, p in enumerate(data.positives) for _ in p],
            "positive": [data.corpus_texts[d] for p in data.positives for d in p],
        }
    )
    ce = CrossEncoder(teacher, device="cpu")
    calls = {"pairs": 0, "seconds": 0.0}
    predict = ce.predict

    def timed_predict(inputs, *args, **kwargs):
        start = time.perf_counter()
        out = predict(inputs, *args, **kwargs)
        calls["seconds"] += time.perf_counter() - start
        calls["pairs"] += len(inputs)
        return out

    ce.predict = timed_predict
    start = time.perf_counter()
    mine_hard_negatives(
        pairs,
        model,
        corpus=corpus,
        cross_encoder=ce,
        range_max=range_max,
        relative_margin=0.05,
        num_negatives=3,
        batch_size=32,
        verbose=False,
    )
    st_total = time.perf_counter() - start
    ce.predict = predict
    results = {
        "queries": n_queries,
        "range_max": range_max,
        "corpus_given_to_st": len(corpus),
        "st_mine_hard_negatives": {
            "pairs": calls["pairs"],
            "predict_seconds": round(calls["seconds"], 2),
            "pairs_per_second": round(calls["pairs"] / calls["seconds"], 2),
            "total_seconds": round(st_total, 2),
        },
    }
    positives = np.full((n_queries, max_pos), -1)
    for q, p in enumerate(data.positives):
        positives[q, : len(p)] = p
    matrix = np.concatenate([positives, cands.indices], axis=1)
    for name, bf16 in (("hardneg_scorer_fp32", False), ("hardneg_scorer_bf16", True)):
        scorer = CrossEncoderScorer(ce, data.query_texts, data.corpus_texts, batch_size=32, show_progress=False, bf16=bf16)
        scorer.score(np.arange(n_queries), matrix)
        results[name] = {
            "pairs": scorer.pairs_scored,
            "seconds": round(scorer.seconds, 2),
            "pairs_per_second": round(scorer.pairs_scored / scorer.seconds, 2),
        }
    return results


def teacher_diagnostics(data_dir: str, seed: int, teacher, window: int) -> dict:
    """How well the teacher and the student separate each hidden positive from its query's window candidates.

    AUC = share of (hidden positive, other window candidate) pairs the scorer orders correctly.
    """
    from hardneg.candidates import DenseSearch
    from hardneg.candidates.scoring import DenseScorer
    from hardneg.data import load_data
    from hardneg.drivers.audit import hide_positives
    from hardneg.encoding.encode import Encoder
    from hardneg.encoding.model import fingerprint_model, load_model
    from hardneg.options import default_cache_dir

    hidden = hide_positives(load_data(data_dir), seed)
    data = hidden.data
    model = load_model(None)
    encoder = Encoder(model, fingerprint_model(model), cache_dir=default_cache_dir(), show_progress=False)
    queries, docs = encoder.encode(data.query_texts, "query").to_array(), encoder.encode(data.corpus_texts, "document")
    n = len(data.query_ids)
    cands = DenseSearch(queries, docs).search(np.arange(n), window + 8).indices
    rows = []
    for q in range(n):
        others = [d for d in cands[q] if d not in hidden.all_positives[q]][:window]
        rows.append([hidden.hidden[q], *others])
    matrix = np.array(rows)
    auc = {}
    for name, scorer in (("teacher", teacher), ("student", DenseScorer(queries, docs))):
        scores = scorer.score(np.arange(n), matrix)
        auc[name] = round(float((scores[:, :1] > scores[:, 1:]).mean()), 4)
        auc[f"{name}_hidden_top1"] = int((scores[:, 0] > scores[:, 1:].max(axis=1)).sum())
        if name == "teacher":
            auc["teacher_mean_hidden"] = round(float(scores[:, 0].mean()), 4)
            auc["teacher_mean_other"] = round(float(scores[:, 1:].mean()), 4)
            for t in (0.1, 0.5):  # how much of the window RocketQA's threshold and the veto remove
                auc[f"teacher_share_of_others_at_or_above_{t}"] = round(float((scores[:, 1:] >= t).mean()), 4)
                auc[f"teacher_hidden_at_or_above_{t}"] = int((scores[:, 0] >= t).sum())
    return {"window": window, "queries": n, **auc}


def teacher_exposure(data_dir: str, seed: int, num_negatives: int) -> dict:
    """How many hidden positives the teacher's training data held as negatives.

    ``hardneg teacher --hide-audit-positives`` mines its negatives with the ``default`` preset from the
    labels without the hidden positives; mining that again shows which hidden positives it picked.
    """
    from hardneg.data import load_data
    from hardneg.drivers.audit import hide_positives, without_hidden
    from hardneg.mining.config import make_config
    from hardneg.mining.run import Miner

    data = load_data(data_dir)
    hidden = hide_positives(data, seed)
    config = make_config(
        "default", data=data_dir, output_format="candidates", num_negatives=num_negatives, seed=seed, show_progress=False
    )
    rows = {r["query_id"]: r for r in Miner(config).run(without_hidden(data, seed)).table.to_pylist()}
    as_negative = sum(
        data.corpus_ids[doc] in rows[qid]["negative_ids"] for qid, doc in zip(hidden.data.query_ids, hidden.hidden.tolist())
    )
    return {"hidden_positives": len(hidden.hidden), "labelled_negative_in_teacher_data": int(as_negative), "as_positive": 0}


def markdown(rows: list[dict]) -> str:
    def num(x, fmt):
        return "-" if x is None else format(x, fmt)

    lines = [
        "| arm | FN rate | 95 % CI | FN / hidden | mean neg rank | median rank | mean neg score | short queries "
        "| hidden positives stopped by | all candidates dropped by |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        stops = ", ".join(f"{k} {v}" for k, v in r["stopped_by"].items() if v) or "-"
        skip = ("known_positive_id", "known_positive_text")
        dropped = ", ".join(f"{k} {v}" for k, v in r.get("candidates_dropped", {}).items() if v and k not in skip) or "-"
        lo, hi = r["ci95"]
        lines.append(
            f"| {r['arm']} | {r['false_negative_rate']:.3f} | {lo:.3f}-{hi:.3f} | {r['false_negatives']}/{r['hidden_positives']} | "
            f"{num(r['mean_negative_rank'], '.1f')} | {num(r['median_negative_rank'], '.0f')} | "
            f"{num(r['mean_negative_score'], '.3f')} | {r['queries_short']} | {stops} | {dropped} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SCIFACT))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results" / "false_negatives.json"))
    parser.add_argument("--teacher", default="/tmp/hardneg-bench/scifact-teacher", help="trained here unless it exists")
    parser.add_argument("--teacher-steps", type=int, default=200)
    parser.add_argument("--teacher-max-length", type=int, default=128)
    parser.add_argument("--teacher-lr", type=float, default=3e-5)
    parser.add_argument(
        "--teacher-negatives", type=int, default=3, help="mined negatives per query in the teacher's training data"
    )
    parser.add_argument("--window", type=int, default=50, help="dense ranks the teacher rescores in the defence arms")
    parser.add_argument("--throughput-queries", type=int, default=24)
    parser.add_argument("--throughput-range-max", type=int, default=30)
    parser.add_argument("--skip", default="", help="comma-separated stages to skip: presets,teacher,defences,exposure,throughput")
    args = parser.parse_args()
    if not Path(args.data).is_dir():
        print(f"skipped: {args.data} not found", file=sys.stderr)
        return 0
    skip = set(args.skip.split(","))
    out = Path(args.results)
    results = json.loads(out.read_text()) if out.is_file() else {}
    results["seed"], results["data"] = args.seed, "../shared/data/scifact (train)"

    def save():
        from hardneg.io import write_json_atomic

        write_json_atomic(out, results)

    if "presets" not in skip:
        results["presets"] = [run_audit(p, p, {}, args.data, args.seed) for p in PRESETS]
        save()
    teacher = Path(args.teacher)
    if "teacher" not in skip and not teacher.exists():
        start = time.perf_counter()
        results["teacher"] = train(
            args.data, teacher, args.seed, args.teacher_steps, args.teacher_max_length, args.teacher_lr, args.teacher_negatives
        )
        results["teacher"]["wall_seconds"] = round(time.perf_counter() - start, 1)
        print(f"teacher: {results['teacher']}", file=sys.stderr, flush=True)
        save()
    if "defences" not in skip:
        from hardneg.data import load_data
        from hardneg.drivers.audit import hide_positives
        from hardneg.teachers import CrossEncoderScorer

        # One teacher for every arm: the audited queries are the same, so its scores are shared.
        audited = hide_positives(load_data(args.data), args.seed).data
        shared = CrossEncoderScorer(
            str(teacher),
            audited.query_texts,
            audited.corpus_texts,
            batch_size=32,
            max_length=args.teacher_max_length,
            bf16=True,
            show_progress=False,
        )
        arms = defence_arms(str(teacher), args.teacher_max_length, args.window)
        results["defences"] = [
            run_audit(name, preset, params, args.data, args.seed, teacher=shared) for name, (preset, params) in arms.items()
        ]
        results["teacher_scoring"] = {"pairs": shared.pairs_scored, "seconds": round(shared.seconds, 1)}
        results["teacher_diagnostics"] = teacher_diagnostics(args.data, args.seed, shared, args.window)
        print(f"teacher diagnostics: {results['teacher_diagnostics']}", file=sys.stderr, flush=True)
        save()
    if "exposure" not in skip:
        results["teacher_exposure"] = teacher_exposure(args.data, args.seed, args.teacher_negatives)
        print(f"teacher exposure: {results['teacher_exposure']}", file=sys.stderr, flush=True)
        save()
    if "throughput" not in skip:
        results["throughput"] = throughput(args.data, str(teacher), args.throughput_queries, args.throughput_range_max, args.seed)
        print(f"throughput: {results['throughput']}", file=sys.stderr, flush=True)
        save()
    print(markdown(results.get("presets", []) + results.get("defences", [])))
    if "throughput" in results:
        print(json.dumps(results["throughput"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
