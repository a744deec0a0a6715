"""The drop-in on streamed pairs: a ``datasets.IterableDataset`` or any iterator of pairs, mined in chunks.

The corpus is encoded once; each ``chunk_pairs`` chunk's queries (and positives not in the corpus) are
encoded as it comes and the chunk is mined by :func:`hardneg.mine` with those vectors (the same rule as any
other call); its rows are appended to ``out`` or kept. Memory is the corpus and its vectors, plus one chunk.
How to call it, and the memory measured on a million pairs: ``docs/migrating.md`` (Streamed pairs).

An anchor's positives are known within its chunk: a chunk never ends inside a run of equal anchors,
so a stream that keeps an anchor's pairs together mines as the whole dataset would.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

Pairs = tuple[list[str], list[str]]

SUMMED = ("queries", "pairs", "rows", "queries_short", "pairs_dropped", "rows_padded")
"""Summary counts that add up over chunks."""


def is_streamed(dataset: Any) -> bool:
    """Whether ``dataset`` is read as a stream: an ``IterableDataset``, a generator or any other iterator."""
    from datasets import IterableDataset

    return isinstance(dataset, IterableDataset | Iterator)


def pair_chunks(
    rows: Iterable[Any], anchor: str | None, positive: str | None, size: int
) -> Iterator[tuple[Pairs, tuple[str, str]]]:
    """``((anchors, positives), (anchor column, positive column))`` of about ``size`` pairs at a time.

    Rows are records (dicts: the columns named, else the first two, as the peer picks) or ``(anchor, positive)``
    tuples (columns ``anchor`` and ``positive``). A chunk runs on past ``size`` while the anchor repeats.
    """
    anchors: list[str] = []
    positives: list[str] = []
    columns: tuple[str, str] | None = None
    for number, row in enumerate(rows, start=1):
        if isinstance(row, Mapping):
            if columns is None:
                names = list(row)
                if len(names) < 2:
                    raise ValueError(f"dataset row {number}: {names} has fewer than two columns (anchor, positive)")
                columns = (anchor if anchor in row else names[0], positive if positive in row else names[1])
            pair = (row.get(columns[0]), row.get(columns[1]))
        elif isinstance(row, tuple | list) and len(row) == 2:
            columns = columns or ("anchor", "positive")
            pair = (row[0], row[1])
        else:
            raise ValueError(f"dataset row {number}: expected a record or an (anchor, positive) pair, got {type(row).__name__}")
        if len(anchors) >= size and pair[0] != anchors[-1]:
            yield (anchors, positives), columns
            anchors, positives = [], []
        anchors.append(pair[0])
        positives.append(pair[1])
    if columns is None:
        raise ValueError("The dataset is empty. Please provide a non-empty dataset.")
    if anchors:
        yield (anchors, positives), columns


def mine_streamed(
    rows: Iterable[Any],
    *,
    columns: tuple[str | None, str | None],
    corpus: list[str] | None,
    chunk_pairs: int,
    model: Any,
    cache_key: str | None,
    preset: str,
    teacher: Any,
    settings: dict[str, Any],
    shape: Callable[[Any, dict[str, str]], Any],
    verbose: bool,
) -> Any:
    """Mine ``rows`` chunk by chunk (see the module docstring) with :func:`hardneg.mine` (``preset``, ``teacher``,
    ``settings``: its parameters; ``out`` and ``overwrite`` among them name the file written), every vector from one
    :class:`~hardneg.candidates.retriever.DenseRetriever` of ``model``. ``shape(result, renames)``: a chunk's
    :class:`~hardneg.mining.run.MineResult` as the peer's ``Dataset``. Returns a ``Dataset`` of every row, or with
    ``out`` an ``IterableDataset`` reading the file written.
    """
    from hardneg.candidates.retriever import DenseRetriever
    from hardneg.data import load_data
    from hardneg.data.corpus import corpus_documents
    from hardneg.drivers.mine import mine
    from hardneg.encoding.encode import Embeddings
    from hardneg.encoding.model import as_embedder, describe_model
    from hardneg.encoding.precomputed import PrecomputedEmbeddings
    from hardneg.errors import ConfigError
    from hardneg.io.tables import Problems
    from hardneg.mining.config import make_config
    from hardneg.options import EncodingOptions, values_of

    settings = dict(settings)
    out, overwrite = settings.pop("out", None), settings.pop("overwrite", False)
    embedder = as_embedder(model, cache_key)
    config = make_config(preset, model=describe_model(embedder), **settings)
    encoder = DenseRetriever(embedder, EncodingOptions(**values_of(config, EncodingOptions)), shard_size=config.shard_size)
    if not isinstance(chunk_pairs, int) or chunk_pairs < 1:
        raise ConfigError(f"chunk_pairs must be a positive integer, got {chunk_pairs!r}")
    if out is not None and Path(out).suffix.lower() not in (".parquet", ".jsonl"):
        raise ConfigError(f"out={out!r}: a streamed dataset is written as it is mined, to a .parquet or .jsonl file")
    if out is not None and Path(out).exists() and not overwrite:
        raise ConfigError(f"out={out!r} exists; pass overwrite=True to replace it")
    documents, _ = corpus_documents(corpus, Problems("raise"))
    base = list(dict.fromkeys(documents[1])) if documents else []  # every chunk's corpus starts with these
    base_vectors = encoder.encode_documents(base) if base else None
    summaries: list[dict[str, Any]] = []
    tables = []
    writer = None
    with contextlib.ExitStack() as stack:  # an error closes the writer, which removes the partial file
        for number, ((anchors, positives), names) in enumerate(pair_chunks(rows, *columns, chunk_pairs), start=1):
            data = load_data({"anchor": anchors, "positive": positives}, corpus=corpus)
            added = data.corpus_texts[len(base) :]  # this chunk's positives that are not in the corpus
            shards = base_vectors.shards if base_vectors is not None else []
            keys = base_vectors.keys if base_vectors is not None else []
            if added:
                more = encoder.encode_documents(added)
                shards, keys = shards + more.shards, (keys + more.keys if keys and more.keys else [])
            vectors = PrecomputedEmbeddings(
                encoder.encode_queries(data.query_texts), Embeddings(shards, keys), name=encoder.options.model or "model"
            )
            result = mine(data, preset=preset, embeddings=vectors, teacher=teacher, **settings)
            mined = shape(result, {"anchor": names[0], "positive": names[1]})
            summaries.append(json.loads(mined.info.description))
            if verbose:
                print(f"chunk {number}: {len(anchors):,} pairs, {len(mined):,} rows")
            table = mined.data.table
            if out is None:
                tables.append(table)
                continue
            if writer is None:
                from hardneg.writers import StreamingWriter

                writer = stack.enter_context(StreamingWriter(out, table.schema))
            writer.write_table(table)
    # the rows (in memory, or the file written read as an ``IterableDataset``), with the chunks' summary
    import datasets
    import pyarrow as pa

    info = datasets.DatasetInfo(description=json.dumps(merged_summary(summaries), default=str))
    if out is None:
        return datasets.Dataset(pa.concat_tables(tables), info=info)
    builder = "parquet" if Path(out).suffix.lower() == ".parquet" else "json"
    streamed = datasets.load_dataset(builder, data_files=str(out), split="train", streaming=True)
    streamed.info.description = info.description
    return streamed


def merged_summary(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary for a streamed run: the counts summed over chunks, the filters' drops summed, each chunk's own kept."""
    merged: dict[str, Any] = {key: sum(s.get(key, 0) for s in summaries) for key in SUMMED}
    dropped: dict[str, int] = {}
    for s in summaries:
        for name, count in s.get("dropped", {}).items():
            dropped[name] = dropped.get(name, 0) + count
    merged |= {"dropped": dropped, "chunks": len(summaries), "chunk_summaries": summaries}
    return merged
