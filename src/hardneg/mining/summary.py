"""The end-of-run summary: counts, score quantiles, filter drops and where the time went."""

from __future__ import annotations

from typing import Any

import numpy as np

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def quantiles(values: np.ndarray) -> dict[str, float] | None:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    out = {f"p{int(q * 100)}": round(float(np.quantile(values, q)), 4) for q in QUANTILES}
    out["mean"] = round(float(values.mean()), 4)
    out["count"] = int(values.size)
    return out


def format_summary(summary: dict[str, Any]) -> str:
    lines = ["", "hardneg mine summary"]
    keys = (
        "queries",
        "pairs",
        "rows",
        "negatives_per_query",
        "queries_short",
        "queries_window_widened",
        "pairs_dropped",
        "rows_padded",
        "extra_positives",
        "negatives_query_itself",
    )
    for key in keys:
        if key in summary:
            lines.append(f"  {key.replace('_', ' '):<22}{summary[key]:>12,}")
    if summary.get("short_query_ids"):
        shown = ", ".join(summary["short_query_ids"][:10])
        more = len(summary["short_query_ids"]) - 10
        lines.append(f"  short queries          {shown}{f' (+{more} more)' if more > 0 else ''}")
    pos, neg = summary.get("positive_scores"), summary.get("negative_scores")
    if pos or neg:
        lines.append(f"  {'score':<10}{'positive':>10}{'negative':>10}{'difference':>12}")
        for key in ("mean", "p5", "p25", "p50", "p75", "p95"):
            p = pos.get(key) if pos else None
            n = neg.get(key) if neg else None
            d = f"{p - n:>12.4f}" if p is not None and n is not None else f"{'':>12}"
            lines.append(f"  {key:<10}{_num(p):>10}{_num(n):>10}{d}")
    dropped = summary.get("dropped", {})
    if dropped:
        lines.append("  candidates dropped by")
        for name, count in dropped.items():
            lines.append(f"    {name:<24}{count:>10,}")
    if "score_space" in summary:
        lines.append(f"  filters compared       {summary['score_space']} scores")
    if "promoted_positives" in summary:
        lines.append(f"  promoted positives     {summary['promoted_positives']:>12,}")
    if "audit" in summary and "false_negative_rate" in summary["audit"]:
        a = summary["audit"]
        lines.append(f"  audit false negatives  {a['false_negatives']} of {a['hidden_positives']} hidden positives")
    index = summary.get("index")
    if index and "recall_at_k" in index:
        lines.append(
            f"  index {index['factory']}: recall@{index['k']} {index['recall_at_k']:.4f} against exact search"
            f" on {index['sample_queries']} queries, at {index['speedup']}x its speed"
        )
    timings = summary.get("seconds", {})
    if timings:
        lines.append("  seconds  " + "  ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return "\n".join(lines)


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"
