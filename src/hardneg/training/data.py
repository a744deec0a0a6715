"""Reading what ``hardneg train`` learns from: mined rows, an id-based candidates file, or plain pairs.

Three inputs, one result (:class:`TrainingInput`):

- a mined file or folder (``.parquet``, ``.jsonl``, a Hugging Face dataset folder) in the n-tuple
  (``anchor, positive, negative_1 … negative_n``) or triplet (``anchor, positive, negative``)
  layout: the rows are used as they are;
- a ``hardneg mine --output-format candidates`` file: rows of ids. Texts come from the corpus the
  file was mined from (named in its manifest, or given as ``corpus``), and negatives are drawn
  afresh every epoch from each query's kept candidates (:class:`~hardneg.training.negative_pool.NegativePool`);
- ``"demo"`` or a BEIR folder: (query, positive) pairs only, for in-batch negatives.

Bad input raises :class:`~hardneg.errors.DataError` naming the file, the line or row, and the column.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardneg.data import DEMO_NAME, RetrievalData, load_data
from hardneg.errors import ConfigError, DataError
from hardneg.io import iter_jsonl
from hardneg.training.negative_pool import NegativePool

CANDIDATE_COLUMNS = ("query_id", "query", "positive_ids", "candidate_ids", "candidate_kept", "negative_ids")
NEGATIVE_COLUMN = re.compile(r"^negative(_\d+)?$")
POOLS = ("kept", "all")
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
    all_candidates: list[list[int]] | None = None
    """For a candidates file: every candidate per query in rank order, kept or not."""


def _is_beir(path: Path) -> bool:
    return path.is_dir() and (path / "corpus.jsonl").is_file()


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
    if data == DEMO_NAME or _is_beir(path):
        return _from_pairs(load_data(data, split=split, extra_positives=extra_positives))
    if not path.exists():
        raise DataError(
            "training data not found: pass a mined file/folder, a candidates file, 'demo' or a BEIR folder", path=data
        )
    columns, rows = read_rows(path)
    if not rows:
        raise DataError("the training file has no rows", path=data)
    if "candidate_ids" in columns:
        return _from_candidates(
            path, columns, rows, split=split, corpus=corpus, num_negatives=num_negatives, pool=pool, seed=seed,
            sampling=sampling, extra_positives=extra_positives,
        )  # fmt: skip
    if extra_positives:
        raise ConfigError(
            "extra_positives names documents by id: train from a candidates file, 'demo' or a BEIR folder, "
            f"not from rows of texts ({path})"
        )
    return _from_mined_rows(path, columns, rows, num_negatives=num_negatives)


def _from_pairs(data: RetrievalData) -> TrainingInput:
    import datasets

    anchors = [data.query_texts[q] for q, pos in enumerate(data.positives) for _ in pos]
    positives = [data.corpus_texts[d] for pos in data.positives for d in pos]
    ds = datasets.Dataset.from_dict({"anchor": anchors, "positive": positives})
    return TrainingInput(ds, "pairs", 0, data=data, inputs=dict(data.inputs), info={"rows": len(ds)})


def _from_mined_rows(path: Path, columns: list[str], rows: list[tuple[str, dict]], *, num_negatives: int | None) -> TrainingInput:
    import datasets

    missing = [c for c in ("anchor", "positive") if c not in columns]
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
    keep = ["anchor", "positive", *negatives]
    out: dict[str, list[str]] = {c: [] for c in keep}
    for where, record in rows:
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


def _mining_parameters(path: Path) -> dict[str, Any] | None:
    manifest = path.with_name(path.name + ".manifest.json")
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8")).get("parameters", {})


def _mined_data(path: Path, split: str, corpus: str | None, extra_positives: str | None = None) -> RetrievalData:
    """The corpus a candidates file refers to: ``corpus`` when given, else the data its manifest names."""
    if corpus is not None:
        return load_data(corpus, split=split, extra_positives=extra_positives)
    params = _mining_parameters(path)
    if params is None:
        manifest = path.with_name(path.name + ".manifest.json")
        raise DataError(
            "a candidates file holds ids only: pass corpus= (the BEIR folder or 'demo' it was mined from); "
            f"its manifest {manifest.name} is missing",
            path=str(path),
        )
    return load_data(
        params.get("data", DEMO_NAME),
        split=params.get("split", split),
        anchor_column=params.get("anchor_column"),
        positive_column=params.get("positive_column"),
        corpus=params.get("corpus"),
        on_error=params.get("on_error", "raise"),
        extra_positives=extra_positives or params.get("extra_positives"),
    )


def _from_candidates(
    path: Path,
    columns: list[str],
    rows: list[tuple[str, dict]],
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
    mined_with = _mining_parameters(path) or {}
    if sampling == "auto":
        # Follow the miner: a 'top' selection trains on the top kept candidates (what was chosen);
        # 'random' and 'simans' redraw from the kept ones every epoch.
        sampling = "top" if mined_with.get("selection") == "top" else "random"
    missing = [c for c in CANDIDATE_COLUMNS if c not in columns]
    if missing:
        raise DataError(f"candidates file lacks columns {missing}", path=str(path))
    data = _mined_data(path, split, corpus, extra_positives)
    # with extra positives, a query's positives are the data's (its own plus the extra ones)
    data_positives = dict(zip(data.query_ids, data.positives)) if extra_positives else {}
    doc_index = {d: i for i, d in enumerate(data.corpus_ids)}

    def lookup(ids: list[str], where: str, column: str) -> list[int]:
        out = []
        for d in ids or []:
            if d not in doc_index:
                raise DataError(f"{where}: {column} has id {d!r}, which is not in the corpus", path=str(path))
            out.append(doc_index[d])
        return out

    query_ids, query_texts, positives, candidates, everything = [], [], [], [], []
    chosen = 0
    for where, record in rows:
        text = record.get("query")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: column 'query' must be a non-empty string", path=str(path))
        pos = lookup(record.get("positive_ids"), where, "positive_ids")
        if not pos:
            raise DataError(f"{where}: positive_ids is empty", path=str(path))
        cands = lookup(record.get("candidate_ids"), where, "candidate_ids")
        kept = record.get("candidate_kept") or []
        if len(kept) != len(cands):
            raise DataError(f"{where}: candidate_kept has {len(kept)} values for {len(cands)} candidates", path=str(path))
        extra = [d for d in data_positives.get(str(record.get("query_id")), []) if d not in pos]
        if extra:
            pos = pos + extra
            kept = [k for d, k in zip(cands, kept) if d not in extra]
            cands = [d for d in cands if d not in extra]
        everything.append(cands)
        if pool == "kept":
            cands = [d for d, k in zip(cands, kept) if k]
        mined = [d for d in lookup(record.get("negative_ids"), where, "negative_ids") if d not in extra]
        if sampling == "top":
            # the mined choice first (it honours range_min and the miner's filters), then the rest of the pool
            cands = list(dict.fromkeys(mined + cands))
        chosen = max(chosen, len(mined))
        query_ids.append(str(record.get("query_id")))
        query_texts.append(text)
        positives.append(pos)
        candidates.append(cands)
    n = num_negatives or max(1, chosen)
    negative_pool = NegativePool(
        data.corpus_texts, query_ids, query_texts, positives, candidates, num_negatives=n, seed=seed, sampling=sampling
    )
    ds = negative_pool.dataset()
    dropped = int(len(negative_pool) - len(ds))
    info = {
        "rows": len(ds),
        "rows_without_candidates": dropped,
        "pool": pool,
        "sampling": sampling,
        "mean_pool_size": _mean_len(candidates),
    }
    return TrainingInput(
        ds,
        "candidates",
        n,
        pool=negative_pool,
        data=data,
        inputs={"train": str(path), **data.inputs},
        info=info,
        mined_with=mined_with or None,
        all_candidates=everything,
    )


def _mean_len(lists: list[list[int]]) -> float:
    return round(sum(map(len, lists)) / max(1, len(lists)), 2)
