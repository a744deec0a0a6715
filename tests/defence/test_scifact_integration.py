"""The audit on real data: SciFact train from ../shared/data (skipped when it is absent)."""

from pathlib import Path

import pytest

from hardneg.drivers.audit import audit

SCIFACT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "scifact"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (SCIFACT / "corpus.jsonl").is_file(), reason="../shared/data/scifact is absent"),
]


def test_audit_counts_every_hidden_positive_on_scifact():
    # 77 SciFact train queries have two or more positives (qrels/train.tsv). BM25 and no hardness
    # measurement keep it fast: no model is loaded.
    result = audit(SCIFACT, preset="dpr", num_negatives=3, hardness=False, show_progress=False)
    assert result.hidden_positives == 77
    fates = result.false_negatives + result.not_selected + sum(result.stopped_by.values()) + sum(result.not_reached.values())
    assert fates == 77
    assert 0 < result.false_negatives < 77  # BM25's top is often, not always, the other relevant abstract
    assert result.negatives > 0 and result.mean_negative_rank is None
    lo, hi = result.ci95
    assert lo < result.false_negative_rate < hi
