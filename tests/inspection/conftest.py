"""The demo mined once into a candidates file (default model, default preset), shared by the inspect tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_candidates(tmp_path_factory) -> Path:
    from hardneg.drivers.mine import mine

    out = tmp_path_factory.mktemp("inspect") / "c.parquet"
    mine("demo", out, output_format="candidates", show_progress=False)
    return out
