"""Reading a table of records: JSONL, CSV, TSV or parquet, each record with its line (or row) number."""

from __future__ import annotations

import csv
from pathlib import Path

from hardneg.data.dataset import Problems
from hardneg.errors import DataError
from hardneg.io import iter_jsonl

PAIR_SUFFIXES = {".jsonl", ".json", ".csv", ".tsv", ".parquet"}


def read_table(path: Path, problems: Problems) -> tuple[list[str], list[tuple[int, dict]]]:
    """Column names and ``(line_or_row, record)`` of a JSONL, CSV/TSV or parquet file."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        rows, columns = [], []
        for line, record, error in iter_jsonl(path):
            if error:
                problems.report("malformed_line", error, path=str(path), line=line)
                continue
            for key in record:
                if key not in columns:
                    columns.append(key)
            rows.append((line, record))
        return columns, rows
    if suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            columns = list(reader.fieldnames or [])
            # DictReader counts physical lines; the header is line 1.
            return columns, [(reader.line_num, row) for row in reader]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        # Parquet has no lines: the reported number is the 1-based row.
        return table.column_names, list(enumerate(table.to_pylist(), start=1))
    raise DataError(f"unsupported file type {suffix!r}; use one of {sorted(PAIR_SUFFIXES)}", path=str(path))


def read_rows(path: Path) -> tuple[list[str], list[tuple[str, dict]]]:
    """Columns and ``(where, record)`` rows of a parquet, JSONL or Hugging Face dataset input.

    ``where`` is ``"line N"`` for JSONL and ``"row N"`` (1-based) otherwise, for error messages.
    """
    if path.is_dir():
        import datasets

        try:
            ds = datasets.load_from_disk(str(path))
        except Exception as exc:
            raise DataError(f"not a Hugging Face dataset folder ({exc})", path=str(path)) from exc
        if isinstance(ds, datasets.DatasetDict):
            raise DataError(f"a dataset folder with splits {list(ds)}; pass the folder of one split", path=str(path))
        table = ds.data.table
        return table.column_names, [(f"row {i}", r) for i, r in enumerate(table.to_pylist(), start=1)]
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return table.column_names, [(f"row {i}", r) for i, r in enumerate(table.to_pylist(), start=1)]
    if suffix in (".jsonl", ".json"):
        columns: list[str] = []
        rows = []
        for line, record, error in iter_jsonl(path):
            if error:
                raise DataError(error, path=str(path), line=line)
            for key in record:
                if key not in columns:
                    columns.append(key)
            rows.append((f"line {line}", record))
        return columns, rows
    raise DataError(f"unsupported training file type {suffix!r}: use .parquet, .jsonl or a dataset folder", path=str(path))
