"""The evaluator reproduces the published SciFact number of the default model (MTEB: 64.51)."""

from __future__ import annotations

import pytest

from hardneg.diagnostics.evaluate import evaluate


@pytest.mark.integration
def test_default_model_scifact_test_ndcg(scifact, cache_dir):
    # Encoding the 5,183 documents takes minutes on two CPU cores; $HARDNEG_CACHE makes reruns instant.
    result = evaluate(scifact, split="test", cache_dir=str(cache_dir), show_progress=False)
    assert result.info["queries"] == 300
    assert result.metrics["ndcg@10"] == pytest.approx(0.6451, abs=0.002)
