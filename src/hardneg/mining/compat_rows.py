"""The drop-in's result: hardneg's rows as the ``datasets.Dataset`` sentence-transformers returns.

Same column names and, column for column, the same types (``label`` int64, scores float64: the
types ``Dataset.from_dict`` gives Python ints and floats), so the two libraries' rows concatenate.
The run's summary travels with the rows as JSON in ``info.description`` (:func:`mining_summary`
reads it back), is printed when ``verbose``, and what a caller must not miss (queries left short,
no rows at all) is logged or raised whatever ``verbose`` says.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasets import Dataset

    from hardneg.mining.run import MineResult

import logging

logger = logging.getLogger(__name__)

PEER_SCALARS = {"label": "int64", "score": "float64"}
PEER_LISTS = {"labels": "int64", "scores": "float64"}


def to_peer_dataset(result: MineResult, renames: dict[str, str], *, verbose: bool) -> Dataset:
    """The rows of ``result`` with the caller's column names, the peer's types and the summary attached."""
    summary = result.summary
    if summary["rows"] == 0:
        raise ValueError(empty_run_message(summary))
    mined = result.to_dataset() if result.table is not None else _load_written(result)
    renames = {a: b for a, b in renames.items() if a != b and a in mined.column_names}
    mined = with_peer_types(mined.rename_columns(renames) if renames else mined)
    mined.info.description = json.dumps(summary, default=str)
    if verbose:
        from hardneg.mining.summary import format_summary

        print(format_summary(summary), file=sys.stderr)
    warn_if_short(summary)
    return mined


def with_peer_types(mined: Dataset) -> Dataset:
    """``mined`` with labels as int64 and scores as float64, as ``Dataset.from_dict`` types the peer's."""
    from datasets import List, Value

    features = mined.features.copy()
    changed = False
    for name, dtype in PEER_SCALARS.items():
        if name in features and features[name] != Value(dtype):
            features[name], changed = Value(dtype), True
    for name, dtype in PEER_LISTS.items():
        if name in features and features[name] != List(Value(dtype)):
            features[name], changed = List(Value(dtype)), True
    return mined.cast(features) if changed else mined


def mining_summary(mined: Dataset) -> dict[str, Any]:
    """The summary of the run that mined ``mined`` (what ``verbose=True`` prints), as a dict."""
    try:
        return json.loads(mined.info.description)
    except (TypeError, json.JSONDecodeError):
        raise ValueError("this Dataset carries no hardneg summary (was it mined by hardneg.mine_hard_negatives?)") from None


def warn_if_short(summary: dict[str, Any]) -> None:
    """A warning naming the queries that got fewer negatives than asked for, and what became of their rows."""
    short = summary.get("queries_short", 0)
    if not short:
        return
    ids = summary.get("short_query_ids", [])
    logger.warning(
        "%d of %d queries have fewer than %d negatives passing the filters within the depth searched (%s%s); "
        "%d (anchor, positive) pairs have no row, %d rows repeat negatives to fill their columns. "
        "Loosen the score filters, or raise range_max or max_depth.",
        short, summary["queries"], summary["negatives_per_query"], ", ".join(ids[:5]),
        f" and {len(ids) - 5} more" if len(ids) > 5 else "", summary.get("pairs_dropped", 0), summary.get("rows_padded", 0),
    )  # fmt: skip


def empty_run_message(summary: dict[str, Any]) -> str:
    """Why a run found no row to write: the queries left without negatives and what the filters dropped."""
    dropped = {k: v for k, v in summary.get("dropped", {}).items() if v}
    drops = ", ".join(f"{name} {count:,}" for name, count in dropped.items()) or "none"
    return (
        f"no rows mined: none of the {summary['queries']} queries has a negative that passes the filters within the "
        f"depth searched (candidates dropped: {drops}). Loosen the score filters (max_score, absolute_margin, "
        "relative_margin), or raise range_max or max_depth."
    )


def _load_written(result: MineResult) -> Dataset:
    """The rows of a run that was given ``out`` (a hardneg extra), read back."""
    import datasets

    from hardneg.writers import container_of

    out = str(result.out)
    kind = container_of(out)
    if kind == "hf":
        return datasets.load_from_disk(out)
    return datasets.Dataset.from_parquet(out) if kind == "parquet" else datasets.Dataset.from_json(out)
