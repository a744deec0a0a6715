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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
MARKER = re.compile(r"^<!-- results-table: ([\w-]+) -->$", re.M)
DATASETS = ("scifact", "nfcorpus")


def quality(dataset: str) -> dict:
    """``quality_<dataset>.json`` with ``--preset auto``'s own run (``quality_<dataset>_auto.json``) merged in:
    ``table`` (arm -> mean, std) and ``runs`` (one per arm and seed)."""
    main = json.loads((RESULTS / f"quality_{dataset}.json").read_text(encoding="utf-8"))
    auto = json.loads((RESULTS / f"quality_{dataset}_auto.json").read_text(encoding="utf-8"))
    return {"table": {**main["table"], **auto["table"]}, "runs": main["runs"] + auto["runs"]}


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
        "**recommended** (`evolve-once+masked-n3`)",
        "`nv-retriever` negatives, known positives masked, kept only if better than the base model on dev",
        "evolve-once+masked-n3",
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
        cells = [score(files[ds], key, bold=bold) for ds in DATASETS]
        lines.append(f"| {label} | {what} | {' | '.join(cells)} |")
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


TABLES = {"recipes": recipes, "auto-against-fixed": auto_against_fixed}
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
