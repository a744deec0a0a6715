"""(anchor, positive) data that is not a file hardneg reads itself: ``datasets`` objects, Hugging Face
dataset names and folders, Python lists and dicts, and in-memory corpora.

Everything ends up in :func:`~hardneg.data.pairs.pairs_from_records`, the same code that reads a
pair file, so a ``datasets.Dataset`` and the JSONL file it was saved from give the same
:class:`RetrievalData`. Errors name the row (``dataset:12: ...``) as file errors name the line.

Example:
    >>> from datasets import Dataset
    >>> pairs = Dataset.from_dict({"query": ["What is the capital of France?"], "answer": ["Paris is ..."]})
    >>> data = from_pairs(pairs, corpus=["Lyon is a city in France."])
    >>> data.corpus_texts
    ['Lyon is a city in France.', 'Paris is ...']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hardneg.data.corpus import Corpus
from hardneg.data.dataset import RetrievalData
from hardneg.data.pairs import pairs_from_records
from hardneg.errors import DataError
from hardneg.io import memory_input
from hardneg.io.tables import OnError, Problems


def is_in_memory(data: Any) -> bool:
    """Whether ``data`` is an object (a ``datasets`` object, dict or list) rather than a name or path."""
    return not isinstance(data, str | Path)


def _one_split(data: Any, split: str, source: str) -> Any:
    """The ``split`` of a ``DatasetDict`` (or the only split there is), else ``data`` itself."""
    import datasets

    if isinstance(data, datasets.DatasetDict):
        if split in data:
            return data[split]
        if len(data) == 1:
            return next(iter(data.values()))
        raise DataError(f"split {split!r} not found; the dataset has splits {sorted(data)}", path=source)
    return data


def _records(data: Any, source: str) -> tuple[list[str], list[tuple[int, dict]]]:
    """Columns and ``(row, record)`` of a Dataset, a dict of columns, or a list of pairs/records."""
    import datasets

    if isinstance(data, datasets.Dataset):
        columns = list(data.column_names)
        return columns, list(enumerate(data.to_list(), start=1))
    if isinstance(data, Mapping):
        columns = list(data)
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise DataError(f"columns differ in length: { {k: len(v) for k, v in data.items()} }", path=source)
        n = lengths.pop() if lengths else 0
        return columns, [(i + 1, {c: data[c][i] for c in columns}) for i in range(n)]
    if isinstance(data, Sequence) and not isinstance(data, str):
        rows = list(data)
        if rows and all(isinstance(r, Mapping) for r in rows):
            columns = list(dict.fromkeys(k for r in rows for k in r))
            return columns, [(i, dict(r)) for i, r in enumerate(rows, start=1)]
        if all(isinstance(r, Sequence) and not isinstance(r, str) and len(r) == 2 for r in rows):
            return ["anchor", "positive"], [(i, {"anchor": a, "positive": p}) for i, (a, p) in enumerate(rows, start=1)]
    raise DataError(
        f"cannot read pairs from a {type(data).__name__}: pass a datasets.Dataset or DatasetDict, a dict of columns, "
        "a list of records, or a list of (anchor, positive) tuples",
        path=source,
    )


def from_pairs(
    data: Any,
    *,
    split: str = "train",
    anchor_column: str | None = None,
    positive_column: str | None = None,
    corpus: Corpus = None,
    on_error: OnError = "raise",
    source: str = "dataset",
) -> RetrievalData:
    """:class:`RetrievalData` from an in-memory pair table (see the module docstring).

    Args:
        data: a ``datasets.Dataset``, a ``DatasetDict`` (its ``split``), a dict of columns, a list of
            records, or a list of ``(anchor, positive)`` tuples.
        anchor_column / positive_column: default to the first two columns, as in a pair file.
        corpus: extra negative candidates: a list of texts, or a corpus file.
        source: what error messages call the input.

    The manifest names the input ``memory:<sha256 of its rows>`` (:func:`hardneg.io.memory_input`), so a
    resumed run can tell two in-memory datasets apart.
    """
    problems = Problems(on_error)
    data = _one_split(data, split, source)
    columns, rows = _records(data, source)
    return pairs_from_records(
        columns, rows, anchor_column=anchor_column, positive_column=positive_column, corpus=corpus, problems=problems,
        source=source, pairs_input=memory_input(columns, [r for _, r in rows]),
    )  # fmt: skip


def is_dataset_folder(path: Path) -> bool:
    """A folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``."""
    return path.is_dir() and any((path / name).is_file() for name in ("state.json", "dataset_dict.json"))


def load_hf_dataset(name: str | Path, *, split: str = "train") -> Any:
    """A ``datasets.Dataset`` from a ``save_to_disk`` folder, a folder of data files, or a Hub name.

    A Hub name is loaded by ``datasets.load_dataset``, so it works offline only when ``datasets``
    has it cached; a failure names the dataset and says why.
    """
    import datasets

    path = Path(name)
    try:
        if is_dataset_folder(path):
            loaded = datasets.load_from_disk(str(path))
        else:
            loaded = datasets.load_dataset(str(name))
    except Exception as exc:
        raise DataError(f"could not load it as a Hugging Face dataset: {exc}", path=str(name)) from exc
    return _one_split(loaded, split, str(name))
