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
from typing import Any

MARKS_FILE = "extra_positives.tsv"
"""The name the page downloads the marks under."""

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:12px 20px;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:20px;margin:4px 0}
.summary{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:13px;margin:6px 0}
.summary b{font-weight:600}
.plots{display:flex;flex-wrap:wrap;gap:12px}
.plot{background:#fff;border:1px solid #eee}
main{display:flex;gap:0;height:calc(100vh - 20px);min-height:480px}
#side{width:34%;min-width:260px;border-right:1px solid #ddd;display:flex;flex-direction:column;background:#fff}
#controls{padding:8px;display:flex;gap:6px;flex-wrap:wrap;border-bottom:1px solid #eee}
#search{flex:1;min-width:120px;padding:4px}
#queries{list-style:none;margin:0;padding:0;overflow:auto;flex:1}
#queries li{padding:6px 10px;border-bottom:1px solid #f0f0f0;cursor:pointer;font-size:13px}
#queries li.active{background:#e8f0fe}
#queries li .qid{color:#666;font-family:monospace;margin-right:6px}
.flag{display:inline-block;font-size:10px;padding:0 4px;margin-left:4px;border-radius:3px;background:#fde2e1;color:#a50e0e}
#detail{flex:1;overflow:auto;padding:12px 18px}
table{border-collapse:collapse;width:100%;font-size:13px;background:#fff}
th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
td.num{text-align:right;font-family:monospace;white-space:nowrap}
tr.suspect td{background:#fff4e5}
tr.chosen td.verdict{font-weight:bold;color:#a50e0e}
tr.kept td.verdict{color:#1e7e34}
tr.marked td{background:#e6f4ea}
.doc{max-width:620px}
.positive{background:#eef6ff;padding:6px 8px;margin:4px 0;font-size:13px;border-left:3px solid #1f77b4}
#bar{position:fixed;bottom:12px;right:16px;background:#fff;border:1px solid #ccc;padding:8px 12px;display:flex;gap:10px;align-items:center;box-shadow:0 1px 4px rgba(0,0,0,.15);font-size:13px}
.note{color:#666;font-size:12px}
"""

JS = r"""
const DATA = JSON.parse(document.getElementById('inspect-data').textContent);
const marks = new Map();  // "qid\tdid" -> true
let current = null;
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k.startsWith('data-')) e.setAttribute(k, v); else e[k] = v;
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(k == null ? '' : String(k)));
  return e;
}
const fmt = (x) => x == null ? '' : Number(x).toFixed(4);
const docText = (docs, id) => (docs && id in docs) ? docs[id] : '(text not in the page)';
function visible() {
  const q = $('search').value.trim().toLowerCase();
  let list = DATA.queries.map((x, i) => ({...x, index: i}));
  if (q) list = list.filter((x) => x.id.toLowerCase().includes(q) || x.text.toLowerCase().includes(q));
  const flag = $('flag').value;
  if (flag) list = list.filter((x) => x.flags.includes(flag));
  const sort = $('sort').value;
  if (sort === 'suspicious') list.sort((a, b) => b.suspicion - a.suspicion || a.index - b.index);
  else if (sort === 'id') list.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return list;
}
function renderList() {
  const ul = $('queries');
  ul.replaceChildren();
  const list = visible();
  for (const x of list) {
    const li = el('li', {'data-id': x.id, 'data-index': String(x.index), 'class': current === x.index ? 'active' : ''},
      el('span', {'class': 'qid'}, x.id), x.text);
    for (const f of x.flags) li.append(el('span', {'class': 'flag', title: FLAG_HELP[f] || f}, f));
    li.onclick = () => show(x.index);
    ul.append(li);
  }
  $('shown').textContent = `${list.length} of ${DATA.queries.length} queries`;
}
const FLAG_HELP = {ratio: 'a candidate scores close to (or above) the positive', teacher: 'the teacher judged a candidate relevant',
  twin: 'a candidate repeats a positive\'s text', itself: 'the query itself is among the documents'};
async function load(i) {
  if (DATA.mode === 'served') {
    const r = await fetch('query/' + i);
    if (!r.ok) throw new Error('query ' + i + ': HTTP ' + r.status);
    return r.json();
  }
  return {query: DATA.queries[i], docs: DATA.docs};
}
async function show(i) {
  current = i;
  for (const li of document.querySelectorAll('#queries li')) li.classList.toggle('active', li.dataset.index === String(i));
  const {query, docs} = await load(i);
  const d = $('detail');
  d.replaceChildren();
  d.append(el('h2', {}, el('span', {'class': 'qid'}, query.id + ' '), query.text));
  d.append(el('h3', {}, `Positives (${query.positives.length})`));
  for (const p of query.positives) d.append(el('div', {'class': 'positive'}, el('b', {}, p.id), ` score ${fmt(p.score)} — `, docText(docs, p.id)));
  d.append(el('h3', {}, `Candidates (${query.candidates.length})`));
  const hasTeacher = query.candidates.some((c) => c.teacher != null);
  const head = el('tr', {}, el('th', {}, 'rank'), el('th', {}, 'id'), el('th', {}, 'text'), el('th', {}, 'score'),
    ...(hasTeacher ? [el('th', {}, 'teacher')] : []), el('th', {}, 'score ÷ positive'), el('th', {}, 'verdict'), el('th', {}, 'relevant?'));
  const table = el('table', {id: 'candidates'}, head);
  const rows = [...query.candidates.map((c) => ({...c, where: 'window'})),
                ...query.excluded.map((c) => ({...c, rank: '', ratio: null, where: 'excluded'}))];
  for (const c of rows) {
    const key = query.id + '\t' + c.id;
    const box = el('input', {type: 'checkbox', 'class': 'mark', checked: marks.has(key), 'data-query': query.id, 'data-doc': c.id});
    const tr = el('tr', {'class': [c.suspect ? 'suspect' : '', c.verdict, marks.has(key) ? 'marked' : ''].join(' '),
      'data-doc': c.id, 'data-verdict': c.verdict, 'data-suspect': String(c.suspect)},
      el('td', {'class': 'num'}, c.rank), el('td', {}, c.id), el('td', {'class': 'doc'}, docText(docs, c.id)),
      el('td', {'class': 'num'}, fmt(c.score)), ...(hasTeacher ? [el('td', {'class': 'num'}, fmt(c.teacher))] : []),
      el('td', {'class': 'num'}, c.ratio == null ? '' : Number(c.ratio).toFixed(3)),
      el('td', {'class': 'verdict'}, (c.suspect ? '⚑ ' : '') + (VERDICT_TEXT[c.verdict] || c.verdict)), el('td', {}, box));
    box.onchange = () => { if (box.checked) marks.set(key, true); else marks.delete(key); tr.classList.toggle('marked', box.checked); updateMarks(); };
    table.append(tr);
  }
  d.append(table);
}
const VERDICT_TEXT = {chosen: 'chosen as negative', kept: 'kept (not chosen)', known_positive_id: 'positive',
  known_positive_text: 'same text as a positive', near_duplicate: 'near duplicate of a positive', beyond_window: 'beyond the rank window',
  rank_window: 'dropped: rank window (range_min)', max_score: 'dropped: max_score', min_score: 'dropped: min_score',
  absolute_margin: 'dropped: absolute margin', relative_margin: 'dropped: relative margin', denoise: 'dropped: teacher denoise',
  promote: 'promoted to positive by the teacher', exclude_qrels: 'dropped: judged relevant in excluded qrels', dropped: 'dropped',
  query_itself: 'the query itself (never a negative)'};
function updateMarks() {
  $('mark-count').textContent = `${marks.size} marked relevant`;
  $('download').disabled = marks.size === 0;
}
function download() {
  const lines = ['query-id\tcorpus-id\tscore', ...[...marks.keys()].sort().map((k) => k + '\t1')];
  const blob = new Blob([lines.join('\n') + '\n'], {type: 'text/tab-separated-values'});
  const a = el('a', {href: URL.createObjectURL(blob), download: DATA.marks_file});
  document.body.append(a); a.click(); a.remove();
}
$('search').oninput = renderList;
$('sort').onchange = renderList;
$('flag').onchange = renderList;
$('download').onclick = download;
renderList();
updateMarks();
document.body.dataset.ready = 'true';
"""


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
