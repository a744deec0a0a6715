"""The false-negative audit: how often does a mining configuration pick a relevant document as a negative?

For every query with two or more positives one positive (chosen by the seed) is hidden: it stays in the
corpus, unlabelled, like a real false negative. The miner runs with the configuration under test and each
hidden positive's fate is recorded; the rate has a Wilson score 95 % interval (Wilson 1927), and the
hardness of the chosen negatives is measured under the model being trained. The fates, the columns and
what the measure can and cannot say: ``docs/false_negatives.md`` (Measuring).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hardneg.data.dataset import RetrievalData, positives_matrix
from hardneg.data.hidden import HiddenPositives, hidden_position, hide_positives, without_hidden  # noqa: F401  (the audit's own terms)
from hardneg.diagnostics.fates import Z95, FateRecorder, wilson_interval  # noqa: F401  (the audit's own terms)
from hardneg.errors import DataError
from hardneg.mining.config import AUTO, MineConfig, make_config
from hardneg.options import EncodingOptions, values_of


@dataclass
class AuditResult:
    """What :func:`audit` measured; :meth:`to_dict` is what ``hardneg audit --json`` prints."""

    preset: str | None
    seed: int
    hidden_positives: int
    false_negatives: int
    false_negative_rate: float | None
    ci95: tuple[float, float]
    stopped_by: dict[str, int]
    not_reached: dict[str, int]
    not_selected: int
    negatives: int
    mean_negative_rank: float | None
    median_negative_rank: float | None
    mean_negative_score: float | None
    hardness_model: str | None
    score_space: str
    queries_short: int
    seconds: float
    query_itself: dict[str, int] = field(default_factory=dict)
    """Candidates that were the query itself: ``dropped`` by the filter, ``chosen`` as negatives (only with the
    filter off). Not a false-negative rate: the query is no labelled positive, and never a useful negative."""
    candidates_dropped: dict[str, int] = field(default_factory=dict)
    """Every candidate each rule dropped for the audited queries, hidden positive or not: how aggressive it is."""
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["ci95"] = list(self.ci95)
        return out

    def format_table(self) -> str:
        lo, hi = self.ci95
        rate = "-" if self.false_negative_rate is None else f"{self.false_negative_rate:.4f}"
        lines = [
            "",
            f"hardneg audit: preset {self.preset}, seed {self.seed}, "
            f"{self.hidden_positives} hidden positives (one per query with >= 2 positives)",
            f"  false-negative rate        {rate}  ({self.false_negatives}/{self.hidden_positives}; 95% CI {lo:.4f}-{hi:.4f})",
            "  where the hidden positives went",
            f"    {'selected as negatives':<34}{self.false_negatives:>6}",
        ]
        for name, count in self.stopped_by.items():
            lines.append(f"    {'stopped by ' + name:<34}{count:>6}")
        for name, count in self.not_reached.items():
            lines.append(f"    {name.replace('_', ' '):<34}{count:>6}")
        lines.append(f"    {'kept, not selected':<34}{self.not_selected:>6}")
        if self.query_itself.get("dropped") or self.query_itself.get("chosen"):
            lines.append(
                f"  the query itself among the candidates: {self.query_itself['chosen']} chosen as negatives, "
                f"{self.query_itself['dropped']} dropped (the corpus holds the queries)"
            )
        if self.mean_negative_rank is not None:
            lines.append(
                f"  chosen negatives {self.negatives}: mean rank {self.mean_negative_rank:.1f} "
                f"(median {self.median_negative_rank:.0f}), mean score {self.mean_negative_score:.4f} "
                f"under the trained model; filters compared {self.score_space} scores"
            )
        return "\n".join(lines)


def audit(
    data: str | Path = "demo", *, preset: str | None = None, teacher_scorer: Any = None, hardness: bool = True, **params: Any
) -> AuditResult:
    """Run the false-negative audit of a mining configuration (same parameters as :func:`hardneg.mining.run`).

    ``teacher_scorer``: an already built teacher for the audited queries (``hide_positives(data, seed).data``),
    to share its scores between audits; ``params["teacher"]`` must then name it. ``hardness=False``
    skips measuring the chosen negatives (it encodes the whole corpus with ``config.model``).

    Example:
        >>> result = audit("demo", preset="nv-retriever", seed=1)
        >>> result.false_negative_rate, result.hidden_positives
    """
    params.pop("out", None)
    config = make_config(preset, data=str(data), **params)
    loaded = None
    if config.preset == AUTO:  # the audit of the setting the tuner chooses on this data
        from hardneg.drivers.tune import resolve

        loaded = config.load_data(absent_documents="judge").in_corpus()
        config, _ = resolve(config, loaded, given=params, teacher=teacher_scorer)
    return audit_config(config, loaded, teacher=teacher_scorer, hardness=hardness)


def audit_config(
    config: MineConfig, data: RetrievalData | None = None, *, teacher: Any = None, hardness: bool = True
) -> AuditResult:
    """The audit of ``config`` (its ``out``, ``output_format`` and ``audit`` are ignored)."""
    from hardneg.mining.run import Miner

    start = time.perf_counter()
    c = config
    if data is None:
        # a judged document absent from the corpus can never be mined: warned about, and left out
        data = c.load_data(absent_documents="judge").in_corpus()
    hidden = hide_positives(data, c.seed)
    if len(hidden.hidden) == 0:
        raise DataError(f"no query in {c.data!r} (split {c.split!r}) has two or more positives; the audit hides one of them")
    inner = dataclasses.replace(c, out=None, audit=False, output_format="flagembedding", show_progress=False)
    miner = Miner(inner, teacher=teacher, log_summary=False)
    recorder = FateRecorder(hidden.hidden)
    miner.observers.append(recorder)
    mined = miner.run(hidden.data)

    fates = [recorder.fates.get(q, "not_retrieved") for q in range(len(hidden.hidden))]
    filter_names = miner.batch_miner.filter_names
    stopped_by = {"known_positive_text": fates.count("known_positive_text")}
    stopped_by.update({name: fates.count(name) for name in filter_names})
    selected = fates.count("selected")
    n = len(fates)
    measured = negative_hardness(inner, hidden, recorder.negatives if hardness else {})
    measured["count"] = int(sum(len(v) for v in recorder.negatives.values()))
    return AuditResult(
        preset=c.preset,
        seed=c.seed,
        hidden_positives=n,
        false_negatives=selected,
        false_negative_rate=selected / n,
        ci95=wilson_interval(selected, n),
        stopped_by=stopped_by,
        not_reached={"not_retrieved": fates.count("not_retrieved"), "outside_window": fates.count("outside_window")},
        not_selected=fates.count("not_selected"),
        negatives=measured["count"],
        mean_negative_rank=measured["mean_rank"],
        median_negative_rank=measured["median_rank"],
        mean_negative_score=measured["mean_score"],
        hardness_model=measured["model"],
        score_space=mined.summary.get("score_space", ""),
        queries_short=mined.summary["queries_short"],
        seconds=round(time.perf_counter() - start, 3),
        query_itself={
            "dropped": mined.summary.get("dropped", {}).get("query_itself", 0),
            "chosen": mined.summary.get("negatives_query_itself", 0),
        },
        candidates_dropped=mined.summary.get("dropped", {}),
        parameters=_changed_parameters(c),
    )


def negative_hardness(config: MineConfig, hidden: HiddenPositives, negatives: dict[int, np.ndarray]) -> dict[str, Any]:
    """Mean cosine and rank of the chosen negatives under ``config.model``, whatever the sampler was.

    The rank of a negative is the number of documents that are not positives of the query (the
    hidden one counts as a positive here) and score higher than it.
    """
    queries = [q for q in sorted(negatives) if len(negatives[q])]
    empty = {"count": 0, "mean_rank": None, "median_rank": None, "mean_score": None, "model": None}
    if not queries:
        return empty
    from hardneg.candidates.retriever import DenseRetriever
    from hardneg.diagnostics.hardness import negative_ranks

    options = EncodingOptions(**{**values_of(config, EncodingOptions), "show_progress": False})
    retriever = DenseRetriever.load(options, shard_size=config.shard_size)
    data = hidden.data
    q_emb = retriever.encode_queries([data.query_texts[q] for q in queries])
    docs = retriever.encode_documents(data.corpus_texts)
    padded = positives_matrix(negatives, queries)  # the same padding as the positives'
    # the hidden positive counts as a positive here: it is one, only unlabelled for the miner
    ranks, scores = negative_ranks(q_emb, docs, padded, [hidden.all_positives[q] for q in queries])
    found = np.isfinite(ranks)
    return {
        "count": int(found.sum()),
        "mean_rank": round(float(ranks[found].mean()), 2),
        "median_rank": float(np.median(ranks[found])),
        "mean_score": round(float(scores[found].mean()), 4),
        "model": retriever.info["model"],
    }


def _changed_parameters(c: MineConfig) -> dict[str, Any]:
    """The parameters that differ from the dataclass defaults (what defines the audited configuration)."""
    defaults = {f.name: f.default for f in dataclasses.fields(MineConfig)}
    skip = {"out", "output_format", "audit", "show_progress", "data"}
    return {k: v for k, v in c.to_dict().items() if k not in skip and v != defaults.get(k)}
