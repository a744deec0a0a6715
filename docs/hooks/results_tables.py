"""The results tables, rendered from ``benchmarks/results/*.json`` at build time, so they cannot go stale.

A page asks for a table with a marker on a line of its own, ``<!-- results-table: NAME -->``; MkDocs runs
:func:`on_page_markdown` (``hooks:`` in ``mkdocs.yml``), which replaces each marker with
:func:`render` ``(NAME)``. The tables are declared here, one function each in :data:`TABLES`, and read
nothing but the result files. The tests call :func:`render` directly, without MkDocs
(``tests/test_docs.py``), and check the prose numbers a page quotes beside a results command against
the files.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
MARKER = re.compile(r"^<!-- results-table: ([\w-]+) -->$", re.M)
DATASETS = ("scifact", "nfcorpus")


def quality(dataset: str, auto_file: str = "auto") -> dict:
    """``quality_<dataset>.json`` with ``--preset auto``'s own run (``quality_<dataset>_<auto_file>.json``) merged in:
    ``table`` (arm -> mean, std) and ``runs`` (one per arm and seed)."""
    main = json.loads((RESULTS / f"quality_{dataset}.json").read_text(encoding="utf-8"))
    auto = json.loads((RESULTS / f"quality_{dataset}_{auto_file}.json").read_text(encoding="utf-8"))
    table = {arm: row for arm, row in auto["table"].items() if arm.startswith("auto")}  # its top and default are main's
    runs = [r for r in auto["runs"] if r["arm"].startswith("auto")]
    return {"table": {**main["table"], **table}, "runs": main["runs"] + runs, "bar": main["bar"]}


def score(results: dict, arm: str, *, seeds: bool = True, bold: bool = False) -> str:
    """One cell: ``mean ± std`` (``mean`` alone for one run), the seeds' values in brackets; an arm whose dev
    check kept the base model in every seed says so instead of listing identical values."""
    row = results["table"][arm]
    text = f"{row['mean']:.4f}" if math.isnan(row["std"]) else f"{row['mean']:.4f} ± {row['std']:.4f}"
    if bold:
        text = f"**{text}**"
    runs = [r for r in results["runs"] if r["arm"] == arm]
    if seeds and len(runs) > 1:
        if all(r.get("best_round") == -1 for r in runs):
            return f"{text}: the base model, kept in every seed"
        text += " (" + ", ".join(f"{r['ndcg@10']:.4f}" for r in sorted(runs, key=lambda r: r["seed"])) + ")"
    return text


RECIPES = [
    # (label, what it trains on, key in the result files, bold)
    ("zero-shot (`zero-shot`)", "nothing: the base model", "zero-shot", False),
    (
        "in-batch (`in-batch`)",
        "(query, positive) pairs; the other rows' documents are the negatives",
        "in-batch",
        False,
    ),
    ("sentence-transformers' `top` (`top-n3`)", "the dense top 3 non-positives", "top-n3", False),
    ("`nv-retriever` (`nv-retriever-n3`)", "the top 3 below 95 % of the positive's score", "nv-retriever-n3", False),
    ("`default` (`default-n3`)", "3 drawn from the top 50 below 95 % of the positive's score", "default-n3", False),
    (
        "**recommended**",
        "`default` negatives, conflict-free batches, kept only if better than the base model on dev "
        "([how it was chosen](#how-a-recipe-is-chosen-the-rules-written-before-the-5-seed-runs))",
        None,  # the result files' recommended arm
        True,
    ),
    (
        "`--preset auto` (`auto-n3`)",
        "the filters the audit chose on each seed's training data "
        "([below](#self-tuned-filters-preset-auto-against-the-fixed-presets))",
        "auto-n3",
        False,
    ),
]


def recipes() -> str:
    """The results page's main table: test nDCG@10 of every recipe on both data sets, with each seed."""
    files = {ds: quality(ds) for ds in DATASETS}
    lines = ["| arm (key in the result file) | what it trains on | SciFact | NFCorpus |", "| --- | --- | --- | --- |"]
    for label, what, key, bold in RECIPES:
        keys = {ds: key or files[ds]["bar"]["recommended"] for ds in DATASETS}
        cells = [score(files[ds], keys[ds], bold=bold) for ds in DATASETS]
        lines.append(
            f"| {label} (`{keys['scifact']}`) | {what} | {' | '.join(cells)} |"
            if key is None
            else f"| {label} | {what} | {' | '.join(cells)} |"
        )
    return "\n".join(lines)


def auto_against_fixed() -> str:
    """``--preset auto`` against the best fixed preset and ``top``, per data set (its choices are prose)."""
    files = {ds: quality(ds) for ds in DATASETS}
    best = {}
    for ds in DATASETS:  # the best of the fixed presets, by mean
        fixed = ("top-n3", "nv-retriever-n3", "default-n3")
        best[ds] = max(fixed, key=lambda arm: files[ds]["table"][arm]["mean"])
    lines = ["| | SciFact | NFCorpus |", "| --- | --- | --- |"]
    lines.append("| test nDCG@10 of `auto` | " + " | ".join(score(files[ds], "auto-n3", seeds=False) for ds in DATASETS) + " |")
    lines.append(
        "| best fixed preset | "
        + " | ".join(f"`{best[ds].removesuffix('-n3')}` {score(files[ds], best[ds], seeds=False)}" for ds in DATASETS)
        + " |"
    )
    lines.append(
        "| sentence-transformers' `top` | " + " | ".join(score(files[ds], "top-n3", seeds=False) for ds in DATASETS) + " |"
    )
    return "\n".join(lines)


def paired_from_runs(results: dict, arm: str, baseline: str) -> str:
    """``arm`` minus ``baseline`` over the seeds both ran, as :func:`points` writes it."""
    by_seed = {name: {r["seed"]: r["ndcg@10"] for r in results["runs"] if r["arm"] == name} for name in (arm, baseline)}
    seeds = sorted(set(by_seed[arm]) & set(by_seed[baseline]))
    if not seeds:
        return "not run"
    differences = [by_seed[arm][s] - by_seed[baseline][s] for s in seeds]
    mean = statistics.mean(differences)
    se = statistics.stdev(differences) / math.sqrt(len(differences)) if len(differences) > 1 else math.nan
    return points({"differences": differences, "mean": mean, "se": se})


AUTO_RULES = [
    # (label, the result file's suffix)
    ("point estimate (`auto` today)", "auto"),
    ("upper end of the interval (rule A)", "auto_upper_end"),
]


def auto_paired() -> str:
    """``--preset auto`` under each rule measured, against ``default`` and ``top``, seed by seed: the decisions
    its rule feeds."""
    lines = ["| `auto-n3` chosen by | minus | SciFact, points | NFCorpus, points |", "| --- | --- | --- | --- |"]
    for rule, suffix in AUTO_RULES:
        files = {ds: quality(ds, suffix) for ds in DATASETS}
        for label, baseline in (("`default-n3`", "default-n3"), ("`top-n3`", "top-n3")):
            cells = " | ".join(paired_from_runs(files[ds], "auto-n3", baseline) for ds in DATASETS)
            lines.append(f"| {rule} | {label} | {cells} |")
    return "\n".join(lines)


PAIRED = [
    # (label, key in the result files; None: the file's recommended arm)
    ("**recommended**", None),
    ("zero-shot, the base model", "zero-shot"),
    ("in-batch negatives only", "in-batch"),
    ("`nv-retriever`", "nv-retriever-n3"),
    ("`default`, plain batches", "default-n3"),
    ("`default`, known positives masked", "default+masked-n3"),
    ("`default`, conflict-free batches", "default+conflict-free-n3"),
    ("`default`, both", "default+masked+conflict-free-n3"),
]


def paired_cell(results: dict, arm: str) -> str:
    """``arm`` minus ``top-n3`` seed by seed, in nDCG@10 points: mean ± SE, then each seed's difference."""
    pair = results["paired"].get(arm, {}).get("vs top-n3")
    return points(pair) if pair else "not run"


def points(pair: dict) -> str:
    """A paired difference (``differences``, ``mean``, ``se`` in nDCG@10, as benchmarks/quality.py stores them) in
    points: mean ± SE, then each seed's difference."""
    se = "" if math.isnan(pair["se"]) else f" ± {100 * pair['se']:.2f}"
    seeds = ", ".join(f"{100 * d:+.2f}" for d in pair["differences"])
    return f"{100 * pair['mean']:+.2f}{se} ({seeds})"


def paired() -> str:
    """The recipe and its rivals against sentence-transformers' ``top``, paired seed by seed, on both data sets."""
    files = {ds: json.loads((RESULTS / f"quality_{ds}.json").read_text(encoding="utf-8")) for ds in DATASETS}
    lines = [
        "| arm (key in the result file) | SciFact nDCG@10 | − `top-n3`, points | NFCorpus nDCG@10 | − `top-n3`, points |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, key in PAIRED:
        keys = {ds: key or files[ds]["bar"]["recommended"] for ds in DATASETS}
        name = f"{label} (`{keys['scifact']}`)"
        cells = []
        for ds in DATASETS:
            row = files[ds]["table"].get(keys[ds])
            cells += [score(files[ds], keys[ds], seeds=False) if row else "not run", paired_cell(files[ds], keys[ds])]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    top = " | ".join(f"{score(files[ds], 'top-n3', seeds=False)} | 0" for ds in DATASETS)
    lines.append(f"| sentence-transformers' `top` (`top-n3`) | {top} |")
    return "\n".join(lines)


def bar() -> str:
    """What the recommended arm's bar says on each data set (benchmarks/quality.py's ``bar``)."""
    lines = ["| | SciFact | NFCorpus |", "| --- | --- | --- |"]
    files = {ds: json.loads((RESULTS / f"quality_{ds}.json").read_text(encoding="utf-8"))["bar"] for ds in DATASETS}
    lines.append("| recommended arm | " + " | ".join(f"`{files[ds]['recommended']}`" for ds in DATASETS) + " |")
    lines.append(
        "| seeds checked | " + " | ".join(("yes" if files[ds]["checked"] else str(files[ds]["why"])) for ds in DATASETS) + " |"
    )
    lines.append(
        "| above `top-n3` in every seed | "
        + " | ".join("yes" if files[ds]["over_baseline_in_every_seed"] else "**no**" for ds in DATASETS)
        + " |"
    )
    lines.append(
        "| arms ahead by more than one SE | "
        + " | ".join(", ".join(f"`{a}`" for a in files[ds]["below_by_more_than_one_se"]) or "none" for ds in DATASETS)
        + " |"
    )
    lines.append("| the bar holds | " + " | ".join("yes" if files[ds]["holds"] else "**no**" for ds in DATASETS) + " |")
    return "\n".join(lines)


TABLES = {
    "recipes": recipes,
    "auto-against-fixed": auto_against_fixed,
    "auto-paired": auto_paired,
    "paired": paired,
    "bar": bar,
}
"""Every table a page may ask for, by the name its marker gives."""


def render(name: str) -> str:
    if name not in TABLES:
        raise KeyError(f"no results table {name!r}; known: {', '.join(TABLES)}")
    return TABLES[name]()


def expand(markdown: str) -> str:
    """``markdown`` with every marker replaced by its table."""
    return MARKER.sub(lambda match: render(match.group(1)), markdown)


def on_page_markdown(markdown: str, page, config, files) -> str:
    return expand(markdown)
