"""The inspect page: one self-contained HTML file (inline CSS, JS, SVG and data; nothing fetched).

What a reader sees and does on it (the marks it downloads feed ``hardneg mine --extra-positives``):
``docs/false_negatives.md`` (Seeing and fixing them). Served (``hardneg inspect --serve``), the same page
holds only the query list and fetches each query's candidates from ``query/<n>`` when it is opened.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from importlib import resources
from typing import Any

MARKS_FILE = "extra_positives.tsv"
"""The name the page downloads the marks under."""

CSS = (resources.files(__package__) / "page.css").read_text(encoding="utf-8")
JS = (resources.files(__package__) / "page.js").read_text(encoding="utf-8")
"""The page's style and script, kept as files of their own beside this module (the script's hash is its CSP)."""


SCRIPT_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
"""What the embedded JSON escapes, so no text (``</script>``, ``<!--``) can end or comment out its script block."""
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"script-src 'sha256-{base64.b64encode(hashlib.sha256(JS.encode('utf-8')).digest()).decode()}'; "
    "style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
"""The served page may run only its own script (by hash) and fetch only from its own server."""


def embed_json(data: Any) -> str:
    """``data`` as JSON that is safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&``
    are written as ``\\u003c``, ``\\u003e``, ``\\u0026`` (the same value to ``JSON.parse``)."""
    return json.dumps(data, ensure_ascii=False).translate(SCRIPT_ESCAPES)


def render_page(
    *,
    title: str,
    summary: list[tuple[str, str]],
    plots: list[str],
    queries: list[dict[str, Any]],
    docs: dict[str, str] | None,
    note: str,
    served: bool = False,
) -> str:
    """The page's HTML. ``queries``: :meth:`QueryView.to_dict` each (served: only id, text, suspicion, flags);
    ``docs``: id -> text of every document the queries show (served: ``None``, each query brings its own)."""
    data = {"mode": "served" if served else "embedded", "queries": queries, "docs": docs or {}, "marks_file": MARKS_FILE}
    payload = embed_json(data)
    facts = "".join(f"<span>{html.escape(k)}: <b>{html.escape(v)}</b></span>" for k, v in summary)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{CSS}</style></head>
<body>
<header>
<h1>{html.escape(title)}</h1>
<div class="summary">{facts}</div>
<div class="plots">{"".join(plots)}</div>
<p class="note">{html.escape(note)}</p>
</header>
<main>
<section id="side">
<div id="controls">
<input id="search" type="search" placeholder="search query text or id" aria-label="search queries">
<select id="sort" aria-label="sort queries">
<option value="suspicious">most suspicious first</option><option value="file">file order</option><option value="id">query id</option>
</select>
<select id="flag" aria-label="show queries with a flag">
<option value="">every query</option><option value="ratio">flag: ratio</option><option value="teacher">flag: teacher</option>
<option value="twin">flag: twin</option><option value="itself">flag: itself</option>
</select>
<span id="shown" class="note"></span>
</div>
<ul id="queries"></ul>
</section>
<section id="detail"><p class="note">Pick a query. Tick "relevant?" on a candidate that answers it; download the marks and
pass them to <code>hardneg mine --extra-positives {MARKS_FILE}</code> (also train, evolve, audit).</p></section>
</main>
<div id="bar">
<span id="mark-count"></span><button id="download" type="button">download marks ({MARKS_FILE})</button>
</div>
<script type="application/json" id="inspect-data">{payload}</script>
<script>{JS}</script>
</body></html>
"""
