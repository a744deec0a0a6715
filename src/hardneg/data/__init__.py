"""Loading (query, positive) data: BEIR folders, pair files, and the bundled demo dataset.

Everything becomes one :class:`RetrievalData`: parallel lists of document ids and texts, of query
ids and texts, and for each query the corpus indices of its positives. Bad input raises
:class:`~hardneg.errors.DataError` naming the file and line, or, with ``on_error="skip"``, is
skipped with a warning that says the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hardneg.data.beir import load_beir, read_qrels
from hardneg.data.corpus import Corpus
from hardneg.data.dataset import DEMO_NAME, AbsentDocuments, RetrievalData, demo_path, document_text
from hardneg.data.extra_positives import add_extra_positives
from hardneg.data.flagembedding import is_flagembedding, load_flagembedding
from hardneg.data.memory import from_pairs, is_dataset_folder, is_in_memory, load_hf_dataset
from hardneg.data.pairs import load_pairs
from hardneg.errors import ConfigError, DataError
from hardneg.io.tables import PAIR_SUFFIXES, OnError, Problems

__all__ = [
    "DEMO_NAME",
    "AbsentDocuments",
    "PAIR_SUFFIXES",
    "OnError",
    "Problems",
    "RetrievalData",
    "add_extra_positives",
    "demo_path",
    "from_pairs",
    "load_flagembedding",
    "load_hf_dataset",
    "document_text",
    "load_beir",
    "load_data",
    "load_pairs",
    "read_qrels",
]


def load_data(
    data: Any,
    *,
    split: str = "train",
    anchor_column: str | None = None,
    positive_column: str | None = None,
    corpus: Corpus = None,
    on_error: OnError = "raise",
    extra_positives: str | Path | None = None,
    tsv_quotes: bool = False,
    absent_documents: AbsentDocuments = "refuse",
) -> RetrievalData:
    """Load ``data``: ``"demo"``, a BEIR folder, a pair file (.jsonl/.csv/.tsv/.parquet), a FlagEmbedding
    JSONL file, a Hugging Face dataset (a ``save_to_disk`` folder, a folder of data files, or a Hub
    name ``datasets`` can load), or an in-memory ``Dataset``/``DatasetDict``/dict/list of pairs.

    ``corpus`` (extra negative candidates, a file or a list of texts) goes with pair data only.
    ``extra_positives``: a qrels-style TSV of more positives (what ``hardneg inspect`` downloads), added
    to the data's own (see :mod:`hardneg.data.extra_positives`). ``tsv_quotes``: read a ``.tsv`` pair
    file with CSV quoting rules instead of literally. ``absent_documents``: what a BEIR folder's qrels line
    naming a document absent from its corpus is, bad input (``"refuse"``) or a judgement evaluation scores
    (``"judge"``; see :func:`load_beir`).
    """

    def hf_pairs(name: str | Path) -> RetrievalData:
        """A Hugging Face dataset (a folder or a Hub name) read as pairs; errors name it."""
        return from_pairs(
            load_hf_dataset(name, split=split),
            anchor_column=anchor_column,
            positive_column=positive_column,
            corpus=corpus,
            on_error=on_error,
            source=str(name),
        )

    if isinstance(data, RetrievalData):  # loaded already (the drop-in's streamed chunks)
        loaded = data
    elif is_in_memory(data):
        loaded = from_pairs(
            data, split=split, anchor_column=anchor_column, positive_column=positive_column, corpus=corpus, on_error=on_error
        )
    else:
        if str(data) == DEMO_NAME:
            data = demo_path()
        path = Path(data)
        if path.is_dir() and not _is_beir(path) and (is_dataset_folder(path) or _has_data_files(path)):
            loaded = hf_pairs(path)
        elif path.is_dir():
            if corpus is not None:
                raise ConfigError("corpus is for pair files; a BEIR folder brings its own corpus.jsonl")
            loaded = load_beir(path, split=split, on_error=on_error, absent_documents=absent_documents)
        elif path.is_file() and is_flagembedding(path) and anchor_column is None and positive_column is None:
            if corpus is not None:
                raise ConfigError("corpus is for pair files; a FlagEmbedding file's pos and neg texts are its corpus")
            loaded = load_flagembedding(path, on_error=on_error)
        elif path.is_file():
            loaded = load_pairs(
                path,
                anchor_column=anchor_column,
                positive_column=positive_column,
                corpus=corpus,
                on_error=on_error,
                tsv_quotes=tsv_quotes,
            )
        elif _looks_like_hub_name(str(data)):
            loaded = hf_pairs(str(data))
        else:
            raise DataError(
                "no such file or folder: data must be 'demo', a BEIR folder (corpus.jsonl, queries.jsonl, "
                "qrels/<split>.tsv), a pair file (.jsonl, .csv, .tsv, .parquet) or a Hugging Face dataset",
                path=str(path),
            )
    if extra_positives:
        loaded = add_extra_positives(loaded, extra_positives, on_error=on_error)
    return loaded


def _is_beir(path: Path) -> bool:
    return any((path / name).exists() for name in ("corpus.jsonl", "queries.jsonl", "qrels"))


def _has_data_files(path: Path) -> bool:
    return any(p.suffix.lower() in PAIR_SUFFIXES for p in path.rglob("*") if p.is_file())


def _looks_like_hub_name(name: str) -> bool:
    """``owner/name`` or ``name``: no path syntax, no file suffix."""
    return (
        bool(name)
        and name.count("/") <= 1
        and not name.startswith((".", "/", "~"))
        and "\\" not in name
        and Path(name).suffix.lower() not in PAIR_SUFFIXES
    )
