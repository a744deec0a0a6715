"""Reading a candidates file row by row: a parquet file lazily (one row group at a time), a JSONL
file or a Hugging Face dataset folder whole."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from hardneg.errors import DataError
from hardneg.io import iter_jsonl


class CandidatesFile:
    """Rows of a candidates file: ``len()``, :meth:`row` (random access) and :meth:`rows` (a scan).

    A parquet file is read one row group at a time, so serving a large run keeps only the groups
    being looked at in memory; JSONL and dataset folders are read whole.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise DataError("candidates file not found (write one with hardneg mine --output-format candidates)", path=str(path))
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
            rows = []
            for line, record, error in iter_jsonl(self.path):
                if error:
                    raise DataError(error, path=str(self.path), line=line)
                rows.append(record)
            return rows
        raise DataError("a candidates file is .parquet, .jsonl or a dataset folder", path=str(self.path))
