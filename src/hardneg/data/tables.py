"""Reading a table of records: JSONL, CSV, TSV or parquet, each record with its line (or row) number.

Text tables are read exactly: every data row becomes one record or one reported problem, never
part of another row.

- TSV is read literally, as most tools write it: fields are split on tabs, and quotes are text
  (``"Hamlet" is by whom?`` keeps its quotes). ``tsv_quotes=True`` reads it with CSV quoting rules.
- CSV follows RFC 4180 strictly: a quoted field must close and be followed by a comma or the end
  of the line; anything else is an error at that line, never a merge of several lines.
- A row with more or fewer fields than the header is an error at that line.

A UTF-8 byte order mark is dropped; invalid UTF-8 is an error naming the line and byte.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from hardneg.data.dataset import Problems
from hardneg.errors import DataError
from hardneg.io import iter_jsonl, iter_text_lines

PAIR_SUFFIXES = {".jsonl", ".json", ".csv", ".tsv", ".parquet"}


def _literal_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` of a tab-separated file split literally; blank lines are skipped."""
    for number, line in enumerate(iter_text_lines(path), start=1):
        line = line.rstrip("\n").rstrip("\r")
        if line.strip():
            yield number, line.split("\t")


def _quoted_rows(path: Path, delimiter: str, problems: Problems) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of a CSV-quoted file; a row that does not parse is reported at its line."""
    reader = csv.reader(iter_text_lines(path), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.report(
                "malformed_line", f"not valid CSV ({exc}); a field that holds quotes must be quoted", path=str(path), line=start
            )
            problems.count("malformed_line", reader.line_num - start)  # the lines the broken record took with it
            start = reader.line_num + 1
            continue
        if fields and any(f.strip() for f in fields):
            yield start, fields
        start = reader.line_num + 1


def read_table(path: Path, problems: Problems, *, tsv_quotes: bool = False) -> tuple[list[str], list[tuple[int, dict]]]:
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
        delimiter = "\t" if suffix == ".tsv" else ","
        lines = _literal_rows(path) if suffix == ".tsv" and not tsv_quotes else _quoted_rows(path, delimiter, problems)
        first = next(lines, None)
        if first is None:
            return [], []
        columns = [c.strip() for c in first[1]]
        records = []
        for line, fields in lines:
            if len(fields) != len(columns):
                problems.report(
                    "malformed_line",
                    f"{len(fields)} fields where the header has {len(columns)}"
                    + (" (a text with a tab? TSV is read literally)" if delimiter == "\t" else ""),
                    path=str(path),
                    line=line,
                )
                continue
            records.append((line, dict(zip(columns, fields))))
        return columns, records
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        # Parquet has no lines: the reported number is the 1-based row.
        return table.column_names, list(enumerate(table.to_pylist(), start=1))
    raise DataError(f"unsupported file type {suffix!r}; use one of {sorted(PAIR_SUFFIXES)}", path=str(path))
