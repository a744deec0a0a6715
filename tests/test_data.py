"""Reading BEIR folders and pair files, and the error (or warning) each kind of bad input gets."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hardneg
from hardneg import ConfigError, DataError, ModelError, load_beir, load_data, load_pairs
from hardneg.encoding.model import load_model

# --- BEIR folders -----------------------------------------------------------------------------


def test_loads_the_tiny_beir_folder(tiny_beir):
    data = load_beir(tiny_beir, split="train")
    assert data.query_ids == ["q_france", "q_cookies", "q_photo", "q_planet"]
    assert len(data.corpus_ids) == 30 and data.num_pairs == 5
    assert [data.corpus_ids[i] for i in data.positives[2]] == ["photo1", "photo2"]
    france = data.corpus_ids.index("paris")
    assert data.corpus_texts[france] == "Paris Paris is the capital of France. The city lies on the River Seine."
    assert data.corpus_texts[data.corpus_ids.index("paris_fn")].startswith("Paris is the capital and largest")
    assert set(data.inputs) == {"corpus", "queries", "qrels"}
    assert load_beir(tiny_beir, split="test").query_ids == ["q_unused"]


def test_qrels_without_header_and_trec_style(tiny_beir):
    (tiny_beir / "qrels" / "train.tsv").write_text("q_france\tparis\t1\nq_cookies\tcookies\t2\nq_planet\tmars\t0\n")
    data = load_beir(tiny_beir, split="train", on_error="skip")
    assert data.query_ids == ["q_france", "q_cookies"]  # q_planet has only a score-0 judgement
    assert data.skipped == {"no_positive": 1}
    (tiny_beir / "qrels" / "train.tsv").write_text("q_france\t0\tparis\t1\nq_cookies\tQ0\tcookies\t2\n")
    assert load_beir(tiny_beir, split="train").query_ids == ["q_france", "q_cookies"]


def test_missing_files_and_splits_are_named(tiny_beir):
    with pytest.raises(DataError, match=r"no qrels for split 'dev'.*\['test', 'train'\]"):
        load_beir(tiny_beir, split="dev")
    (tiny_beir / "queries.jsonl").unlink()
    with pytest.raises(DataError, match=r"queries\.jsonl"):
        load_beir(tiny_beir)
    with pytest.raises(DataError, match="no such file or folder"):
        load_data(tiny_beir / "nowhere")


def append_line(path: Path, line: str) -> int:
    """Append a line and return its 1-based line number."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text + line + "\n", encoding="utf-8")
    return len(text.splitlines()) + 1


# Each case: file to change, line to append, message expected, kind counted when skipping.
BAD_BEIR_LINES = {
    "malformed corpus JSON": ("corpus.jsonl", '{"_id": "broken", "text": "unterminated', "malformed JSON", "malformed_line"),
    "corpus line not an object": ("corpus.jsonl", "[1, 2, 3]", "expected a JSON object, got list", "malformed_line"),
    "malformed query JSON": ("queries.jsonl", '{"_id": "q_x", "text": }', "malformed JSON", "malformed_line"),
    "document without _id": ("corpus.jsonl", '{"text": "no id here"}', "no '_id'", "missing_id"),
    "duplicate document id": (
        "corpus.jsonl",
        '{"_id": "paris", "text": "Another text."}',
        "'paris' appears again",
        "duplicate_id",
    ),
    "duplicate query id": ("queries.jsonl", '{"_id": "q_france", "text": "Other?"}', "'q_france' appears again", "duplicate_id"),
    "empty document": (
        "corpus.jsonl",
        '{"_id": "blank", "title": " ", "text": ""}',
        "'blank' has an empty title and text",
        "empty_text",
    ),
    "empty query": ("queries.jsonl", '{"_id": "q_blank", "text": "   "}', "'q_blank' has an empty text", "empty_text"),
    "qrels unknown query": (
        "qrels/train.tsv",
        "q_ghost\tparis\t1",
        "query id 'q_ghost' is not in queries.jsonl",
        "unknown_query",
    ),
    "qrels unknown document": (
        "qrels/train.tsv",
        "q_france\td_ghost\t1",
        "corpus id 'd_ghost' is not in corpus.jsonl",
        "unknown_document",
    ),
    "qrels wrong field count": ("qrels/train.tsv", "q_france\tparis", r"expected 3 .*tab-separated fields", "malformed_line"),
    "qrels bad score": ("qrels/train.tsv", "q_france\tparis\tyes", "score 'yes' is not a number", "malformed_line"),
}


@pytest.mark.parametrize("case", list(BAD_BEIR_LINES))
def test_bad_beir_line_raises_with_file_and_line(tiny_beir, case):
    name, line, message, _ = BAD_BEIR_LINES[case]
    number = append_line(tiny_beir / name, line)
    with pytest.raises(DataError, match=message) as info:
        load_beir(tiny_beir)
    assert str(info.value).startswith(f"{tiny_beir / name}:{number}: ")
    assert info.value.line == number


@pytest.mark.parametrize("case", list(BAD_BEIR_LINES))
def test_bad_beir_line_is_skipped_with_a_warning(tiny_beir, case, caplog):
    name, line, message, kind = BAD_BEIR_LINES[case]
    number = append_line(tiny_beir / name, line)
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        data = load_beir(tiny_beir, on_error="skip")
    assert data.skipped == {kind: 1}
    assert any(f"{tiny_beir / name}:{number}:" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    assert data.num_pairs == 5  # the good records are all still there
    assert data.corpus_texts[data.corpus_ids.index("paris")].startswith("Paris Paris is")


def test_duplicate_id_with_the_same_text_is_not_an_error(tiny_beir):
    append_line(
        tiny_beir / "corpus.jsonl",
        json.dumps({"_id": "berlin", "title": "Berlin", "text": "Berlin is the capital of Germany and its largest city."}),
    )
    data = load_beir(tiny_beir)
    assert data.corpus_ids.count("berlin") == 1 and data.skipped == {}


def test_query_without_positive_raises_or_is_skipped(tiny_beir, caplog):
    append_line(tiny_beir / "qrels" / "train.tsv", "q_unused\tlight\t0")
    with pytest.raises(DataError, match="query 'q_unused' has no judgement with score > 0"):
        load_beir(tiny_beir)
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        data = load_beir(tiny_beir, on_error="skip")
    assert "q_unused" not in data.query_ids and data.skipped == {"no_positive": 1}
    assert "q_unused" in caplog.text


def test_split_without_any_positive_is_an_error_even_when_skipping(tiny_beir):
    (tiny_beir / "qrels" / "train.tsv").write_text("q_france\tparis\t0\n")
    with pytest.raises(DataError, match="has no query with a positive"):
        load_beir(tiny_beir, on_error="skip")


def test_skip_counts_reach_the_summary(tiny_beir):
    append_line(tiny_beir / "corpus.jsonl", "{oops")
    append_line(tiny_beir / "qrels" / "train.tsv", "q_ghost\tparis\t1")
    with pytest.raises(DataError):
        hardneg.mine(tiny_beir, preset="dpr", show_progress=False)
    result = hardneg.mine(tiny_beir, preset="dpr", on_error="skip", show_progress=False)
    assert result.summary["skipped_input"] == {"malformed_line": 1, "unknown_query": 1}


def test_on_error_must_be_raise_or_skip(tiny_beir):
    with pytest.raises(ConfigError, match="'ignore'"):
        load_beir(tiny_beir, on_error="ignore")
    with pytest.raises(ConfigError, match="'ignore'"):
        hardneg.mine(tiny_beir, on_error="ignore")


# --- pair files -------------------------------------------------------------------------------

PAIRS = [
    {"id": 1, "question": "What is the capital of France?", "answer": "Paris is the capital of France."},
    {"id": 2, "question": "How do I bake cookies?", "answer": "Bake the cookie dough for twelve minutes."},
    {"id": 3, "question": "What is the capital of France?", "answer": "The French capital is Paris."},  # a second positive
    {"id": 4, "question": "What is the capital of France?", "answer": "Paris is the capital of France."},  # repeated pair
]


def write_pairs(path: Path, rows: list[dict]) -> Path:
    suffix = path.suffix
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif suffix in (".csv", ".tsv"):
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t" if suffix == ".tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".tsv", ".parquet"])
def test_pair_files_with_custom_columns(tmp_path, suffix):
    path = write_pairs(tmp_path / f"pairs{suffix}", PAIRS)
    data = load_data(path, anchor_column="question", positive_column="answer")
    assert data.query_texts == ["What is the capital of France?", "How do I bake cookies?"]
    assert data.query_ids == ["q0", "q1"]
    assert [[data.corpus_texts[d] for d in p] for p in data.positives] == [
        ["Paris is the capital of France.", "The French capital is Paris."],
        ["Bake the cookie dough for twelve minutes."],
    ]
    assert len(data.corpus_ids) == 3 and data.inputs == {"pairs": str(path)}


def test_pair_file_defaults_to_the_first_two_columns(tmp_path):
    rows = [{"anchor": r["question"], "positive": r["answer"]} for r in PAIRS]
    data = load_pairs(write_pairs(tmp_path / "p.csv", rows))
    assert data.num_pairs == 3


def test_pair_file_with_extra_corpus(tmp_path):
    pairs = write_pairs(tmp_path / "p.jsonl", PAIRS)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        json.dumps({"_id": "c_paris", "title": "", "text": "Paris is the capital of France."})
        + "\n"
        + json.dumps({"_id": "c_berlin", "title": "Berlin", "text": "Berlin is the capital of Germany."})
        + "\n"
        + json.dumps({"text": "A document without an id."})
        + "\n"
    )
    data = load_pairs(pairs, anchor_column="question", positive_column="answer", corpus=corpus)
    assert data.corpus_ids[:3] == ["c_paris", "c_berlin", "c2"]
    assert data.corpus_texts[1] == "Berlin Berlin is the capital of Germany."
    # A positive that is also a corpus document keeps the corpus id.
    assert data.positives[0][0] == 0
    assert len(data.corpus_ids) == 5 and set(data.inputs) == {"pairs", "corpus"}


def test_pair_file_with_corpus_table(tmp_path):
    pairs = write_pairs(tmp_path / "p.jsonl", PAIRS)
    corpus = write_pairs(
        tmp_path / "corpus.csv", [{"_id": "x1", "text": "Lyon is in France."}, {"_id": "", "text": "Madrid is in Spain."}]
    )
    data = load_pairs(pairs, anchor_column="question", positive_column="answer", corpus=corpus)
    assert data.corpus_ids[:2] == ["x1", "c1"]
    with pytest.raises(DataError, match="needs a 'text' column"):
        load_pairs(pairs, corpus=write_pairs(tmp_path / "bad.csv", [{"_id": "x", "body": "y"}]))


def test_corpus_table_with_duplicate_id_and_different_text(tmp_path, caplog):
    pairs = write_pairs(tmp_path / "p.jsonl", PAIRS)
    corpus = write_pairs(
        tmp_path / "corpus.csv", [{"_id": "x1", "text": "Lyon is in France."}, {"_id": "x1", "text": "Madrid is in Spain."}]
    )
    columns = dict(anchor_column="question", positive_column="answer")
    with pytest.raises(DataError, match=r"corpus\.csv:3: .*'x1'"):
        load_pairs(pairs, corpus=corpus, **columns)
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        data = load_pairs(pairs, corpus=corpus, on_error="skip", **columns)
    assert data.corpus_ids.count("x1") == 1 and data.skipped == {"duplicate_id": 1, "duplicate_pair": 1}


def test_unknown_column_is_named(tmp_path):
    path = write_pairs(tmp_path / "p.jsonl", PAIRS)
    with pytest.raises(DataError, match=r"anchor column 'query' not found; columns are \['id', 'question', 'answer'\]"):
        load_pairs(path, anchor_column="query")


def test_pair_file_bad_lines(tmp_path, caplog):
    path = tmp_path / "p.jsonl"
    path.write_text(
        '{"a": "What is the capital of France?", "p": "Paris."}\n'
        '{"a": "broken", "p": \n'
        '{"a": "", "p": "Orphan positive."}\n'
        '{"a": "How do I bake cookies?", "p": ""}\n'
    )
    with pytest.raises(DataError, match=r"p\.jsonl:2: malformed JSON"):
        load_pairs(path)
    with caplog.at_level(logging.WARNING, logger="hardneg"):
        data = load_pairs(path, on_error="skip")
    assert data.query_texts == ["What is the capital of France?"]
    assert data.skipped == {"malformed_line": 1, "empty_text": 1, "no_positive": 1}
    assert "p.jsonl:3:" in caplog.text and "p.jsonl:4:" in caplog.text


def test_csv_pair_error_names_the_line(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("anchor,positive\nWhat is the capital of France?,Paris.\n,Orphan.\n")
    with pytest.raises(DataError, match=r"p\.csv:3: empty or missing anchor"):
        load_pairs(path)


def test_pair_file_errors(tmp_path):
    with pytest.raises(DataError, match="unsupported file type '.txt'"):
        load_pairs(write_text(tmp_path / "p.txt", "a\tb\n"))
    with pytest.raises(DataError, match="no usable"):
        load_pairs(write_text(tmp_path / "empty.csv", "anchor,positive\n"))
    with pytest.raises(DataError, match="at least two columns"):
        load_pairs(write_text(tmp_path / "one.csv", "anchor\nx\n"))
    with pytest.raises(ConfigError, match="corpus is for pair files"):
        load_data("demo", corpus=str(tmp_path / "p.txt"))


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_mining_a_pair_file_uses_the_extra_corpus(tmp_path):
    pairs = write_pairs(tmp_path / "p.tsv", PAIRS)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"_id": f"x{i}", "text": t}) + "\n"
            for i, t in enumerate(["Lyon is in France.", "Bread needs yeast.", "Mars is red."])
        )
    )
    result = hardneg.mine(
        pairs,
        anchor_column="question",
        positive_column="answer",
        corpus=str(corpus),
        preset="top",
        num_negatives=2,
        show_progress=False,
    )
    rows = result.table.to_pylist()
    assert len(rows) == 3  # one per (anchor, positive)
    france = [r for r in rows if r["anchor"] == "What is the capital of France?"]
    for row in france:
        assert {row["negative_1"], row["negative_2"]}.isdisjoint(
            {"Paris is the capital of France.", "The French capital is Paris."}
        )


# --- models -----------------------------------------------------------------------------------


def test_missing_model_path_is_a_model_error(tmp_path, tiny_beir):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelError, match="no such folder"):
        load_model(str(missing))
    with pytest.raises(ModelError, match=str(missing)):
        hardneg.mine(tiny_beir, preset="top", model=str(missing), show_progress=False)
    afile = write_text(tmp_path / "model.bin", "not a model")
    with pytest.raises(ModelError, match="is a file"):
        load_model(str(afile))
    with pytest.raises(ModelError, match="could not load"):
        load_model(str(tmp_path))  # a folder, but not a model


def test_qrels_naming_absent_documents_are_refused_skipped_or_judged(tiny_beir, caplog):
    qrels = tiny_beir / "qrels" / "train.tsv"
    qrels.write_text(qrels.read_text() + "q_france\td_ghost\t1\nq_ghost_only\td_ghost\t1\n")
    (tiny_beir / "queries.jsonl").write_text(
        (tiny_beir / "queries.jsonl").read_text() + '{"_id": "q_ghost_only", "text": "Where is the ghost?"}\n'
    )
    with pytest.raises(DataError, match="'d_ghost' is not in corpus.jsonl; --on-error skip leaves such lines out"):
        load_beir(tiny_beir, split="train")
    skipped = load_beir(tiny_beir, split="train", on_error="skip")
    assert skipped.skipped == {"unknown_document": 2} and not skipped.absent_positives
    assert "q_ghost_only" not in skipped.query_ids

    with caplog.at_level(logging.WARNING):
        judged = load_beir(tiny_beir, split="train", absent_documents="judge")
    assert "2 judgements of documents absent from corpus.jsonl" in caplog.text
    assert judged.absent_positives == {"q_france": {"d_ghost": 1.0}, "q_ghost_only": {"d_ghost": 1.0}}
    assert judged.positives[judged.query_ids.index("q_ghost_only")] == []  # kept: evaluation scores it 0
    assert judged.skipped == {}
    minable = judged.in_corpus()  # what the audit mines: every query has a positive in the corpus
    assert minable.query_ids == skipped.query_ids and minable.positives == skipped.positives
    assert not minable.absent_positives
    with pytest.raises(ConfigError, match="absent_documents"):
        load_beir(tiny_beir, split="train", absent_documents="keep")
