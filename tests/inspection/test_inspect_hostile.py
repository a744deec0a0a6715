"""The inspect page and its server against hostile text: every text field (query, document, ids) may
hold ``</script>``, ``<!--<script>`` or ``<!--`` without ending or commenting out the page's data
block, and the server answers only requests addressed to itself (a real server on loopback)."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from hardneg.inspect import inspect_candidates
from hardneg.inspect.page import JS
from hardneg.inspect.serve import make_server

HOSTILE = ("<!--<script>", "</script>", "<!--", "</SCRIPT >&amp;")
DATA_OPEN = '<script type="application/json" id="inspect-data">'


def _hostile_folder(root: Path) -> tuple[Path, Path]:
    """A BEIR folder and a candidates file whose every query, document and id holds one hostile string."""
    beir = root / "beir"
    (beir / "qrels").mkdir(parents=True)
    queries = {f"q{i}{h}": f"query {h} {i}" for i, h in enumerate(HOSTILE)}
    docs = {f"d{i}{h}": f"document {h} {i}" for i, h in enumerate(HOSTILE * 2)}
    doc_ids = list(docs)
    lines = [json.dumps({"_id": d, "title": "", "text": t}) for d, t in docs.items()]
    (beir / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = [json.dumps({"_id": q, "text": t}) for q, t in queries.items()]
    (beir / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    qrels = [f"{q}\t{doc_ids[i]}\t1" for i, q in enumerate(queries)]
    (beir / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(qrels) + "\n", encoding="utf-8")
    rows = []
    for i, (q, text) in enumerate(queries.items()):
        others = [d for d in doc_ids if d != doc_ids[i]][:3]
        rows.append({
            "query_id": q, "query": text, "positive_ids": [doc_ids[i]], "positive_scores": [0.9],
            "candidate_ids": others, "candidate_scores": [0.8, 0.5, 0.1], "candidate_kept": [True, True, True],
            "candidate_verdicts": ["chosen", "kept", "kept"], "negative_ids": others[:1],
        })  # fmt: skip
    candidates = root / "c.jsonl"
    candidates.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return beir, candidates


def _intact_data(page: str) -> dict:
    """The page's data block, checked to be one script element whose text no hostile string can end."""
    start = page.index(DATA_OPEN) + len(DATA_OPEN)
    end = page.index("</script>", start)
    block = page[start:end]
    assert "<" not in block and ">" not in block and "&" not in block
    assert page[end:].startswith(f"</script>\n<script>{JS}</script>")  # the page's own script follows, whole
    assert len(re.findall(r"<script\b", page, re.I)) == 2
    return json.loads(block)


def _all_strings(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*map(_all_strings, value.values()))
    if isinstance(value, list):
        return set().union(*map(_all_strings, value)) if value else set()
    return {value} if isinstance(value, str) else set()


def _hostile_strings_arrive(data: dict) -> None:
    strings = _all_strings(data)
    for h in HOSTILE:
        assert any(h in s for s in strings), h


def test_hostile_text_in_every_field_keeps_the_page_script_intact(tmp_path):
    beir, candidates = _hostile_folder(tmp_path)
    result = inspect_candidates(candidates, tmp_path / "page.html", corpus=str(beir))
    data = _intact_data(result.html.read_text(encoding="utf-8"))
    assert [q["id"] for q in data["queries"]] == [f"q{i}{h}" for i, h in enumerate(HOSTILE)]
    assert data["queries"][1]["text"] == "query </script> 1"
    assert data["docs"]["d0<!--<script>"] == "document <!--<script> 0"
    _hostile_strings_arrive(data)


@contextlib.contextmanager
def _serving(server, limit_s: float = 60.0) -> Iterator[int]:
    """Run ``server`` in a thread; it stops when the block ends, or by itself after ``limit_s``."""
    guard = threading.Timer(limit_s, server.shutdown)
    guard.start()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        guard.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _get(port: int, path: str, host: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def test_the_server_answers_only_its_own_address_with_a_strict_policy(tmp_path):
    beir, candidates = _hostile_folder(tmp_path)
    server = make_server(candidates, corpus=str(beir), port=0)
    assert server.server_address[0] == "127.0.0.1"
    with _serving(server) as port:
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
            page = _get(port, "/", host)
            assert page.status == 200, host
            assert page.getheader("X-Content-Type-Options") == "nosniff"
            policy = page.getheader("Content-Security-Policy")
            assert "default-src 'none'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
            _hostile_strings_arrive(_intact_data(page.body.decode("utf-8")))
        one = _get(port, "/query/1", f"127.0.0.1:{port}")
        assert one.status == 200 and one.getheader("X-Content-Type-Options") == "nosniff"
        assert json.loads(one.body)["query"]["text"] == "query </script> 1"
        for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", "127.0.0.1", "", f"localhost.evil:{port}"):
            refused = _get(port, "/", host)
            assert refused.status == 421, host
            assert b"query" not in refused.body
            assert _get(port, "/query/0", host).status == 421


def test_the_page_never_replaces_a_file_hardneg_did_not_write(tmp_path, capsys):
    from hardneg.cli import main

    beir, candidates = _hostile_folder(tmp_path)
    notes = tmp_path / "notes.html"
    notes.write_text("my notes")
    assert main(["inspect", str(candidates), "--corpus", str(beir), "--out", str(notes)]) == 2
    err = capsys.readouterr().err
    assert "not an output of `hardneg inspect`" in err and len(err.strip().splitlines()) == 1
    assert notes.read_text() == "my notes" and sorted(p.name for p in tmp_path.iterdir()) == ["beir", "c.jsonl", "notes.html"]
    page = tmp_path / "page.html"
    for _ in range(2):  # its own page is rewritten
        assert main(["inspect", str(candidates), "--corpus", str(beir), "--out", str(page)]) == 0
    assert main(["inspect", str(candidates), "--corpus", str(beir), "--out", str(candidates)]) == 2
    assert "is an input" in capsys.readouterr().err
