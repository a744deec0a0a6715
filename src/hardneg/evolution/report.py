"""The report of a co-evolution run: one self-contained HTML page and the JSON behind it.

``hardneg report RUN_DIR`` reads what :mod:`hardneg.evolution.loop` wrote (``summary.json``, each round's
``scores.npz``) and, when present, the fooling matrix of :mod:`hardneg.evolution.fooling`
(``fooling.json``), and writes ``RUN_DIR/report.html`` and ``RUN_DIR/report.json``. What the page shows:
``docs/evolve.md`` (The fooling matrix and the report).

Figures are matplotlib PNGs embedded as base64 ``data:`` URIs: the page needs no other file and
no network. It carries one small script that marks ``<body data-images-ok>`` once every image has
decoded, which the browser test reads.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hardneg.errors import ConfigError, DataError
from hardneg.evolution.run_folder import RunFolder
from hardneg.io import atomic_path, read_json_object, write_json_atomic


@dataclass
class ReportResult:
    html: Path
    json: Path
    figures: list[str]


def load_run(run_dir: Path) -> dict[str, Any]:
    """The run's summary, per-round score arrays, and fooling matrix (``None`` when absent)."""
    folder = RunFolder(run_dir)
    summary = folder.read_summary()
    missing = [k for k in ("run", "base", "rounds", "best_round", "best_model", "stopped") if k not in summary]
    if missing or not isinstance(summary["rounds"], list):
        raise DataError(f"not a summary of `hardneg evolve`: missing {missing or ['rounds (a list)']}", path=str(folder.summary))
    scores = {}
    for record in summary["rounds"]:
        path = folder.round(record["round"]).scores
        if path.is_file():
            with np.load(path, allow_pickle=False) as npz:
                scores[record["round"]] = {k: npz[k] for k in npz.files}
    fooling_path = folder.fooling()[1]
    fooling = read_json_object(fooling_path) if fooling_path.is_file() else None
    curve = read_json_object(folder.curve) if folder.curve.is_file() else None
    return {"summary": summary, "scores": scores, "fooling": fooling, "curve": curve}


# --- figures ----------------------------------------------------------------------------------


def _png(fig) -> str:
    plt = _plt()

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plt():
    try:
        import matplotlib
    except ImportError as exc:
        raise ConfigError("the report's figures need matplotlib: pip install 'hardneg[plots]'") from exc

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def quality_figure(summary: dict[str, Any]) -> str:
    plt = _plt()
    rounds = summary["rounds"]
    x = [-1] + [r["round"] for r in rounds]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for split, style in (("dev", "o-"), ("test", "s--")):
        if split not in summary["base"]:
            continue
        for metric, color in (("ndcg@10", "tab:blue"), ("recall@100", "tab:green")):
            y = [summary["base"][split][metric]] + [r[split][metric] for r in rounds]
            ax.plot(x, y, style, color=color, label=f"{split} {metric}")
    ax.set_xticks(x, ["base"] + [str(r) for r in x[1:]])
    ax.set(xlabel="round (model trained in that round)", ylabel="score", title="Retrieval quality per round")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def distributions_figure(summary: dict[str, Any], scores: dict[int, dict[str, np.ndarray]]) -> str:
    plt = _plt()
    rounds = [r["round"] for r in summary["rounds"] if r["round"] in scores]
    values = np.concatenate([scores[r][k] for r in rounds for k in ("positive_miner", "negative_miner")] or [np.zeros(1)])
    bins = np.linspace(float(values.min()), float(values.max()) + 1e-6, 41)  # one scale for every round
    fig, axes = plt.subplots(1, max(1, len(rounds)), figsize=(3.2 * max(1, len(rounds)), 2.8), sharey=True, squeeze=False)
    for ax, r in zip(axes[0], rounds):
        s = scores[r]
        ax.hist(s["positive_miner"], bins=bins, alpha=0.6, density=True, label="positives", color="tab:green")
        ax.hist(s["negative_miner"], bins=bins, alpha=0.6, density=True, label="chosen negatives", color="tab:red")
        ax.set_title(f"round {r}: miner's scores", fontsize=9)
        ax.set_xlabel("cosine")
    axes[0][0].set_ylabel("density")
    axes[0][0].legend(fontsize=7)
    return _png(fig)


def hardness_figure(summary: dict[str, Any]) -> str:
    plt = _plt()
    rounds = summary["rounds"]
    x = [r["round"] for r in rounds]
    key = next((k for k in rounds[0]["staleness"] if k.startswith("in_top_")), "in_top_100") if rounds else "in_top_100"
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(x, [r["hardness"].get("mean_rank", np.nan) for r in rounds], "o-", label="under its miner (hardness)")
    left.plot(x, [r["staleness"].get("mean_rank", np.nan) for r in rounds], "s--", label="under the model trained on it")
    left.set_title("Mean rank of the chosen negatives", fontsize=10)
    left.set(xlabel="round", ylabel="rank among non-positives (0 = top)")
    left.legend(fontsize=7)
    right.plot(x, [r["hardness"].get(key, np.nan) for r in rounds], "o-", label="under its miner")
    right.plot(x, [r["staleness"].get(key, np.nan) for r in rounds], "s--", label="under the model trained on it (staleness)")
    right.set_ylim(0, 1.05)
    right.set_title(f"Share of chosen negatives {key.replace('_', ' ')}", fontsize=10)
    right.set_xlabel("round")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.set_xticks(x)
        ax.grid(alpha=0.3)
    return _png(fig)


def curve_means(curve: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per arm, per probed step: mean test nDCG@10, mean staleness rank and its share in the top k, over seeds.

    ``curve`` is what ``benchmarks/quality.py --curve-steps`` writes (``curve.json``): ``runs``, each
    with an ``arm``, a ``seed`` and the ``points`` of :class:`hardneg.evolution.curve.CurveProbe`.
    """
    by_arm: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for run in curve.get("runs", []):
        for point in run["points"]:
            by_arm.setdefault(run["arm"], {}).setdefault(point["step"], []).append(point)
    out = {}
    for arm, steps in by_arm.items():
        rows = []
        for step, points in sorted(steps.items()):
            stale = [p["staleness"] for p in points if p.get("staleness", {}).get("negatives")]
            key = next((k for k in (stale[0] if stale else {}) if k.startswith("in_top_")), None)
            rows.append(
                {
                    "step": step,
                    "seeds": len(points),
                    "ndcg@10": round(float(np.mean([p["ndcg@10"] for p in points])), 4),
                    "ndcg@10_std": round(float(np.std([p["ndcg@10"] for p in points], ddof=1)), 4) if len(points) > 1 else None,
                    "negative_mean_rank": round(float(np.mean([s["mean_rank"] for s in stale])), 2) if stale else None,
                    "negatives_in_top_k": round(float(np.mean([s[key] for s in stale])), 4) if key else None,
                }
            )
        out[arm] = rows
    return out


def curve_zero_shot(curve: dict[str, Any] | None) -> float | None:
    """The base model's test nDCG@10 that ``benchmarks/quality.py --curve-steps`` stores beside the runs, if any."""
    value = (curve or {}).get("zero_shot")
    score = value.get("ndcg@10") if isinstance(value, dict) else None
    return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None


def curve_figure(curve: dict[str, Any]) -> str:
    """Test nDCG@10 and the staleness of the negatives against training steps, one line per arm."""
    plt = _plt()
    means = curve_means(curve)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for arm, rows in means.items():
        x = [r["step"] for r in rows]
        y = np.array([r["ndcg@10"] for r in rows])
        line = left.plot(x, y, "o-", label=arm)[0]
        std = np.array([np.nan if r["ndcg@10_std"] is None else r["ndcg@10_std"] for r in rows])
        if not np.isnan(std).all():
            left.fill_between(x, y - std, y + std, color=line.get_color(), alpha=0.15, linewidth=0)
        right.plot(x, [np.nan if r["negative_mean_rank"] is None else r["negative_mean_rank"] for r in rows], "o-", label=arm)
    base = curve_zero_shot(curve)
    if base is not None:
        left.axhline(base, color="grey", linestyle="--", linewidth=1, label="base model")
        low, high = left.get_ylim()
        left.set_ylim(low, high + 0.6 * (high - low))  # room for the legend above the lines
    left.set(xlabel="optimiser step", ylabel="test nDCG@10 (mean, band ± std over seeds)", title="Quality along one run")
    right.set(
        xlabel="optimiser step", ylabel="mean rank of the negatives trained on", title="Staleness: rank under the current weights"
    )
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _png(fig)


def audit_figure(summary: dict[str, Any]) -> str | None:
    rounds = [r for r in summary["rounds"] if r.get("audit")]
    if not rounds:
        return None
    plt = _plt()
    x = [r["round"] for r in rounds]
    rate = np.array([r["audit"]["false_negative_rate"] for r in rounds])
    lo = np.array([r["audit"]["ci95"][0] for r in rounds])
    hi = np.array([r["audit"]["ci95"][1] for r in rounds])
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.errorbar(x, rate, yerr=[np.clip(rate - lo, 0, None), np.clip(hi - rate, 0, None)], fmt="o-", capsize=3)
    ax.set(xticks=x, xlabel="round", ylabel="false-negative rate (95% CI)")
    ax.set_title("Audit: hidden positives chosen as negatives", fontsize=10)
    ax.grid(alpha=0.3)
    return _png(fig)


def tuning_figure(summary: dict[str, Any]) -> str | None:
    """``--preset auto``: each setting's false-negative rate against its hardness, per round, the choice marked."""
    rounds = [r for r in summary["rounds"] if (r.get("tuning") or {}).get("table")]
    if not rounds:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for r in rounds:
        rows = [a for a in r["tuning"]["table"] if a.get("mean_rank") is not None]
        eligible = [a for a in rows if a["eligible"]]
        ax.scatter(
            [a["mean_rank"] for a in eligible],
            [a["estimated_false_negatives_per_negative"] for a in eligible],
            s=14, alpha=0.7, label=f"round {r['round']}",
        )  # fmt: skip
        chosen = next((a for a in rows if a["values"] == r["tuning"]["chosen"]), None)
        if chosen:
            ax.scatter([chosen["mean_rank"]], [chosen["estimated_false_negatives_per_negative"]], marker="*", s=160,
                       edgecolors="black", zorder=3, label=f"round {r['round']} chose: {chosen['name']}")  # fmt: skip
    ax.axhline(rounds[0]["tuning"]["max_false_negative_rate"], color="grey", linestyle="--", linewidth=1, label="target")
    ax.set_xscale("symlog")
    ax.set(xlabel="mean rank of the chosen negatives (left: harder)", ylabel="estimated false negatives per negative")
    ax.set_title("--preset auto: cleanness against hardness per setting", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(fig)


def fooling_figure(fooling: dict[str, Any]) -> str:
    plt = _plt()
    models, samplers = fooling["models"], fooling["negatives"]
    matrix = np.array(fooling["triplet_accuracy"], dtype=float)
    fig, ax = plt.subplots(figsize=(1.3 * len(samplers) + 2, 0.8 * len(models) + 1.5))
    image = ax.imshow(matrix, cmap="viridis", vmin=min(0.5, float(np.nanmin(matrix))), vmax=1.0)
    ax.set_xticks(range(len(samplers)), samplers)
    ax.set_yticks(range(len(models)), [f"trained: {m}" for m in models])
    ax.set_xlabel("negatives mined by")
    for i in range(len(models)):
        for j in range(len(samplers)):
            color = "white" if matrix[i, j] < 0.8 else "black"
            ax.text(j, i, f"{matrix[i, j]:.3f}", ha="center", va="center", color=color, fontsize=8)
    fig.colorbar(image, ax=ax, label="triplet accuracy")
    ax.set_title("Fooling matrix: who fools whom", fontsize=10)
    return _png(fig)


# --- the page ---------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 0.5em 0 1.5em; }
.note { color: #555; font-size: 0.9em; }
"""

CHECK_IMAGES = (
    "window.addEventListener('load', function () {"
    " var ok = Array.prototype.every.call(document.images, function (i) { return i.complete && i.naturalWidth > 0; });"
    " document.body.setAttribute('data-images-ok', ok ? 'true' : 'false'); });"
)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4f}" if np.isfinite(v) else "-"
        return html.escape("-" if v is None else str(v))

    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_data(run: dict[str, Any]) -> dict[str, Any]:
    """What the page shows, as JSON (numbers only, no images)."""
    summary = run["summary"]
    quality = [{"round": "base", **{f"{s}_{m}": v for s in ("dev", "test") for m, v in summary["base"].get(s, {}).items()}}]
    for r in summary["rounds"]:
        quality.append({"round": r["round"], **{f"{s}_{m}": v for s in ("dev", "test") for m, v in r.get(s, {}).items()}})
    distributions = {}
    for r, s in run["scores"].items():
        distributions[str(r)] = {
            name: {"mean": round(float(np.mean(v)), 4), "p50": round(float(np.median(v)), 4), "count": int(v.size)}
            for name, v in s.items()
            if v.size
        }
    return {
        "run": summary["run"],
        "best_round": summary["best_round"],
        "best_model": summary["best_model"],
        "stopped": summary["stopped"],
        "quality": quality,
        "hardness": [{"round": r["round"], **r["hardness"]} for r in summary["rounds"]],
        "staleness": [{"round": r["round"], **r["staleness"]} for r in summary["rounds"]],
        "audit": [{"round": r["round"], **r["audit"]} for r in summary["rounds"] if r.get("audit")],
        "tuning": [{"round": r["round"], **r["tuning"]} for r in summary["rounds"] if r.get("tuning")],
        "query_itself": [
            {"round": r["round"], **r["query_itself"]}
            for r in summary["rounds"]
            if (r.get("query_itself") or {}).get("dropped") or (r.get("query_itself") or {}).get("chosen")
        ],
        "distributions": distributions,
        "fooling": run["fooling"],
        "curve": curve_means(run["curve"]) if run.get("curve") else None,
        "curve_zero_shot": curve_zero_shot(run.get("curve")),
    }


def render_html(data: dict[str, Any], figures: dict[str, str]) -> str:
    def img(name: str, alt: str) -> str:
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{figures[name]}">' if name in figures else ""

    quality_rows = [
        [q["round"], q.get("dev_ndcg@10"), q.get("dev_recall@100"), q.get("test_ndcg@10"), q.get("test_recall@100")]
        for q in data["quality"]
    ]
    key = next((k for k in (data["staleness"][0] if data["staleness"] else {}) if k.startswith("in_top_")), "in_top_100")
    measure_rows = [
        [h["round"], h.get("mean_rank"), h.get("mean_score"), h.get("mean_margin"), s.get("mean_rank"), s.get(key)]
        for h, s in zip(data["hardness"], data["staleness"])
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<link rel="icon" href="data:,">',  # no favicon request, hence no console error for it
        f"<title>hardneg evolve report: {html.escape(str(data['run']))}</title><style>{STYLE}</style></head><body>",
        f"<h1>Co-evolution run</h1><p class='note'>{html.escape(str(data['run']))} — best round "
        f"{html.escape(str(data['best_round']))} "
        f"({html.escape(str(data['best_model']))}); stopped: {html.escape(str(data['stopped']))}</p>",
        "<h2>Quality per round</h2>",
        _table(["round", "dev nDCG@10", "dev Recall@100", "test nDCG@10", "test Recall@100"], quality_rows),
        img("quality", "quality per round"),
        "<h2>Positive and negative scores</h2><p class='note'>Cosine scores under each round's miner.</p>",
        img("distributions", "score distributions per round"),
        "<h2>Hardness and staleness</h2>",
        "<p class='note'>Hardness: the chosen negatives under the model that mined them. Staleness: the same negatives "
        "under the model trained on them, which mines the next round.</p>",
        _table(
            ["round", "mean rank (miner)", "mean score", "mean margin to positive", "mean rank (trained)", f"{key} (trained)"],
            measure_rows,
        ),
        img("hardness", "hardness and staleness"),
    ]
    if data["audit"]:
        parts += [
            "<h2>False-negative audit</h2>",
            _table(
                ["round", "rate", "95% CI", "hidden positives"],
                [
                    [a["round"], a["false_negative_rate"], f"{a['ci95'][0]:.3f}-{a['ci95'][1]:.3f}", a["hidden_positives"]]
                    for a in data["audit"]
                ],
            ),
            img("audit", "false-negative audit rate"),
        ]
    if data.get("query_itself"):
        parts += [
            "<h2>The query itself among the documents</h2><p class='note'>The corpus holds queries: each round's "
            "candidates that were the query itself (its id or text), dropped, or chosen where that filter was off.</p>",
            _table(
                ["round", "dropped", "chosen as negatives"],
                [[q["round"], q["dropped"], q["chosen"]] for q in data["query_itself"]],
            ),
        ]
    if data.get("tuning"):
        parts += [
            "<h2>Filters chosen on the data (--preset auto)</h2>",
            _table(
                ["round", "chosen setting", "why", "settings compared"],
                [[t["round"], t["chosen_name"], t["reason"], len(t.get("table") or [])] for t in data["tuning"]],
            ),
            img("tuning", "false-negative rate against hardness per setting"),
        ]
    if data["fooling"]:
        f = data["fooling"]
        parts += [
            "<h2>Fooling matrix</h2>",
            f"<p class='note'>{html.escape(str(f.get('description', '')))}</p>",
            _table(
                ["trained with \\ negatives from", *f["negatives"]],
                [[m, *row] for m, row in zip(f["models"], f["triplet_accuracy"])],
            ),
            img("fooling", "fooling matrix"),
        ]
    if data.get("curve"):
        parts += [
            "<h2>Quality and staleness along training</h2>",
            "<p class='note'>Test nDCG@10 and the mean rank of the negatives being trained on under the current weights, "
            "probed along one run per arm and seed (benchmarks/quality.py --curve-steps)."
            + (
                f" The base model, untrained, scores {data['curve_zero_shot']:.4f} (the dashed line)."
                if data.get("curve_zero_shot") is not None
                else ""
            )
            + "</p>",
            _table(
                ["arm", "step", "seeds", "test nDCG@10", "std", "negatives' mean rank", "negatives in top k"],
                [
                    [arm, r["step"], r["seeds"], r["ndcg@10"], r["ndcg@10_std"], r["negative_mean_rank"], r["negatives_in_top_k"]]
                    for arm, rows in data["curve"].items()
                    for r in rows
                ],
            ),
            img("curve", "quality and staleness against training steps"),
        ]
    parts.append(f"<script>{CHECK_IMAGES}</script></body></html>")
    return "\n".join(parts)


def write_report(run_dir: str | Path, *, out: str | Path | None = None) -> ReportResult:
    """Write ``report.html`` and ``report.json`` for a run folder (into ``out`` when given)."""
    from hardneg.outputs import OutputGuard

    run_dir = Path(run_dir)
    run = load_run(run_dir)
    target = Path(out) if out else run_dir
    # Only report.html and report.json are written: a report.html without hardneg's report.json
    # beside it is someone else's page and is refused; an unwritable target is refused before plotting.
    OutputGuard(target / "report.html", "report", marker=target / "report.json", claim=False).check()
    figures = {"quality": quality_figure(run["summary"]), "hardness": hardness_figure(run["summary"])}
    if run["scores"]:
        figures["distributions"] = distributions_figure(run["summary"], run["scores"])
    for name, figure in (("audit", audit_figure), ("tuning", tuning_figure)):
        png = figure(run["summary"])  # None when no round measured it
        if png:
            figures[name] = png
    if run["fooling"]:
        figures["fooling"] = fooling_figure(run["fooling"])
    if run.get("curve"):
        figures["curve"] = curve_figure(run["curve"])
    data = report_data(run)
    html_path, json_path = target / "report.html", target / "report.json"
    with atomic_path(html_path) as tmp:
        tmp.write_text(render_html(data, figures), encoding="utf-8")
    write_json_atomic(json_path, data)
    return ReportResult(html_path, json_path, sorted(figures))
