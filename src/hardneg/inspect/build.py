"""Building the inspect page of a candidates file (see :mod:`hardneg.inspect`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardneg.candidates_file import mined_data, open_candidates
from hardneg.data import RetrievalData
from hardneg.errors import ConfigError
from hardneg.formats import FormatFile
from hardneg.inspect import plots
from hardneg.inspect.page import render_page
from hardneg.inspect.records import SUSPECT_RATIO, QueryView, query_view, sample_queries
from hardneg.io import atomic_path, write_json_atomic
from hardneg.options import check_number
from hardneg.outputs import OutputGuard, build_manifest, manifest_of, manifest_path_for

DEFAULT_SAMPLE = 500
"""Queries a written page holds at most; ``--serve`` has no such limit."""
SUMMARY_KEYS = ("queries", "pairs", "documents", "rows", "negatives_per_query", "queries_short", "score_space")


@dataclass
class InspectResult:
    """What :func:`inspect_candidates` wrote and found."""

    html: Path
    manifest: Path
    summary: dict[str, Any]
    views: list[QueryView] = field(default_factory=list, repr=False)
    """Every query's view, in file order (the page holds ``summary["queries_on_page"]`` of them)."""


@dataclass
class Overview:
    """What the header shows: counts over every row of the file, and the plots."""

    verdicts: Counter = field(default_factory=Counter)
    positive_scores: list[float] = field(default_factory=list)
    negative_scores: list[float] = field(default_factory=list)
    negative_ranks: list[int] = field(default_factory=list)
    suspect_queries: int = 0

    def add(self, view: QueryView) -> None:
        self.positive_scores += [p["score"] for p in view.positives if p["score"] is not None]
        for c in view.candidates:
            self.verdicts[c["verdict"]] += 1
            if c["verdict"] == "chosen":
                self.negative_ranks.append(c["rank"])
                if c["score"] is not None:
                    self.negative_scores.append(c["score"])
        for c in view.excluded:
            self.verdicts[c["verdict"]] += 1
        self.suspect_queries += bool(view.flags)

    def figures(self) -> list[str]:
        return [
            plots.score_histogram(self.positive_scores, self.negative_scores),
            plots.verdict_bars(dict(self.verdicts)),
            plots.rank_histogram(self.negative_ranks),
        ]


REFERENCE_WORDS = {"max": "best positive", "mean": "mean positive", "min": "weakest positive"}


def mined_reference(manifest: dict[str, Any] | None) -> str:
    """The positive score the run's margin filters compared candidates with (files mined before the
    choice existed were mined against the weakest positive)."""
    params = (manifest or {}).get("parameters") or {}
    if not params:
        return "max"
    return str(params.get("positive_reference") or "min")


@dataclass
class MinedFile:
    """A candidates file opened for its page: its rows, its manifest, the data it was mined from, and the
    positive score its margin filters compared candidates with."""

    source: FormatFile
    manifest: dict[str, Any]
    data: RetrievalData
    reference: str

    @classmethod
    def open(cls, path: Path, corpus: str | None) -> MinedFile:
        source = open_candidates(path)
        manifest = manifest_of(path) or {}
        data = mined_data(path, split=manifest.get("parameters", {}).get("split", "train"), corpus=corpus)
        return cls(source, manifest, data, mined_reference(manifest))


def read_views(source: FormatFile, suspect_ratio: float, reference: str = "max") -> tuple[list[QueryView], Overview]:
    """Every row's :class:`QueryView` and the overview of them all."""
    overview = Overview()
    views = []
    for i, record in enumerate(source.rows()):
        view = query_view(record, where=source.where(i), path=str(source.path), suspect_ratio=suspect_ratio, reference=reference)
        overview.add(view)
        views.append(view)
    return views, overview


def header_facts(manifest: dict[str, Any], overview: Overview, total: int, shown: int) -> list[tuple[str, str]]:
    """(label, value) pairs of the page header: the mining run's parameters and summary, and the page's own counts."""
    params, summary = manifest.get("parameters", {}), manifest.get("summary", {})
    facts = [(k, str(params[k])) for k in ("data", "split", "preset", "sampler", "selection", "model", "seed") if params.get(k)]
    facts += [
        (k.replace("_", " "), f"{summary[k]:,}" if isinstance(summary[k], int) else str(summary[k]))
        for k in SUMMARY_KEYS
        if k in summary
    ]
    tuning = summary.get("tuning")
    if tuning:  # --preset auto: the setting the audit chose on this data, and why
        facts.append(("filters chosen (auto)", f"{tuning['chosen_name']}: {tuning['reason']}"))
    facts.append(("queries on this page", f"{shown:,} of {total:,}"))
    facts.append(("suspicious queries", f"{overview.suspect_queries:,}"))
    return facts


def check_options(*, suspect_ratio: float, sample: int | None = None, seed: int = 0) -> None:
    """Raise a ConfigError for an option of ``hardneg inspect`` no page can be built with."""
    for name, value in (("sample", sample), ("seed", seed), ("suspect_ratio", suspect_ratio)):
        check_number(name, value)
    if sample is not None and sample < 1:
        raise ConfigError(f"sample must be >= 1, got {sample}")
    if suspect_ratio <= 0:
        raise ConfigError(f"suspect_ratio must be > 0, got {suspect_ratio}")


def inspect_candidates(
    candidates: str | Path,
    out: str | Path | None = None,
    *,
    corpus: str | None = None,
    sample: int | None = DEFAULT_SAMPLE,
    seed: int = 42,
    suspect_ratio: float = SUSPECT_RATIO,
) -> InspectResult:
    """Write the inspect page of ``candidates`` to ``out`` (default: ``<candidates>.html``) and its manifest.

    Args:
        candidates: a file of ``hardneg mine --output-format candidates``.
        out: the HTML page; written atomically, with ``<out>.manifest.json`` beside it.
        corpus: the data the file was mined from, when its manifest is missing.
        sample: most queries on the page (``None``: all); the most suspicious half always among them.
        seed: the draw of the rest of the sample.
        suspect_ratio: flag candidates scored at least this share of the query's reference positive score (the
            one the run's margin filters used: ``positive_reference``, by default the best-matching positive).
    """
    check_options(sample=sample, seed=seed, suspect_ratio=suspect_ratio)
    path = Path(candidates)
    out_path = Path(out) if out is not None else path.with_name(path.name + ".html")
    inputs = [path, *([corpus] if corpus and Path(corpus).exists() else [])]
    with OutputGuard(out_path, "inspect", inputs=inputs):  # never a page over a file hardneg did not write
        return _write_page(path, out_path, corpus=corpus, sample=sample, seed=seed, suspect_ratio=suspect_ratio)


def _write_page(
    path: Path, out_path: Path, *, corpus: str | None, sample: int | None, seed: int, suspect_ratio: float
) -> InspectResult:
    """The work of :func:`inspect_candidates`, once its output is guarded."""
    mined = MinedFile.open(path, corpus)
    manifest, data, reference = mined.manifest, mined.data, mined.reference
    views, overview = read_views(mined.source, suspect_ratio, reference)
    chosen = sample_queries(views, sample, seed)
    docs_needed = set().union(*(views[i].doc_ids() for i in chosen)) if chosen else set()
    texts = dict(zip(data.corpus_ids, data.corpus_texts))
    docs = {d: texts[d] for d in sorted(docs_needed) if d in texts}
    note = (
        f"This page holds {len(chosen):,} of {len(views):,} queries"
        + (
            f" (limit {sample:,}: the most suspicious half, then a random draw with seed {seed})"
            if len(chosen) < len(views)
            else ""
        )
        + f". ⚑ marks a candidate scored at least {suspect_ratio:g} × the query's "
        + f"{REFERENCE_WORDS.get(reference, reference)} score, judged relevant by a teacher, "
        "or repeating a positive's text. Most suspicious: the highest candidate-to-positive score ratio, +1 when a teacher "
        "flagged a candidate, +1 for a near duplicate of a positive."
    )
    title = f"hardneg inspect: {path.name}"
    html_text = render_page(
        title=title,
        summary=header_facts(manifest, overview, len(views), len(chosen)),
        plots=overview.figures(),
        queries=[views[i].to_dict() for i in chosen],
        docs=docs,
        note=note,
    )
    with atomic_path(out_path) as tmp:
        tmp.write_text(html_text, encoding="utf-8")
    summary = {
        "queries": len(views),
        "queries_on_page": len(chosen),
        "suspicious_queries": overview.suspect_queries,
        "suspect_candidates": sum(c["suspect"] for v in views for c in v.candidates + v.excluded),
        "verdicts": dict(overview.verdicts),
        "documents_on_page": len(docs),
        "bytes": len(html_text.encode("utf-8")),
    }
    manifest_path = manifest_path_for(out_path)
    write_json_atomic(
        manifest_path,
        build_manifest(
            command="inspect",
            parameters={
                "candidates": str(path),
                "corpus": corpus,
                "sample": sample,
                "seed": seed,
                "suspect_ratio": suspect_ratio,
            },
            inputs={"candidates": str(path), **data.inputs},
            model=None,
            outputs={"html": str(out_path)},
            summary=summary,
        ),
    )
    return InspectResult(out_path, manifest_path, summary, views)
