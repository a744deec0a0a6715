"""``hardneg inspect --serve``: the inspect page for every query of a large run, on localhost.

The page is sent with the query list only (id, text, how suspicious); a query's candidates and
texts are read from the candidates file when the reader opens it (``GET query/<n>``), a parquet
file one row group at a time.

The page shows the corpus's text, so the server answers only its user (``127.0.0.1``, its own ``Host``
only, a strict ``Content-Security-Policy``): the rules and their test are in ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from hardneg.errors import ConfigError
from hardneg.inspect.build import MinedFile, check_options, header_facts, read_views
from hardneg.inspect.page import CONTENT_SECURITY_POLICY, render_page
from hardneg.inspect.records import SUSPECT_RATIO, query_view

logger = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"
MAX_PORT = 65535
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def make_server(
    candidates: str | Path,
    *,
    corpus: str | None = None,
    port: int = 8000,
    suspect_ratio: float = SUSPECT_RATIO,
) -> ThreadingHTTPServer:
    """A server (not yet started: call ``serve_forever``) of the page of ``candidates`` on ``127.0.0.1:port``
    (``port=0``: any free port, see ``server.server_address``)."""
    check_options(suspect_ratio=suspect_ratio)
    if not 0 <= port <= MAX_PORT:
        raise ConfigError(f"port must be in [0, {MAX_PORT}] (0: any free port), got {port}")
    path = Path(candidates)
    mined = MinedFile.open(path, corpus)
    source, manifest, reference = mined.source, mined.manifest, mined.reference
    texts = dict(zip(mined.data.corpus_ids, mined.data.corpus_texts))
    views, overview = read_views(source, suspect_ratio, reference)
    index = [{"id": v.query_id, "text": v.query, "suspicion": v.to_dict()["suspicion"] or 0, "flags": v.flags} for v in views]
    del views  # only the index stays in memory; each query is read again when opened
    page = render_page(
        title=f"hardneg inspect: {path.name}",
        summary=header_facts(manifest, overview, len(index), len(index)),
        plots=overview.figures(),
        queries=index,
        docs=None,
        note=f"Serving all {len(index):,} queries of {path}; each is read from the file when opened.",
        served=True,
    ).encode("utf-8")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            own = {f"{name}:{self.server.server_address[1]}" for name in (LOOPBACK, "localhost")}  # not a name rebound to it
            if (self.headers.get("Host") or "").lower() not in own:
                return self._send(421, "text/plain", b"this server answers only requests to its own address")
            if self.path in ("/", "/index.html"):
                return self._send(200, "text/html; charset=utf-8", page)
            if self.path.startswith("/query/"):
                try:
                    i = int(self.path.removeprefix("/query/"))
                    record = source.row(i)
                except (ValueError, IndexError):
                    return self._send(404, "text/plain", b"no such query")
                view = query_view(record, where=source.where(i), path=str(path), suspect_ratio=suspect_ratio, reference=reference)
                docs = {d: texts[d] for d in view.doc_ids() if d in texts}
                body = json.dumps({"query": view.to_dict(), "docs": docs}, ensure_ascii=False).encode("utf-8")
                return self._send(200, "application/json", body)
            return self._send(404, "text/plain", b"not found")

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def end_headers(self) -> None:  # every answer, http.server's own errors (HEAD, POST: 501) too
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            super().end_headers()

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the http.server signature
            logger.debug(format, *args)

    return ThreadingHTTPServer((LOOPBACK, port), Handler)
