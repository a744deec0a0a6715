"""Loading (query, positive) data: BEIR folders, pair files, and the bundled demo dataset.

Everything becomes one :class:`RetrievalData`: parallel lists of document ids and texts, of query
ids and texts, and for each query the corpus indices of its positives. Bad input raises
:class:`~hardneg.errors.DataError` naming the file and line, or, with ``on_error="skip"``, is
skipped with a warning that says the same.
"""

from __future__ import annotations

from pathlib import Path

from hardneg.data.beir import load_beir, read_qrels
from hardneg.data.dataset import DEMO_NAME, OnError, Problems, RetrievalData, demo_path, document_text
from hardneg.data.extra_positives import add_extra_positives
from hardneg.data.pairs import load_pairs
from hardneg.data.tables import PAIR_SUFFIXES
from hardneg.errors import ConfigError, DataError

__all__ = [
    "DEMO_NAME",
    "PAIR_SUFFIXES",
    "OnError",
    "Problems",
    "RetrievalData",
    "add_extra_positives",
    "demo_path",
    "document_text",
    "load_beir",
    "load_data",
    "load_pairs",
    "read_qrels",
]


def load_data(
    data: str | Path,
    *,
    split: str = "train",
    anchor_column: str | None = None,
    positive_column: str | None = None,
    corpus: str | Path | None = None,
    on_error: OnError = "raise",
    extra_positives: str | Path | None = None,
    tsv_quotes: bool = False,
) -> RetrievalData:
    """Load ``data``: ``"demo"``, a BEIR folder, or a pair file (.jsonl/.csv/.tsv/.parquet).

    ``extra_positives``: a qrels-style TSV of more positives (what ``hardneg inspect`` downloads), added
    to the data's own (see :mod:`hardneg.data.extra_positives`). ``tsv_quotes``: read a ``.tsv`` pair
    file with CSV quoting rules instead of literally.
    """
    loaded = _load(
        data,
        split=split,
        anchor_column=anchor_column,
        positive_column=positive_column,
        corpus=corpus,
        on_error=on_error,
        tsv_quotes=tsv_quotes,
    )
    if extra_positives:
        loaded = add_extra_positives(loaded, extra_positives, on_error=on_error)
    return loaded


def _load(
    data: str | Path,
    *,
    split: str,
    anchor_column: str | None,
    positive_column: str | None,
    corpus: str | Path | None,
    on_error: OnError,
    tsv_quotes: bool,
) -> RetrievalData:
    if str(data) == DEMO_NAME:
        data = demo_path()
    path = Path(data)
    if path.is_dir():
        if corpus is not None:
            raise ConfigError("corpus is for pair files; a BEIR folder brings its own corpus.jsonl")
        return load_beir(path, split=split, on_error=on_error)
    if path.is_file():
        return load_pairs(
            path,
            anchor_column=anchor_column,
            positive_column=positive_column,
            corpus=corpus,
            on_error=on_error,
            tsv_quotes=tsv_quotes,
        )
    raise DataError(
        "no such file or folder: data must be 'demo', a BEIR folder (corpus.jsonl, queries.jsonl, "
        "qrels/<split>.tsv) or a pair file (.jsonl, .csv, .tsv, .parquet)",
        path=str(path),
    )
