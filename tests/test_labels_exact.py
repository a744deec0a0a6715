"""Labels are read exactly: a contradictory judgement, a non-JSON number, a number where a text or id
belongs, trailing whitespace in qrels and a long CSV field are each read as meant or refused at their
file and line, never guessed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hardneg.data import Problems, load_beir, load_pairs, read_qrels
from hardneg.errors import DataError


def _qrels(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_pair_judged_twice_with_different_scores_is_an_error_naming_both_lines(tmp_path):
    path = _qrels(tmp_path / "q.tsv", ["query-id\tcorpus-id\tscore", "q1\td1\t1", "q1\td2\t1", "q1\td1\t1", "q1\td1\t0"])
    with pytest.raises(DataError, match=r"q\.tsv:5: query 'q1' and document 'd1' are judged with different scores: "
                       r"1 at line 2, 0 at line 5"):  # fmt: skip
        read_qrels(path, Problems("raise"))
    skipping = Problems("skip")
    assert read_qrels(path, skipping) == [("q1", "d2", 1.0, 3)]  # neither score of q1/d1 is kept
    assert skipping.counts == {"conflicting_judgement": 3}  # every line of the pair is counted


def test_an_exact_repeat_of_a_judgement_is_no_conflict(tmp_path):
    path = _qrels(tmp_path / "q.tsv", ["q1\td1\t1", "q1\td1\t1.0"])
    assert [r[:3] for r in read_qrels(path, Problems("raise"))] == [("q1", "d1", 1.0)] * 2


def test_a_conflicting_judgement_in_a_beir_folder_is_skipped_and_counted(tiny_beir):
    with open(tiny_beir / "qrels" / "train.tsv", "a", encoding="utf-8") as fh:
        fh.write("q_photo\tphoto2\t0\n")
    with pytest.raises(DataError, match="'q_photo' and document 'photo2' are judged with different scores"):
        load_beir(tiny_beir)
    data = load_beir(tiny_beir, on_error="skip")
    assert data.skipped == {"conflicting_judgement": 2}
    photo = data.positives[data.query_ids.index("q_photo")]
    assert [data.corpus_ids[d] for d in photo] == ["photo1"]


@pytest.mark.parametrize("trailing", ["\t", "\t\t", " ", "\t \r"])
def test_trailing_whitespace_in_qrels_is_still_beir(tmp_path, trailing):
    path = _qrels(tmp_path / "q.tsv", [f"query-id\tcorpus-id\tscore{trailing}", f"q1\td1\t1{trailing}", f"q2\td2\t0{trailing}"])
    assert read_qrels(path, Problems("raise")) == [("q1", "d1", 1.0, 2), ("q2", "d2", 0.0, 3)]


@pytest.mark.parametrize("score", ["nan", "inf", "-Infinity"])
def test_a_qrels_score_that_is_not_finite_is_refused(tmp_path, score):
    path = _qrels(tmp_path / "q.tsv", ["q1\td1\t1", f"q1\td2\t{score}"])
    with pytest.raises(DataError, match=rf"q\.tsv:2: score '{score}' is not a finite number"):
        read_qrels(path, Problems("raise"))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("name", ["corpus.jsonl", "queries.jsonl"])
def test_non_json_literals_are_errors_at_their_line(tiny_beir, name, literal):
    path = tiny_beir / name
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.append(f'{{"_id": "x", "text": "a text", "score": {literal}}}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"{name}:{len(lines)}: malformed JSON \({literal} is not JSON"):
        load_beir(tiny_beir)
    assert load_beir(tiny_beir, on_error="skip").skipped == {"malformed_line": 1}


def test_a_whole_number_id_is_read_as_its_text(tiny_beir):
    with open(tiny_beir / "corpus.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"_id": 42, "title": "", "text": "Forty-two is the answer."}) + "\n")
    with open(tiny_beir / "queries.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"_id": 7, "text": "What is the answer?"}) + "\n")
    with open(tiny_beir / "qrels" / "train.tsv", "a", encoding="utf-8") as fh:
        fh.write("7\t42\t1\n")
    data = load_beir(tiny_beir)
    assert data.corpus_ids[data.positives[data.query_ids.index("7")][0]] == "42"


@pytest.mark.parametrize(
    "name, record, message",
    [
        ("queries.jsonl", {"_id": "q9", "text": 42}, r"query 'q9': 'text' must hold text, got int 42"),
        ("queries.jsonl", {"_id": 1.5, "text": "a query"}, r"'_id' must hold text or a whole number, got float 1.5"),
        ("queries.jsonl", {"_id": True, "text": "a query"}, r"'_id' must hold text or a whole number, got bool True"),
        ("corpus.jsonl", {"_id": "d9", "text": 3.25}, r"document 'd9': 'text' must hold text, got float 3.25"),
        ("corpus.jsonl", {"_id": "d9", "title": 7, "text": "x"}, r"document 'd9': 'title' must hold text, got int 7"),
        ("corpus.jsonl", {"_id": [1], "text": "x"}, r"'_id' must hold text or a whole number, got list \[1\]"),
    ],
)
def test_a_number_where_a_text_belongs_is_named_not_called_empty(tiny_beir, name, record, message):
    with open(tiny_beir / name, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    with pytest.raises(DataError, match=message) as info:
        load_beir(tiny_beir)
    assert "empty" not in str(info.value)
    assert load_beir(tiny_beir, on_error="skip").skipped == {"bad_field": 1}


@pytest.mark.parametrize(
    "second, message",
    [
        ('{"q": "b", "p": "c", "w": NaN}', r"malformed JSON \(NaN is not JSON"),
        ('{"q": "b", "p": 12}', r"column 'p' must hold text, got int 12"),
    ],
)
def test_a_pair_file_names_a_non_json_literal_or_a_number_text_at_its_line(tmp_path, second, message):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"q": "a query", "p": "a document"}\n' + second + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs\.jsonl:2: " + message):
        load_pairs(path)


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_a_field_over_the_csv_modules_default_limit_is_read(tmp_path, suffix):
    long_text = "word " * 60_000  # 300,000 characters; the csv module refuses fields over 131,072 by default
    path = tmp_path / f"pairs{suffix}"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="," if suffix == ".csv" else "\t")
        writer.writerows([["anchor", "positive"], ["a query", long_text], ["another query", "short"]])
    limit = csv.field_size_limit()
    data = load_pairs(path, tsv_quotes=True)
    assert data.corpus_texts[0] == long_text.strip() and len(data.query_texts) == 2
    assert csv.field_size_limit() == limit  # the process-wide limit is put back
