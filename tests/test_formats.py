"""The formats registry: every format written by its builder reads back with its own columns and types,
and each format's columns are spelled out in the registry only."""

from __future__ import annotations

import ast
import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import hardneg
from hardneg import formats
from hardneg.data import RetrievalData
from hardneg.formats import FORMATS, Layout
from hardneg.mined import VERDICT_CODE, MinedBatch
from hardneg.writers import RowBuilder, StreamingWriter

CONTAINERS = {"parquet": "out.parquet", "jsonl": "out.jsonl", "hf": "out_dataset"}
SRC = Path(hardneg.__file__).parent


@pytest.fixture
def data(two_queries) -> RetrievalData:
    """With input fields carried through (FlagEmbedding's ``prompt`` and ``type``)."""
    fields = {"prompt": "Represent this sentence for searching relevant passages: ", "type": "normal"}
    return dataclasses.replace(two_queries, query_fields=[fields, fields])


@pytest.fixture
def batch() -> MinedBatch:
    """Two queries, one short of negatives, with everything a batch can carry: verdicts, candidates left
    outside the window, teacher scores and a promoted positive."""
    v = VERDICT_CODE
    return MinedBatch(
        queries=np.array([0, 1]),
        positive_scores=[np.array([0.8, 0.7], np.float32), np.array([0.9], np.float32)],
        negatives=np.array([[3, 4], [5, -1]]),
        negative_scores=np.array([[0.5, 0.25], [0.4, np.nan]], np.float32),
        candidates=np.array([[3, 4, -1], [5, -1, -1]]),
        candidate_scores=np.array([[0.5, 0.25, 0.95], [0.4, -np.inf, -np.inf]], np.float32),
        candidate_kept=np.array([[True, True, False], [True, False, False]]),
        promoted=[np.array([4]), np.array([], dtype=np.int64)],
        promoted_scores=[np.array([0.85], np.float32), np.array([], np.float32)],
        verdicts=np.array([[v["chosen"], v["chosen"], v["known_positive_id"]], [v["chosen"], -1, -1]], np.int8),
        excluded=np.array([[-1, -1, 0], [-1, -1, -1]]),
        teacher_scores=np.array([[0.1, 0.2, np.nan], [0.3, np.nan, np.nan]], np.float32),
    )


OPTIONS = list(itertools.product((False, True), repeat=3))


@pytest.mark.parametrize("container", list(CONTAINERS))
@pytest.mark.parametrize(("scores", "sources", "teacher"), OPTIONS, ids=lambda b: "yes" if b else "no")
@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_reads_back_with_its_registered_columns_and_types(
    tmp_path, data, batch, name, scores, sources, teacher, container
):
    fmt = FORMATS[name]
    if not teacher:  # a run without a teacher has no teacher scores
        batch.teacher_scores = None
    builder = RowBuilder(data, name, 2, scores, positive_sources=sources, teacher_scores=teacher)
    rows = builder.rows(batch)
    schema = builder.schema
    path = tmp_path / CONTAINERS[container]
    with StreamingWriter(path, schema) as writer:
        writer.write(rows)

    table = fmt.read(path).table()
    assert table.num_rows == len(rows) > 0
    assert table.schema.names == schema.names
    assert table.schema.equals(schema), f"{table.schema}\n!=\n{schema}"
    # the layout read off the file gives the same columns (what a reader of the format relies on)
    assert fmt.schema(fmt.layout_of(table.schema)).equals(schema)


def test_the_writers_schema_is_the_registrys(data):
    plain = dataclasses.replace(data, query_fields=None)  # no input fields carried through
    for name, fmt in FORMATS.items():
        for scores, sources, teacher in OPTIONS:
            layout = Layout(3, scores, sources, teacher)
            builder = RowBuilder(plain, name, 3, scores, positive_sources=sources, teacher_scores=teacher)
            assert builder.schema == fmt.schema(layout)


def test_jsonl_keeps_a_value_the_format_type_cannot_hold(tmp_path):
    """A hand-made labelled pair file with soft labels reads back with them, not cut to the int8 labels hardneg writes."""
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"anchor": "q", "positive": "p", "label": 0.7}) + "\n", encoding="utf-8")
    table = FORMATS["labeled-pair"].read(path).table()
    assert table.column("label").to_pylist() == [0.7]
    path.write_text(json.dumps({"anchor": "q", "positive": "p", "label": 1}) + "\n", encoding="utf-8")
    assert FORMATS["labeled-pair"].read(path).table().schema.field("label").type == pa.int8()


def test_a_file_is_known_by_its_columns():
    assert formats.guess(["query_id", "query", "candidate_ids"]) is formats.CANDIDATES  # the marker alone decides
    assert formats.guess(["anchor", "positive", "negative"]).name == "triplet"
    assert formats.guess(["anchor", "positive", "negative_1", "negative_2", "scores"]).name == "n-tuple"
    assert formats.guess(["query", "pos", "neg", "prompt"]).name == "flagembedding"
    assert formats.guess(["query_id", "query", "positive_passages", "negative_passages"]).name == "tevatron"


def test_output_format_choices_are_the_registry():
    from hardneg.mining.config import OUTPUT_FORMATS

    assert OUTPUT_FORMATS == tuple(FORMATS)


# --- each format's columns are declared once --------------------------------------------------


def _column_names(fmt: formats.Format) -> set[str]:
    layouts = [Layout(2, *flags) for flags in OPTIONS]
    return {name for layout in layouts for name in fmt.names(layout)}


def _name(node: ast.AST) -> str | None:
    """A string literal, or the name of a ``("name", type)`` column literal."""
    if isinstance(node, ast.Tuple) and node.elts:
        node = node.elts[0]
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _literal_strings(node: ast.AST) -> list[str] | None:
    """The names of a tuple, list or set literal of strings or of ``(name, type)`` pairs (else ``None``)."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set) and node.elts:
        names = [_name(e) for e in node.elts]
        if None not in names:
            return names
    return None


def column_lists(source: str) -> list[tuple[int, str, list[str]]]:
    """``(line, format, names)`` for each literal of three or more strings that are all column names of one format."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names = _literal_strings(node)
        if names is None or len(set(names)) < 3:
            continue
        for name, fmt in FORMATS.items():
            if set(names) <= _column_names(fmt):
                found.append((node.lineno, name, names))
                break
    return found


def test_the_check_finds_a_column_list():
    assert column_lists('REQUIRED = ("query_id", "query", "positive_ids")\nok = ("query", "a", "b")') == [
        (1, "candidates", ["query_id", "query", "positive_ids"])
    ]
    assert column_lists('x = ["anchor", "positive", "label"]')[0][2] == ["anchor", "positive", "label"]
    assert column_lists('x = ("anchor", "other", "label")') == []
    assert column_lists('fields = [("anchor", s), ("positive", s), ("negative", s)]')[0][1] == "triplet"


def test_format_columns_are_spelled_out_only_in_the_registry():
    """A list of a format's column names outside hardneg/formats.py is a second declaration that can drift from it
    (the candidates file's columns once stood in the writers, the candidates reader and the inspect page)."""
    elsewhere = {}
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "formats.py":
            continue
        found = column_lists(path.read_text(encoding="utf-8"))
        if found:
            elsewhere[str(path.relative_to(SRC))] = found
    assert elsewhere == {}
    assert column_lists((SRC / "formats.py").read_text(encoding="utf-8"))  # the registry does hold them


def test_the_candidates_file_reads_the_registry_columns():
    from hardneg.candidates_file import CANDIDATE_COLUMNS

    assert CANDIDATE_COLUMNS == formats.CANDIDATES.required
