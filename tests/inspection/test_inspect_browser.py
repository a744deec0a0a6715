"""The inspect page driven in headless Chromium like a reader would: search, sort, mark two
candidates, download the marks, and feed them back to ``hardneg mine``."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from hardneg.cli import main
from hardneg.inspect import inspect_candidates
from hardneg.inspect.page import MARKS_FILE

from .cdp import CHROMIUM, Browser

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium (Debian package chromium) is not installed")


def test_search_sort_mark_download_and_mine_again(demo_candidates, tmp_path, capsys):
    page = inspect_candidates(demo_candidates, tmp_path / "page.html").html
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with Browser(tmp_path / "profile") as browser:
        browser.allow_downloads(downloads)
        browser.navigate(page.as_uri())
        listed = "[...document.querySelectorAll('#queries li')]"
        assert browser.evaluate(f"{listed}.length") == 36

        # search by text, then by id
        browser.type_into("#search", "capital")
        texts = browser.evaluate(f"{listed}.map((li) => li.textContent.toLowerCase())")
        assert 0 < len(texts) < 36 and all("capital" in t for t in texts)
        browser.evaluate("(() => { const s = document.querySelector('#search'); s.select(); })()")
        browser.send("Input.insertText", session=True, text="q07")
        assert browser.evaluate(f"{listed}.map((li) => li.dataset.id)") == ["q07"]
        browser.evaluate("(() => { const s = document.querySelector('#search'); s.select(); })()")
        browser.send("Input.dispatchKeyEvent", session=True, type="keyDown", key="Backspace", code="Backspace",
                     windowsVirtualKeyCode=8)  # fmt: skip
        browser.send("Input.dispatchKeyEvent", session=True, type="keyUp", key="Backspace", code="Backspace",
                     windowsVirtualKeyCode=8)  # fmt: skip
        assert browser.wait_for(f"{listed}.length === 36")

        # sort: by id, then most suspicious first (the default) puts flagged queries on top
        browser.evaluate(
            "(() => { const s = document.querySelector('#sort'); s.value = 'id'; s.dispatchEvent(new Event('change')); })()"
        )
        ids = browser.evaluate(f"{listed}.map((li) => li.dataset.id)")
        assert ids == sorted(ids)
        browser.evaluate(
            "(() => { const s = document.querySelector('#sort'); s.value = 'suspicious'; s.dispatchEvent(new Event('change')); })()"
        )
        first = browser.evaluate(f"{listed}[0].dataset.id")
        assert browser.evaluate(f"{listed}[0].querySelectorAll('.flag').length") > 0

        # open the most suspicious query and mark its first two chosen negatives as relevant
        browser.click("#queries li")
        browser.wait_for("document.querySelector('#candidates')")
        assert browser.evaluate("document.querySelector('#detail h2').textContent").startswith(first)
        chosen = browser.evaluate(
            "[...document.querySelectorAll('#candidates tr[data-verdict=chosen]')].map((r) => r.dataset.doc)"
        )
        assert len(chosen) >= 2
        marked = chosen[:2]
        for doc in marked:
            browser.click(f"#candidates tr[data-doc='{doc}'] input.mark")
        assert browser.evaluate("document.querySelector('#mark-count').textContent") == "2 marked relevant"
        assert browser.evaluate("document.querySelectorAll('#candidates tr.marked').length") == 2
        browser.click("#download")
        tsv = browser.wait_for_file(downloads, MARKS_FILE)
        assert not browser.console, browser.console

    lines = tsv.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "query-id\tcorpus-id\tscore"
    assert sorted(lines[1:]) == sorted(f"{first}\t{doc}\t1" for doc in marked)

    # the downloaded file, fed back to the miner: the marked documents are positives, never negatives
    before = {r["query_id"]: r for r in pq.read_table(demo_candidates).to_pylist()}[first]
    assert set(marked) <= set(before["negative_ids"])
    again = tmp_path / "again.parquet"
    assert main(["mine", "--data", "demo", "--output-format", "candidates", "--out", str(again), "--extra-positives",
                 str(tsv), "--json", "-q"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["rows"] == 36
    after = {r["query_id"]: r for r in pq.read_table(again).to_pylist()}[first]
    assert not set(marked) & set(after["negative_ids"])
    assert not set(marked) & set(after["candidate_ids"])
    assert set(marked) <= set(after["positive_ids"])


def test_served_page_loads_each_query_when_opened(demo_candidates, tmp_path):
    import threading

    from hardneg.inspect.serve import make_server

    server = make_server(demo_candidates, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with Browser(tmp_path / "profile") as browser:
            browser.navigate(f"http://127.0.0.1:{server.server_address[1]}/")
            assert browser.evaluate("document.querySelectorAll('#queries li').length") == 36
            browser.click("#queries li:nth-child(3)")
            browser.wait_for("document.querySelectorAll('#candidates tr[data-verdict=chosen]').length === 3")
            wanted = browser.evaluate("document.querySelectorAll('#queries li')[2].dataset.id")
            assert browser.evaluate("document.querySelector('#detail h2').textContent").startswith(wanted)
            assert "(text not in the page)" not in browser.evaluate("document.querySelector('#candidates').textContent")
            assert not browser.console, browser.console
    finally:
        server.shutdown()
        server.server_close()
