"""The inspect page's plots, drawn as inline SVG (no plotting library, no image files).

Three figures about the whole candidates file: the score distributions of positives and of chosen
negatives, how many candidates each verdict covers (what dropped them), and the rank at which the
chosen negatives were found.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

WIDTH, HEIGHT, PAD = 420, 200, 34
POSITIVE, NEGATIVE, BAR = "#1f77b4", "#d62728", "#6b6b6b"


def _frame(title: str, body: str, x_label: str, y_label: str) -> str:
    return (
        f'<svg class="plot" role="img" aria-label="{html.escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT + 30}" '
        f'width="{WIDTH}" height="{HEIGHT + 30}">'
        f'<text x="{WIDTH / 2}" y="14" text-anchor="middle" font-size="13" font-weight="bold">{html.escape(title)}</text>'
        f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH - 8}" y2="{HEIGHT}" stroke="#333"/>'
        f'<line x1="{PAD}" y1="24" x2="{PAD}" y2="{HEIGHT}" stroke="#333"/>'
        f'<text x="{WIDTH / 2}" y="{HEIGHT + 28}" text-anchor="middle" font-size="11">{html.escape(x_label)}</text>'
        f'<text x="10" y="{(HEIGHT + 24) / 2}" font-size="11" transform="rotate(-90 10 {(HEIGHT + 24) / 2})" '
        f'text-anchor="middle">{html.escape(y_label)}</text>{body}</svg>'
    )


def score_histogram(positives: Sequence[float], negatives: Sequence[float], bins: int = 30) -> str:
    """Overlaid histograms (shares, so sets of different sizes compare) of positive and chosen-negative scores."""
    pos, neg = np.asarray(positives, float), np.asarray(negatives, float)
    both = np.concatenate([pos, neg])
    if both.size == 0:
        return _frame("Scores: positives vs chosen negatives", "", "score", "share")
    lo, hi = float(both.min()), float(both.max())
    hi = hi if hi > lo else lo + 1e-6
    edges = np.linspace(lo, hi, bins + 1)
    shares = [np.histogram(v, edges)[0] / max(1, v.size) for v in (pos, neg)]
    top = max(float(s.max()) for s in shares) or 1.0
    x = lambda v: PAD + (v - lo) / (hi - lo) * (WIDTH - PAD - 10)  # noqa: E731
    y = lambda s: HEIGHT - s / top * (HEIGHT - 30)  # noqa: E731
    body = []
    for share, colour in zip(shares, (POSITIVE, NEGATIVE)):
        for left, right, s in zip(edges[:-1], edges[1:], share):
            if s > 0:
                body.append(
                    f'<rect x="{x(left):.1f}" y="{y(s):.1f}" width="{max(0.5, x(right) - x(left) - 0.5):.1f}" '
                    f'height="{HEIGHT - y(s):.1f}" fill="{colour}" fill-opacity="0.55"/>'
                )
    body.append(f'<text x="{PAD + 4}" y="{HEIGHT + 12}" font-size="10">{lo:.3g}</text>')
    body.append(f'<text x="{WIDTH - 10}" y="{HEIGHT + 12}" font-size="10" text-anchor="end">{hi:.3g}</text>')
    body.append(f'<rect x="{WIDTH - 150}" y="26" width="10" height="10" fill="{POSITIVE}"/>')
    body.append(f'<text x="{WIDTH - 136}" y="35" font-size="10">positives ({pos.size})</text>')
    body.append(f'<rect x="{WIDTH - 150}" y="40" width="10" height="10" fill="{NEGATIVE}"/>')
    body.append(f'<text x="{WIDTH - 136}" y="49" font-size="10">chosen negatives ({neg.size})</text>')
    return _frame("Scores: positives vs chosen negatives", "".join(body), "score", "share of its set")


def verdict_bars(counts: dict[str, int]) -> str:
    """Horizontal bars: candidates per verdict (chosen, kept, and what dropped the others)."""
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    if not items:
        return _frame("Candidates by verdict", "", "candidates", "")
    top = max(v for _, v in items) or 1
    row = (HEIGHT - 30) / len(items)
    body = []
    for i, (name, value) in enumerate(items):
        y0 = 26 + i * row
        w = value / top * (WIDTH - PAD - 150)
        body.append(f'<rect x="{PAD + 110}" y="{y0:.1f}" width="{w:.1f}" height="{row * 0.75:.1f}" fill="{BAR}"/>')
        body.append(f'<text x="{PAD + 106}" y="{y0 + row * 0.6:.1f}" font-size="10" text-anchor="end">{html.escape(name)}</text>')
        body.append(f'<text x="{PAD + 114 + w:.1f}" y="{y0 + row * 0.6:.1f}" font-size="10">{value:,}</text>')
    return _frame("Candidates by verdict (what dropped them)", "".join(body), "candidates", "")


def rank_histogram(ranks: Sequence[int]) -> str:
    """How deep the chosen negatives were found: counts per rank among the non-positive candidates."""
    r = np.asarray(ranks, int)
    if r.size == 0:
        return _frame("Rank of the chosen negatives", "", "rank", "negatives")
    hi = int(r.max())
    bins = min(hi, 40)
    edges = np.linspace(0.5, hi + 0.5, bins + 1)
    counts = np.histogram(r, edges)[0]
    top = int(counts.max()) or 1
    span = WIDTH - PAD - 10
    body = []
    for i, c in enumerate(counts):
        if c:
            h = c / top * (HEIGHT - 30)
            body.append(
                f'<rect x="{PAD + i * span / bins:.1f}" y="{HEIGHT - h:.1f}" width="{max(0.5, span / bins - 1):.1f}" '
                f'height="{h:.1f}" fill="{NEGATIVE}" fill-opacity="0.7"/>'
            )
    body.append(f'<text x="{PAD + 4}" y="{HEIGHT + 12}" font-size="10">1</text>')
    body.append(f'<text x="{WIDTH - 10}" y="{HEIGHT + 12}" font-size="10" text-anchor="end">{hi}</text>')
    body.append(f'<text x="{PAD + 6}" y="36" font-size="10">max {top} at one rank; median {float(np.median(r)):g}</text>')
    return _frame("Rank of the chosen negatives", "".join(body), "rank among non-positive candidates", "negatives")
