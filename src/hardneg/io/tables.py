"""Reading a table of records: JSONL, CSV, TSV or parquet, each record with its line (or row) number, and
reporting a bad record (:class:`Problems`: raised, or counted and skipped).

It sits below the data loaders and the output formats (which read their files back through it), so neither
imports the other to read a table.

Text tables are read exactly: every data row becomes one record or one reported problem, never part of
another row (TSV literally, quotes being text unless ``tsv_quotes=True``; CSV strictly, RFC 4180). A row
with more or fewer fields than the header is an error at that line. The promises and their tests:
``docs/reliability.md`` (Input).
"""

from __future__ import annotations

import contextlib
import csv
import logging
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from hardneg.errors import ConfigError, DataError
from hardneg.io import iter_jsonl, iter_text_lines

logger = logging.getLogger(__name__)

OnError = Literal["raise", "skip"]

PAIR_SUFFIXES = {".jsonl", ".json", ".csv", ".tsv", ".parquet"}


class Problems:
    """Raise on the first problem, or count and warn about each one when skipping."""

    def __init__(self, on_error: OnError):
        if on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.on_error = on_error
        self.counts: dict[str, int] = {}

    def report(self, kind: str, message: str, *, path: str | None = None, line: int | None = None) -> None:
        error = DataError(message, path=path, line=line)
        if self.on_error == "raise":
            raise error
        self.counts[kind] = self.counts.get(kind, 0) + 1
        logger.warning("skipped: %s", error)

    def text(
        self, value: object, what: str, *, as_id: bool = False, path: str | None = None, line: int | None = None
    ) -> str | None:
        """``value`` of a record read by :func:`field_text` (stripped; ``""`` when absent), or ``None`` after
        reporting (``bad_field``) a value that is not text."""
        try:
            return field_text(value, what, as_id=as_id)
        except ValueError as exc:
            self.report("bad_field", str(exc), path=path, line=line)
            return None

    def jsonl(self, path: Path) -> Iterator[tuple[int, dict]]:
        """``(line, record)`` of each valid line of a JSONL file; a malformed line is reported (``malformed_line``)."""
        for line, record, error in iter_jsonl(path):
            if error:
                self.report("malformed_line", error, path=str(path), line=line)
            else:
                yield line, record

    def count(self, kind: str, n: int = 1) -> None:
        """Count ``n`` records dropped for a reason that is not an error (e.g. an exact duplicate row)."""
        if n > 0:
            self.counts[kind] = self.counts.get(kind, 0) + n


def field_text(value: object, what: str, *, as_id: bool = False) -> str:
    """A text or id field of a record as text, stripped; ``""`` when absent (``None``).

    A text must be a string. An id may also be a whole number (JSON ``"_id": 42`` is the id ``"42"``,
    as the same id in a qrels file reads). Anything else (a fraction, a boolean, a list) is a
    ``ValueError`` naming ``what`` and the value, never an empty text.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if as_id and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    allowed = "text or a whole number" if as_id else "text"
    raise ValueError(f"{what} must hold {allowed}, got {type(value).__name__} {value!r}")


def _literal_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` of a tab-separated file split literally; blank lines are skipped."""
    for number, line in enumerate(iter_text_lines(path), start=1):
        line = line.rstrip("\n").rstrip("\r")
        if line.strip():
            yield number, line.split("\t")


FIELD_SIZE_LIMIT = 2**31 - 1
"""The csv module's field size limit while a file is read (its own default, 128 KiB, refuses a long document)."""


@contextlib.contextmanager
def _fields_of_any_size() -> Iterator[None]:
    """Lift csv's process-wide field size limit for one read, and put the caller's limit back."""
    previous = csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _quoted_rows(path: Path, delimiter: str, problems: Problems) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of a CSV-quoted file; a row that does not parse is reported at its line."""
    reader = csv.reader(iter_text_lines(path), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            with _fields_of_any_size():
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
        rows = list(problems.jsonl(path))
        return list(dict.fromkeys(key for _, record in rows for key in record)), rows
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


class Records:
    """The records of a parquet file, a JSONL file or a Hugging Face dataset folder: ``len()``,
    :meth:`row` (random access), :meth:`rows` (a scan), :meth:`where` (a row as errors name it).

    A parquet file is read one row group at a time, so serving a large run keeps only the groups
    being looked at in memory; JSONL and dataset folders are read whole.
    """

    def __init__(self, path: str | Path, what: str = "file"):
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f"{what} not found", path=str(path))
        self._rows: list[dict[str, Any]] | None = None
        self._parquet = None
        if self.path.is_file() and self.path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            try:
                self._parquet = pq.ParquetFile(self.path)
            except Exception as exc:  # pyarrow raises several types for a damaged file
                raise DataError(f"not a readable parquet file ({exc})", path=str(path)) from exc
            sizes = [self._parquet.metadata.row_group(g).num_rows for g in range(self._parquet.num_row_groups)]
            self._starts = [sum(sizes[:g]) for g in range(len(sizes))]
            self._count = sum(sizes)
        else:
            self._rows = self._read_whole()
            self._count = len(self._rows)

    def where(self, i: int) -> str:
        """Row ``i`` (0-based) as an error message names it."""
        return f"line {i + 1}" if self.path.suffix.lower() in (".jsonl", ".json") else f"row {i + 1}"

    def __len__(self) -> int:
        return self._count

    @property
    def columns(self) -> list[str]:
        if self._parquet is not None:
            return list(self._parquet.schema_arrow.names)
        return list(dict.fromkeys(k for r in self._rows for k in r))

    def row(self, i: int) -> dict[str, Any]:
        if not 0 <= i < self._count:
            raise IndexError(i)
        if self._rows is not None:
            return self._rows[i]
        group = max(g for g, start in enumerate(self._starts) if start <= i)
        return self._group(group)[i - self._starts[group]]

    def rows(self, columns: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every row in order (only ``columns`` of a parquet file when given)."""
        if self._rows is not None:
            yield from self._rows
            return
        names = self._parquet.schema_arrow.names
        wanted = None if columns is None else [c for c in columns if c in names]
        for g in range(self._parquet.num_row_groups):
            yield from self._parquet.read_row_group(g, columns=wanted).to_pylist()

    @lru_cache(maxsize=4)  # noqa: B019 - one file object per command, the cache dies with it
    def _group(self, g: int) -> list[dict[str, Any]]:
        return self._parquet.read_row_group(g).to_pylist()

    def _read_whole(self) -> list[dict[str, Any]]:
        if self.path.is_dir():
            import datasets

            try:
                ds = datasets.load_from_disk(str(self.path))
            except Exception as exc:
                raise DataError(f"not a Hugging Face dataset folder ({exc})", path=str(self.path)) from exc
            if isinstance(ds, datasets.DatasetDict):
                raise DataError(f"a dataset folder with splits {list(ds)}; pass the folder of one split", path=str(self.path))
            return ds.data.table.to_pylist()
        if self.path.suffix.lower() in (".jsonl", ".json"):
            return [record for _, record in Problems("raise").jsonl(self.path)]
        raise DataError(
            f"unsupported file type {self.path.suffix!r}: use .parquet, .jsonl or a dataset folder", path=str(self.path)
        )
