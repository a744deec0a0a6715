
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
