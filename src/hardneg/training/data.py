"""Reading what ``hardneg train`` learns from: mined rows, an id-based candidates file, or plain pairs.

Three inputs, one result (:class:`TrainingInput`): a mined file in the n-tuple or triplet layout is used as
it is; a candidates file's ids get their texts from the corpus it was mined from, and its negatives are
drawn afresh every epoch (:class:`~hardneg.training.negative_pool.NegativePool`); ``"demo"`` or a BEIR folder
gives pairs for in-batch negatives. The inputs as the user sees them: ``docs/evolve.md`` (Train).

Bad input raises :class:`~hardneg.errors.DataError` naming the file, the line or row, and the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardneg import formats
from hardneg.candidates_file import POOLS, CandidatesFile, order_pool, read_candidates
from hardneg.data import DEMO_NAME, RetrievalData, load_data
from hardneg.errors import ConfigError, DataError
from hardneg.formats import NEGATIVE_COLUMN, NOT_TEXT_COLUMNS, FormatFile
from hardneg.training.negative_pool import NegativePool

SAMPLINGS = ("auto", "random", "top")


@dataclass
class TrainingInput:
    """Rows ready for the trainer, and what they came from."""

    dataset: Any
    """A ``datasets.Dataset`` with columns anchor, positive, negative_1 … (in that order)."""
    kind: str
    """``"rows"`` (a mined file), ``"candidates"`` (dynamic negatives) or ``"pairs"``."""
    num_negatives: int
    pool: NegativePool | None = None
    data: RetrievalData | None = None
    """The corpus and queries behind a candidates file or a BEIR folder."""
    inputs: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    mined_with: dict[str, Any] | None = None
    """The mining parameters of a candidates file (from its manifest), when known."""
    candidates: CandidatesFile | None = None
    """For a candidates file: its rows (every candidate per query in rank order, kept or not)."""
    pool_mode: str = "kept"
    """For a candidates file: the pool negatives are drawn from (see :func:`hardneg.candidates_file.order_pool`)."""


def load_training_input(
    data: str,
    *,
    split: str = "train",
    corpus: str | None = None,
    num_negatives: int | None = None,
    pool: str = "kept",
    sampling: str = "auto",
    seed: int = 42,
    extra_positives: str | None = None,
) -> TrainingInput:
    """Read ``data`` (see the module docstring) into a :class:`TrainingInput`.

    ``extra_positives``: a qrels-style TSV of more positives (:mod:`hardneg.data.extra_positives`); they
    train as positives and are removed from a candidates file's negatives. Rows of texts (n-tuple,
    triplet) carry no ids to match it against, so it needs a candidates file, ``demo`` or a BEIR folder.
    """
    path = Path(data)
    if data == DEMO_NAME or (path.is_dir() and (path / "corpus.jsonl").is_file()):  # a BEIR folder
        return _from_pairs(load_data(data, split=split, extra_positives=extra_positives))
    if not path.exists():
        raise DataError(
            "training data not found: pass a mined file/folder, a candidates file, 'demo' or a BEIR folder", path=data
        )
    file = formats.read(path, "training file")
    if not len(file):
        raise DataError("the training file has no rows", path=data)
    if file.format is formats.CANDIDATES:
        return _from_candidates(
            path, file, split=split, corpus=corpus, num_negatives=num_negatives, pool=pool, seed=seed,
            sampling=sampling, extra_positives=extra_positives,
        )  # fmt: skip
    if extra_positives:
        raise ConfigError(
            "extra_positives names documents by id: train from a candidates file, 'demo' or a BEIR folder, "
            f"not from rows of texts ({path})"
        )
    return _from_mined_rows(path, file, num_negatives=num_negatives)


def _from_pairs(data: RetrievalData) -> TrainingInput:
    import datasets

    anchors = [data.query_texts[q] for q, pos in enumerate(data.positives) for _ in pos]
    positives = [data.corpus_texts[d] for pos in data.positives for d in pos]
    ds = datasets.Dataset.from_dict({"anchor": anchors, "positive": positives})
    return TrainingInput(ds, "pairs", 0, data=data, inputs=dict(data.inputs), info={"rows": len(ds)})


def _from_mined_rows(path: Path, file: FormatFile, *, num_negatives: int | None) -> TrainingInput:
    """Rows of texts: an n-tuple or triplet file (any other columns are left out)."""
    import datasets

    columns = file.columns
    texts = formats.FORMATS["n-tuple"].required  # anchor, positive; the negatives follow
    missing = [c for c in texts if c not in columns]
    if missing:
        raise DataError(
            f"columns {missing} not found; columns are {columns}. Train from the n-tuple or triplet format "
            "(anchor, positive, negative…) or from an id-based candidates file",
            path=str(path),
        )
    negatives = [c for c in columns if NEGATIVE_COLUMN.match(c)]
    if num_negatives is not None:
        if num_negatives > len(negatives):
            raise DataError(f"num_negatives={num_negatives} but the file has {len(negatives)} negative column(s)", path=str(path))
        negatives = negatives[:num_negatives]
    keep = [*texts, *negatives]
    out: dict[str, list[str]] = {c: [] for c in keep}
    for where, record in file.located_rows():
        for c in keep:
            value = record.get(c)
            if not isinstance(value, str) or not value.strip():
                raise DataError(f"{where}: column {c!r} must be a non-empty string, got {value!r}", path=str(path))
            out[c].append(value)
    ds = datasets.Dataset.from_dict(out)
    return TrainingInput(ds, "rows", len(negatives), inputs=_input_files(path), info={"rows": len(ds)})


def _input_files(path: Path) -> dict[str, str]:
    """Role -> file for the manifest, which hashes files: a dataset folder lists its files."""
    if path.is_dir():
        return {f"train/{f.name}": str(f) for f in sorted(path.iterdir()) if f.is_file()}
    return {"train": str(path)}


def _from_candidates(
    path: Path,
    opened: FormatFile,
    *,
    split: str,
    corpus: str | None,
    num_negatives: int | None,
    pool: str,
    seed: int,
    sampling: str = "auto",
    extra_positives: str | None = None,
) -> TrainingInput:
    if pool not in POOLS:
        raise DataError(f"pool must be one of {POOLS}, got {pool!r}")
    if sampling not in SAMPLINGS:
        raise DataError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    table = opened.columns, opened.located_rows()
    file = read_candidates(path, split=split, corpus=corpus, table=table, extra_positives=extra_positives)
    mined_with = file.mined_with or {}
    sampling = resolve_sampling(sampling, mined_with)
    candidates = [order_pool(r.candidates, r.kept, r.negatives, pool=pool, sampling=sampling) for r in file.rows]
    chosen = max((len(r.negatives) for r in file.rows), default=0)
    n = num_negatives or max(1, chosen)
    negative_pool = NegativePool(
        file.data.corpus_texts,
        [r.query_id for r in file.rows],
        [r.query for r in file.rows],
        [r.positives for r in file.rows],
        candidates,
        num_negatives=n,
        seed=seed,
        sampling=sampling,
    )
    ds = negative_pool.dataset()
    dropped = int(len(negative_pool) - len(ds))
    info = {
        "rows": len(ds),
        "rows_without_candidates": dropped,
        "pool": pool,
        "sampling": sampling,
        "mean_pool_size": round(sum(map(len, candidates)) / max(1, len(candidates)), 2),
    }
    return TrainingInput(
        ds,
        "candidates",
        n,
        pool=negative_pool,
        data=file.data,
        inputs={"train": str(path), **file.data.inputs},
        info=info,
        mined_with=mined_with or None,
        candidates=file,
        pool_mode=pool,
    )


def resolve_sampling(sampling: str, mined_with: dict[str, Any]) -> str:
    """``auto`` follows the miner: a ``top`` selection trains on the top of the pool (the mined choice);
    ``random`` and ``simans`` redraw from the pool every epoch."""
    if sampling != "auto":
        return sampling
    return "top" if mined_with.get("selection") == "top" else "random"


def text_columns(dataset, label_columns: list[str] | None) -> tuple[list[str], list[str], list[list[str]]]:
    """(anchors, positives, negatives per row) as the loss will see them.

    Read through the dataset's transform, if it has one: a candidates file's rows store indices and
    look their negatives up when read (:meth:`hardneg.training.negative_pool.NegativePool.dataset`),
    so the negatives seen here are the first draw.
    """
    columns = dataset[:] if len(dataset) else {name: [] for name in dataset.column_names}
    skip = NOT_TEXT_COLUMNS | set(label_columns or [])
    text_names = [n for n, values in columns.items() if n not in skip and all(isinstance(v, str) for v in values[:1])]
    if len(text_names) < 2:
        raise DataError(f"training rows need (anchor, positive, ...) text columns; found {list(columns)}")
    anchor = "anchor" if "anchor" in text_names else text_names[0]
    positive = "positive" if "positive" in text_names else [n for n in text_names if n != anchor][0]
    others = [n for n in text_names if n not in (anchor, positive)]
    n = len(columns[anchor])
    negatives = [list(row) for row in zip(*(columns[name] for name in others))] if others else [[] for _ in range(n)]
    return list(columns[anchor]), list(columns[positive]), negatives
