"""Property tests: random pair files and BEIR folders (ids with spaces, colons, tabs, quotes and
unicode; random texts; CRLF; a byte order mark) are read exactly: every pair in is a pair out or a
counted, reported skip; nothing is merged, nothing is changed."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardneg.data import load_beir, load_pairs
from hardneg.errors import DataError

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85")
    | st.sampled_from("\"',:; é漢🙂"),
    min_size=1,
    max_size=25,
).filter(lambda t: t.strip() == t and t)
ID = st.text(alphabet=st.sampled_from("abc XYZ:\"'é漢\t-_0123"), min_size=1, max_size=8)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _encode(text: str, bom: bool, crlf: bool) -> bytes:
    if crlf:
        text = text.replace("\n", "\r\n")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


@SETTINGS
@given(
    rows=st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=12),
    suffix=st.sampled_from([".tsv", ".csv", ".jsonl"]),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_every_pair_is_a_row_or_a_counted_skip(tmp_path_factory, rows, suffix, bom, crlf):
    path = tmp_path_factory.mktemp("pairs") / f"p{suffix}"
    if suffix == ".jsonl":
        body = "".join(json.dumps({"anchor": a, "positive": p}, ensure_ascii=False) + "\n" for a, p in rows)
    elif suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows([("anchor", "positive"), *rows])
        body = buffer.getvalue()
        if any("\n" in a + p or "\r" in a + p for a, p in rows):
            return  # texts with line breaks are not the subject here
    else:
        body = "anchor\tpositive\n" + "".join(f"{a}\t{p}\n" for a, p in rows)  # written literally, as most tools do
    path.write_bytes(_encode(body, bom, crlf and suffix != ".jsonl"))
    try:
        data = load_pairs(path, on_error="skip")
    except DataError as exc:  # a file without one usable pair is refused, naming it
        assert str(path) in str(exc)
        return
    read = {(data.query_texts[q], data.corpus_texts[d]) for q, ds in enumerate(data.positives) for d in ds}
    assert read <= set(rows)  # nothing changed, nothing merged
    assert data.num_pairs + sum(data.skipped.values()) == len(rows)
    if suffix == ".jsonl" or all("\t" not in a + p for a, p in rows):
        assert read == set(rows)


@SETTINGS
@given(
    judgements=st.lists(st.tuples(ID, ID), min_size=1, max_size=10, unique=True),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_beir_positives_are_exactly_the_qrels(tmp_path_factory, judgements, bom, crlf):
    root = tmp_path_factory.mktemp("beir")
    (root / "qrels").mkdir()
    judgements = [(q.strip(), d.strip()) for q, d in judgements if q.strip() and d.strip()]
    judgements = list(dict.fromkeys(judgements))
    if not judgements:
        return
    docs = sorted({d for _, d in judgements})
    queries = sorted({q for q, _ in judgements})
    corpus = "".join(json.dumps({"_id": d, "text": f"text of {d}"}, ensure_ascii=False) + "\n" for d in docs)
    qs = "".join(json.dumps({"_id": q, "text": f"question {q}?"}, ensure_ascii=False) + "\n" for q in queries)
    qrels = "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in judgements)
    (root / "corpus.jsonl").write_bytes(_encode(corpus, bom, False))
    (root / "queries.jsonl").write_bytes(_encode(qs, bom, False))
    (root / "qrels" / "train.tsv").write_bytes(_encode(qrels, bom, crlf))
    try:
        data = load_beir(root, on_error="skip")
    except DataError as exc:  # ids holding tabs make a file refused, at a named line
        assert "train.tsv" in str(exc) and any("\t" in q + d for q, d in judgements)
        return
    read = {(data.query_ids[q], data.corpus_ids[d]) for q, ds in enumerate(data.positives) for d in ds}
    tabbed = {(q, d) for q, d in judgements if "\t" in q + d}
    assert read == set(judgements) - tabbed  # the rest exactly, never a different document
    assert sum(data.skipped.values()) >= len(tabbed)
