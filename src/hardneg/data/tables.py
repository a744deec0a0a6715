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
