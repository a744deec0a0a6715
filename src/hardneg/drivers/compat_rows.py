"""The drop-in's result: hardneg's rows as the ``datasets.Dataset`` sentence-transformers returns.

Same column names and, column for column, the same types (``label`` int64, scores float64: the
types ``Dataset.from_dict`` gives Python ints and floats), so the two libraries' rows concatenate.
The run's summary travels with the rows as JSON in ``info.description`` (:func:`mining_summary`
reads it back), and is printed with ``verbose`` (on stdout, where the peer prints its table). Queries left
short are printed with ``verbose`` and logged as a warning without it; a run with no rows returns an empty
``Dataset`` with the columns, as the peer does, and a warning that names the filters and what each dropped.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from hardneg.formats import PEER_TYPE_NAMES, arrow_type, format_named

if TYPE_CHECKING:
    from datasets import Dataset

    from hardneg.mining.run import MineResult

logger = logging.getLogger(__name__)

PEER_TYPES = {name: arrow_type(kind) for name, kind in PEER_TYPE_NAMES.items()}


def to_peer_dataset(result: MineResult, renames: dict[str, str], *, verbose: bool) -> Dataset:
    """The rows of ``result`` with the caller's column names, the peer's types and the summary attached."""
    summary = result.summary
    if summary["rows"] == 0:
        logger.warning("%s", empty_run_message(summary, result.config))
    from datasets import Dataset, DatasetInfo
    from datasets.fingerprint import generate_random_fingerprint

    table = result.table
    if table is None:  # a run given ``out`` (a hardneg extra): its rows read back by their format's reader
        table = format_named(result.config.output_format).read(result.out, "mined rows").table()
    table = with_peer_types(table.rename_columns([renames.get(name, name) for name in table.column_names]))
    # A fingerprint given, as datasets gives one where it cannot hash: hashing the table and the summary would
    # cost a warm call a fifth of its time, and an in-memory dataset caches nothing under it.
    info = DatasetInfo(description=json.dumps(summary, default=str))
    mined = Dataset(table, info=info, fingerprint=generate_random_fingerprint())
    if verbose:
        from hardneg.mining.summary import format_summary

        print(format_summary(summary))
        if summary.get("queries_short"):
            print(short_message(summary, result.config))
    elif summary.get("queries_short"):
        logger.warning("%s", short_message(summary, result.config))
    return mined


def rank_positives_in(mined: Dataset, columns: tuple[str, str], skip: int, n: int, keep_scores: bool) -> Dataset:
    """n-tuple rows for a reranking evaluation set (the peer's ``include_positives=True``).

    ``mined``: n-tuple rows with scores of at least ``skip + n`` negatives. Each row's negatives
    become the anchor's ``n`` best-scored texts after the first ``skip``, its positives ranked among
    them by score; ``scores`` (kept only with ``keep_scores``) is the row's positive's, then theirs. A row
    with fewer than ``n`` texts repeats them, as hardneg fills short n-tuple rows.
    """
    from datasets import Dataset

    anchor, positive = columns
    rows = mined.to_list()
    positives: dict[str, dict[str, float]] = {}
    for row in rows:
        positives.setdefault(row[anchor], {})[row[positive]] = row["scores"][0]
    out: dict[str, list[Any]] = {anchor: [], positive: [], **{f"negative_{j}": [] for j in range(1, n + 1)}}
    if keep_scores:
        out["scores"] = []
    for row in rows:
        candidates = {row[f"negative_{j}"]: score for j, score in enumerate(row["scores"][1:], start=1)}  # padding repeats
        candidates |= positives[row[anchor]]
        ranked = sorted(candidates.items(), key=lambda pair: -pair[1])[skip : skip + n]
        ranked = [ranked[j % len(ranked)] for j in range(n)]  # a short row repeats, as hardneg pads n-tuples
        out[anchor].append(row[anchor])
        out[positive].append(row[positive])
        for j, (text, _) in enumerate(ranked, start=1):
            out[f"negative_{j}"].append(text)
        if keep_scores:
            out["scores"].append([row["scores"][0], *(score for _, score in ranked)])
    ranked_rows = Dataset.from_dict(out)
    ranked_rows.info.description = mined.info.description
    return ranked_rows


def with_peer_types(table: pa.Table) -> pa.Table:
    """``table`` with labels as int64 and scores as float64, as ``Dataset.from_dict`` types the peer's."""
    schema = pa.schema([f.with_type(PEER_TYPES.get(f.name, f.type)) for f in table.schema])
    return table if schema.equals(table.schema) else table.cast(schema)


def mining_summary(mined: Dataset) -> dict[str, Any]:
    """The summary of the run that mined ``mined`` (what ``verbose=True`` prints), as a dict."""
    try:
        return json.loads(mined.info.description)
    except (TypeError, json.JSONDecodeError):
        raise ValueError("this Dataset carries no hardneg summary (was it mined by hardneg.mine_hard_negatives?)") from None


def short_message(summary: dict[str, Any], config: Any) -> str:
    """The peer's sentence for missing negatives, with the short queries, their ids and what became of their rows."""
    short, ids = summary["queries_short"], summary.get("short_query_ids", [])
    more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
    return (
        f"Could not find enough negatives for {short} of {summary['queries']} queries ({', '.join(ids[:5])}{more}): "
        f"fewer than {summary['negatives_per_query']} pass the filters within the depth searched; "
        f"{summary.get('pairs_dropped', 0)} (anchor, positive) pairs have no row, {summary.get('rows_padded', 0)} rows "
        f"repeat negatives to fill their columns. {_consider(config)}"
    )


def _consider(config: Any) -> str:
    """The peer's advice: the parameters that bound what is found (``min_score`` too, which the peer leaves out)."""
    names = ["range_max"] + [name for name in ("range_min",) if getattr(config, name, 0)]
    names += [
        name
        for name in ("absolute_margin", "relative_margin", "max_score", "min_score", "max_depth")
        if getattr(config, name, None) is not None
    ]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"Consider adjusting the {listed} parameter{'s' if len(names) > 1 else ''} if you'd like to find more valid negatives."


def empty_run_message(summary: dict[str, Any], config: Any) -> str:
    """Why a run found no row to write: the queries left without negatives and what the filters dropped."""
    dropped = {k: v for k, v in summary.get("dropped", {}).items() if v}
    drops = ", ".join(f"{name} {count:,}" for name, count in dropped.items()) or "none"
    plainly = ""
    if dropped.get("min_score"):  # the filter whose emptiness is least expected: say it first
        plainly = (
            f"min_score={config.min_score} leaves no row: it dropped {dropped['min_score']:,} candidates scored below "
            "it (scores are cosines, or the cross-encoder's probabilities). "
        )
    return (
        f"{plainly}No rows mined: none of the {summary['queries']} queries has a negative that passes the filters within "
        f"the depth searched (candidates dropped: {drops}); the result is empty. {_consider(config)}"
    )
