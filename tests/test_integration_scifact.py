"""SciFact (../shared/data/scifact): real data, read-only, skipped where it is absent."""

from __future__ import annotations

import csv
import json

import pytest

import hardneg
from hardneg import load_beir
from hardneg.data.dataset import normalize_text

pytestmark = pytest.mark.integration


def test_scifact_counts(scifact):
    train = load_beir(scifact, split="train")
    assert (len(train.query_ids), train.num_pairs, len(train.corpus_ids)) == (809, 919, 5183)
    assert train.skipped == {}
    test = load_beir(scifact, split="test")
    assert (len(test.query_ids), test.num_pairs) == (300, 339)
    assert set(train.query_ids).isdisjoint(test.query_ids)


@pytest.fixture
def scifact_subset(scifact, tmp_path):
    """A BEIR folder with SciFact's corpus and queries (linked, not copied) and the train qrels of 40 queries."""
    root = tmp_path / "scifact40"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").symlink_to(scifact / "corpus.jsonl")
    (root / "queries.jsonl").symlink_to(scifact / "queries.jsonl")
    with open(scifact / "qrels" / "train.tsv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    header, rows = rows[0], rows[1:]
    keep = list(dict.fromkeys(r[0] for r in rows))[:40]
    lines = [header] + [r for r in rows if r[0] in keep]
    (root / "qrels" / "train.tsv").write_text("".join("\t".join(r) + "\n" for r in lines), encoding="utf-8")
    return root


def test_bm25_on_a_scifact_subset_never_returns_a_positive(scifact_subset, tmp_path):
    out = tmp_path / "candidates.jsonl"
    result = hardneg.mine(scifact_subset, out, preset="dpr", num_negatives=3, output_format="candidates", show_progress=False)
    assert result.summary["queries"] == 40 and result.summary["documents"] == 5183
    assert result.summary["queries_short"] == 0
    data = load_beir(scifact_subset)
    text_of = dict(zip(data.corpus_ids, data.corpus_texts))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 40
    for row in rows:
        assert len(row["negative_ids"]) == 3
        assert not set(row["positive_ids"]) & set(row["negative_ids"])
        positive_texts = {normalize_text(text_of[d]) for d in row["positive_ids"]}
        assert not positive_texts & {normalize_text(text_of[d]) for d in row["negative_ids"]}
    assert result.manifest["inputs"]["corpus"]["sha256"] == "dec31c8182f3d744c7d2c09423756fd1d17cbef75808db13ba01cc0aab4d1ac6"
