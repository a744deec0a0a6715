"""``hardneg inspect``: a page to see, for every query, what was mined and why, and to fix its labels.

:func:`inspect_candidates` reads a candidates file (``hardneg mine --output-format candidates``)
and the data it was mined from, and writes one self-contained HTML page (:mod:`.page`) with the
run's summary and plots (:mod:`.plots`) and a browser over the queries (:mod:`.records`). The page
holds at most ``sample`` queries (default 500: the most suspicious half and a seeded draw of the
rest); :func:`hardneg.inspect.serve.serve` shows every query instead, reading the file lazily.
Marks made on the page download as a qrels-style TSV for ``--extra-positives``.
"""

from __future__ import annotations

from hardneg.inspect.build import DEFAULT_SAMPLE, InspectResult, inspect_candidates

__all__ = ["DEFAULT_SAMPLE", "InspectResult", "inspect_candidates"]
