"""Per-seed margins between the arms of a ``benchmarks/quality.py --curve-steps`` result file.

Prints, for every arm and probed step, the mean test nDCG@10 ± std over seeds and the staleness of its
negatives (from :func:`hardneg.evolution.report.curve_means`, as stored under ``means``), then for every
pair of arms and every step the later arm's score minus the earlier's in points, same seed against same
seed, and the larger of the two arms' stds: a margin counts only where it is larger.

Example:
    python benchmarks/curve_margins.py benchmarks/results/quality_scifact_curve_lr5e-6.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from pathlib import Path

from hardneg.evolution.report import curve_means


def margins(curve: dict) -> list[dict]:
    """For every pair of arms and step: the later arm (in the order of the runs) minus the earlier, per seed, in points."""
    scores: dict[str, dict[int, dict[int, float]]] = {}
    for run in curve["runs"]:
        for point in run["points"]:
            scores.setdefault(run["arm"], {}).setdefault(point["step"], {})[run["seed"]] = point["ndcg@10"]
    stds = {arm: {r["step"]: r["ndcg@10_std"] for r in rows} for arm, rows in curve_means(curve).items()}
    out = []
    for b, a in itertools.combinations(scores, 2):
        for step in sorted(scores[a].keys() & scores[b].keys()):
            seeds = sorted(scores[a][step].keys() & scores[b][step].keys())
            diffs = [round(100 * (scores[a][step][s] - scores[b][step][s]), 2) for s in seeds]
            spread = [s for s in (stds[a].get(step), stds[b].get(step)) if s is not None]
            out.append(
                {
                    "arms": (a, b),
                    "step": step,
                    "seeds": seeds,
                    "per_seed": diffs,
                    "mean": round(statistics.mean(diffs), 2),
                    "larger_std": round(100 * max(spread), 2) if spread else None,
                }
            )
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a quality.py --curve-steps result file")
    args = parser.parse_args(argv)
    try:
        curve = json.loads(args.file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SystemExit(f"{args.file}: {exc}") from None
    if not isinstance(curve, dict) or not all("points" in r for r in curve.get("runs") or [{}]):
        raise SystemExit(f"{args.file}: not a quality.py --curve-steps result file (no runs with probed points)")
    for arm, rows in curve_means(curve).items():
        for r in rows:
            std = f" ± {r['ndcg@10_std']:.4f}" if r["ndcg@10_std"] is not None else ""
            top = f"{100 * r['negatives_in_top_k']:.0f} %" if r["negatives_in_top_k"] is not None else "-"
            print(
                f"{arm:<24} step {r['step']:>4}  nDCG@10 {r['ndcg@10']:.4f}{std}  seeds {r['seeds']}"
                f"  negatives' mean rank {r['negative_mean_rank']}  in the current top k {top}"
            )
    found = margins(curve)
    for m in found:
        a, b = m["arms"]
        per_seed = ", ".join(f"{d:+.2f}" for d in m["per_seed"])
        print(
            f"{a} - {b} at step {m['step']}: {m['mean']:+.2f} points (seeds {m['seeds']}: {per_seed}); larger std {m['larger_std']}"
        )
    return found


if __name__ == "__main__":
    main()
