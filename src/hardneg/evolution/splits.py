"""A run's own view of a BEIR folder: training queries, held-out dev queries, and the test split.

Rounds of the co-evolution loop are chosen on *dev* quality, never on test. When the data has no
dev qrels (SciFact has only train and test), a seeded fraction of the training queries is held out.
The view is a folder with links to the original ``corpus.jsonl`` and ``queries.jsonl`` (nothing is
copied) and its own ``qrels/train.tsv``, ``qrels/dev.tsv`` and ``qrels/test.tsv``, so every stage
(mining, training, evaluation) reads it like any BEIR folder and its manifest names it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from hardneg.data import DEMO_NAME, Problems, demo_path, read_qrels
from hardneg.errors import ConfigError, DataError
from hardneg.io import atomic_path


def source_folder(data: str) -> Path:
    """The BEIR folder behind ``data`` (``"demo"`` is the bundled one)."""
    path = demo_path() if data == DEMO_NAME else Path(data)
    if not (path / "corpus.jsonl").is_file():
        raise DataError(
            "the co-evolution loop needs a BEIR folder (corpus.jsonl, queries.jsonl, qrels/) or 'demo'", path=str(path)
        )
    return path.resolve()


def held_out(query_ids: list[str], fraction: float, seed: int) -> set[str]:
    """A seeded ``fraction`` of ``query_ids`` (at least one, never all), by hash of (seed, id)."""
    if not 0 < fraction < 1:
        raise ConfigError(f"dev_fraction must be in (0, 1), got {fraction}")
    unique = sorted(set(query_ids))
    if len(unique) < 2:
        raise DataError(f"cannot hold out dev queries from {len(unique)} training query")
    n = min(len(unique) - 1, max(1, round(fraction * len(unique))))
    key = {q: hashlib.blake2b(f"{seed}\x00{q}".encode(), digest_size=8).digest() for q in unique}
    return set(sorted(unique, key=key.__getitem__)[:n])


def _write_qrels(path: Path, rows: list[tuple[str, str, float, int]]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("query-id\tcorpus-id\tscore\n")
            for qid, did, score, _ in rows:
                fh.write(f"{qid}\t{did}\t{int(score) if float(score).is_integer() else score}\n")


def _link(target: Path, link: Path) -> None:
    if link.is_symlink() or link.exists():
        if link.resolve() == target.resolve():
            return
        link.unlink()
    try:
        os.symlink(target, link)
    except FileExistsError:  # another run writing the same view got there first
        if link.resolve() != target.resolve():
            raise


def make_run_view(
    source: Path,
    folder: Path,
    *,
    train_split: str = "train",
    dev_split: str | None = None,
    dev_fraction: float = 0.1,
    test_split: str | None = "test",
    seed: int = 42,
) -> dict[str, int]:
    """Write the run's BEIR view into ``folder``; returns judgement counts per split."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    _link(source / "corpus.jsonl", folder / "corpus.jsonl")
    _link(source / "queries.jsonl", folder / "queries.jsonl")

    def rows_of(split: str) -> list[tuple[str, str, float, int]]:
        path = source / "qrels" / f"{split}.tsv"
        if not path.is_file():
            raise DataError(f"no qrels for split {split!r}", path=str(path))
        return read_qrels(path, Problems("raise"))

    train_rows = rows_of(train_split)
    if dev_split:
        dev_rows = rows_of(dev_split)
    else:
        positive_queries = [q for q, _, score, _ in train_rows if score > 0]
        dev = held_out(positive_queries, dev_fraction, seed)
        dev_rows = [r for r in train_rows if r[0] in dev]
        train_rows = [r for r in train_rows if r[0] not in dev]
    counts = {"train": len(train_rows), "dev": len(dev_rows)}
    _write_qrels(folder / "qrels" / "train.tsv", train_rows)
    _write_qrels(folder / "qrels" / "dev.tsv", dev_rows)
    if test_split:
        test_rows = rows_of(test_split)
        _write_qrels(folder / "qrels" / "test.tsv", test_rows)
        counts["test"] = len(test_rows)
    return counts
