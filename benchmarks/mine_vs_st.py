"""hardneg ``mine`` against sentence-transformers ``mine_hard_negatives``: agreement, speed, memory.

On BEIR SciFact train (809 queries, 919 pairs, 5,183 documents), with the default model
(offline all-MiniLM-L6-v2) and 3 negatives, this script measures:

1. **Agreement** of the dense top-k negatives: sentence-transformers ``mine_hard_negatives(...,
   corpus=<every document>, sampling_strategy="top", output_format="n-tuple")`` against
   ``hardneg.mine(..., preset="top", num_negatives=3)``, row by (query, positive) row: identical
   (same order), identical as sets, and rows that differ only by tied scores (< ``--tie-eps``).
2. **Speed**, both in this one process, timed end to end: reading the BEIR files, loading the
   model, encoding, searching, selecting and writing a parquet file. Cold = nothing cached
   (hardneg gets a fresh empty ``cache_dir``; the peer no ``cache_folder``, or an empty one it
   fills); warm = the same again with the cache filled. Run peer-first and hardneg-first, since
   the cores are shared. Before any timing both libraries are imported and the model is loaded
   once untimed, so neither run pays for Python imports or a cold page cache for the weights.
   hardneg runs with its defaults, so it encodes on the path measured for this CPU
   (:mod:`hardneg.encoding.defaults`; each run records the path it took); the peer-first order also
   times ``hardneg --precision float32``, the peer's arithmetic, whose rows the agreement compares.
   The CPU (``lscpu``'s model name and its vector flags) is recorded beside the times, with the bar
   for its kind: a cold run at most 0.75x the peer's CPU time on an AVX2 CPU, 0.5x where the CPU
   has VNNI, BF16 or AMX; a warm run at most 0.05x the peer's cold time.
3. **Memory** of the search step, in child processes: a SciFact mining run (warm cache) at two
   ``query_chunk_size`` values, and search alone over synthetic embeddings at two corpus sizes
   and two chunk sizes, to show the extra memory follows the chunk, not the corpus.

Usage::

    python benchmarks/mine_vs_st.py              # table on stdout, JSON in benchmarks/results/
    python benchmarks/mine_vs_st.py --json       # the JSON object on stdout instead
    python benchmarks/mine_vs_st.py --data demo --orders peer-first --no-memory   # quick check
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import cpu_kind  # beside this script

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT / ".." / "shared" / "data" / "scifact"
RESULTS = ROOT / "benchmarks" / "results" / "mine_vs_st.json"
STAGES = ("load_data", "load_model", "encode", "search", "score", "filter", "select", "write")


@dataclass
class Settings:
    """What both libraries are given: one model path, batch size, sequence length and device."""

    data: Path
    split: str = "train"
    num_negatives: int = 3
    batch_size: int = 64
    max_seq_length: int | None = None
    device: str = "cpu"
    peer_faiss: bool = True
    model_path: str = ""


@dataclass
class Timing:
    library: str
    cache: str
    """'cold' or 'warm'."""
    order: str
    seconds: float
    cpu_seconds: float
    """User + system CPU time of this process during the run, all threads: less sensitive than
    wall time to other work on the same cores."""
    stages: dict[str, float] = field(default_factory=dict)
    note: str = ""
    load_average: float = 0.0
    """1-minute load average at the end of the run: other work sharing the cores."""
    encoding: str = ""
    """hardneg's encoding path (backend and precision) and why it was taken; the peer's is torch float32."""


# --- the peer: sentence-transformers ------------------------------------------------------------


def read_beir_pairs(root: Path, split: str) -> tuple[list[str], list[str], list[str]]:
    """(anchors, positives, corpus texts) straight from a BEIR folder, as the peer's user would.

    Documents are ``(title + " " + text).strip()`` (BEIR's evaluator); pairs follow the qrels
    order with score > 0. Kept independent of hardneg's loader so the peer's time is its own.
    """
    docs: dict[str, str] = {}
    with open(root / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                docs[str(r["_id"])] = f"{(r.get('title') or '').strip()} {(r.get('text') or '').strip()}".strip()
    queries: dict[str, str] = {}
    with open(root / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                queries[str(r["_id"])] = r["text"]
    anchors, positives = [], []
    with open(root / "qrels" / f"{split}.tsv", encoding="utf-8") as fh:
        for line in fh:
            qid, did, score = line.rstrip("\n").split("\t")[:3]
            if qid == "query-id" or float(score) <= 0:
                continue
            anchors.append(queries[qid])
            positives.append(docs[did])
    return anchors, positives, list(docs.values())


def run_peer(s: Settings, out: Path, cache_folder: Path | None) -> tuple[float, dict[str, float], Any]:
    """``mine_hard_negatives`` end to end; returns (seconds, stage seconds, the mined Dataset)."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    stages: dict[str, float] = {}
    start = time.perf_counter()
    anchors, positives, corpus = read_beir_pairs(s.data, s.split)
    pairs = Dataset.from_dict({"anchor": anchors, "positive": positives})
    stages["load_data"] = time.perf_counter() - start
    t = time.perf_counter()
    model = SentenceTransformer(s.model_path, device=s.device)
    if s.max_seq_length is not None:
        model.max_seq_length = s.max_seq_length
    stages["load_model"] = time.perf_counter() - t
    _time_encoding(model, stages)
    t = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # its statistics table; keeps --json stdout clean
        mined = mine_hard_negatives(
            pairs,
            model,
            corpus=corpus,
            num_negatives=s.num_negatives,
            sampling_strategy="top",
            output_format="n-tuple",
            output_scores=True,
            batch_size=s.batch_size,
            use_faiss=s.peer_faiss,
            cache_folder=None if cache_folder is None else str(cache_folder),
            verbose=True,
        )
    stages["mine (rest)"] = time.perf_counter() - t - stages["encode"]
    t = time.perf_counter()
    mined.to_parquet(str(out))
    stages["write"] = time.perf_counter() - t
    return time.perf_counter() - start, stages, mined


def _time_encoding(model: Any, stages: dict[str, float]) -> None:
    """Accumulate the time the peer spends in its model's encode calls (behaviour unchanged)."""
    stages["encode"] = 0.0
    for name in ("encode_query", "encode_document"):
        original = getattr(model, name)

        def timed(*args: Any, _original: Callable = original, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                stages["encode"] += time.perf_counter() - t

        setattr(model, name, timed)


# --- hardneg ------------------------------------------------------------------------------------


def run_hardneg(
    s: Settings, out: Path, cache_dir: Path, *, show_progress: bool = True, **extra: Any
) -> tuple[float, dict[str, Any], dict[str, Any]]:
    """``hardneg.mining.run`` end to end; returns (seconds, the run's summary, its manifest's model record)."""
    import hardneg

    start = time.perf_counter()
    result = hardneg.mine(
        str(s.data),
        str(out),
        preset="top",
        num_negatives=s.num_negatives,
        split=s.split,
        include_scores=True,
        batch_size=s.batch_size,
        max_seq_length=s.max_seq_length,
        device=s.device,
        cache_dir=str(cache_dir),
        show_progress=show_progress,
        **extra,
    )
    return time.perf_counter() - start, result.summary, result.manifest["model"]


# --- agreement ----------------------------------------------------------------------------------


def compare_rows(peer: list[dict], ours: list[dict], n: int, tie_eps: float) -> dict[str, Any]:
    """Classify each hardneg row against the peer's row with the same (anchor, positive) texts.

    A row is *identical* (same negatives, same order), the *same set*, different *only by ties*
    (the sorted negative scores agree within ``tie_eps``, so the lists differ only in which of
    equally scored documents was taken), or *different*. Differences are then explained where a
    documented rule of either side accounts for them (see :func:`explain_difference`).
    """
    by_key = {(r["anchor"], r["positive"]): r for r in peer}
    positives: dict[str, set[str]] = {}
    for row in ours:
        positives.setdefault(row["anchor"], set()).add(row["positive"])
    kinds = ("identical", "same_set", "ties_only", "different", "missing_in_peer")
    counts: dict[str, Any] = {"rows": len(ours), **dict.fromkeys(kinds, 0)}
    explained: dict[str, int] = {}
    examples: list[dict[str, Any]] = []
    pos_diff = 0.0
    for row in ours:
        other = by_key.get((row["anchor"], row["positive"]))
        if other is None:
            counts["missing_in_peer"] += 1
            continue
        a = [row[f"negative_{i}"] for i in range(1, n + 1)]
        b = [other[f"negative_{i}"] for i in range(1, n + 1)]
        sa, sb = np.array(row["scores"][1:], float), np.array(other["scores"][1:], float)
        pos_diff = max(pos_diff, abs(row["scores"][0] - other["scores"][0]))
        if a == b:
            counts["identical"] += 1
        elif set(a) == set(b):
            counts["same_set"] += 1
        elif np.all(np.abs(np.sort(sa) - np.sort(sb)) < tie_eps):
            counts["ties_only"] += 1
        else:
            counts["different"] += 1
            reason = explain_difference(a, b, positives[row["anchor"]])
            explained[reason] = explained.get(reason, 0) + 1
            examples.append(
                {
                    "anchor": row["anchor"][:80],
                    "reason": reason,
                    "hardneg_scores": [round(x, 6) for x in sa],
                    "peer_scores": [round(x, 6) for x in sb],
                    "only_in_hardneg": [t[:60] for t in a if t not in b],
                    "only_in_peer": [t[:60] for t in b if t not in a],
                }
            )
    rows = max(1, counts["rows"])
    agree = counts["identical"] + counts["same_set"]
    counts["fraction_identical"] = round(counts["identical"] / rows, 4)
    counts["fraction_identical_as_sets"] = round(agree / rows, 4)
    counts["fraction_equal_up_to_ties"] = round((agree + counts["ties_only"]) / rows, 4)
    counts["different_by_reason"] = explained
    counts["peer_rows"] = len(peer)
    counts["max_positive_score_difference"] = float(f"{pos_diff:.2e}")
    counts["tie_eps"] = tie_eps
    counts["differences"] = examples[:20]
    return counts


def explain_difference(ours: list[str], peer: list[str], positives: set[str]) -> str:
    """Which documented rule accounts for a row whose negatives differ, if any.

    - ``peer_took_positive_duplicate``: a negative only the peer chose has the same normalised
      text (case, whitespace, NFKC) as a positive; hardneg never takes those (known positives
      by text), the peer only drops byte-identical texts.
    - ``repeated_query_text``: the query text occurs under several query ids and a negative only
      hardneg chose is a positive of the same text under another id; the peer merges queries by
      text, hardneg keeps query ids apart.
    """
    from hardneg.data.dataset import normalize_text

    normalized = {normalize_text(p) for p in positives}
    if any(normalize_text(t) in normalized for t in peer if t not in ours):
        return "peer_took_positive_duplicate"
    if any(t in positives for t in ours if t not in peer):
        return "repeated_query_text"
    return "unexplained"


def read_parquet_rows(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


# --- speed --------------------------------------------------------------------------------------


def warm_up(s: Settings) -> None:
    """Import everything and load the model once, untimed, so no timed run pays for it."""
    import faiss  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    from datasets import Dataset  # noqa: F401
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives  # noqa: F401

    import hardneg  # noqa: F401

    SentenceTransformer(s.model_path, device=s.device).encode(["warm up"], show_progress_bar=False)


def run_order(order: str, s: Settings, work: Path, log: Callable[[str], None]) -> tuple[list[Timing], dict[str, Path]]:
    """One ordering of the timed runs; returns the timings and the output files of the cold runs."""
    runs: list[Timing] = []
    outputs: dict[str, Path] = {}
    st_cache = work / f"st-cache-{order}"

    def peer(cache: str, folder: Path | None, note: str) -> None:
        out = work / f"peer-{order}-{cache}.parquet"
        log(f"[{order}] sentence-transformers {cache} ...")
        cpu = _cpu()
        seconds, stages, _ = run_peer(s, out, folder)
        runs.append(Timing("sentence-transformers", cache, order, seconds, _cpu() - cpu, _rounded(stages), note, _load()))
        outputs.setdefault(f"peer-{cache}", out)
        log(f"[{order}] sentence-transformers {cache}: {seconds:.1f} s")

    def ours(cache: str, library: str = "hardneg", **extra: Any) -> None:
        out = work / f"{library}-{order}-{cache}.parquet"
        log(f"[{order}] {library} {cache} ...")
        cpu = _cpu()
        seconds, summary, model = run_hardneg(s, out, work / f"{library}-cache-{order}", **extra)
        cpu = _cpu() - cpu
        expected = cache == "cold"
        if (summary["texts_encoded"] > 0) != expected:
            raise RuntimeError(f"{library} {cache} run encoded {summary['texts_encoded']} texts")
        note = f"encoded {summary['texts_encoded']}, from cache {summary['texts_from_cache']}"
        if summary.get("model_prepare_seconds"):  # loading, casting or exporting the model: part of 'encode'
            note += f"; model made ready in {summary['model_prepare_seconds']:.1f} s"
        path = f"{model['backend']} {model['precision']} ({model['encoding_choice']})"
        runs.append(Timing(library, cache, order, seconds, cpu, dict(summary["seconds"]), note, _load(), path))
        outputs.setdefault(f"{library}-{cache}", out)
        log(f"[{order}] {library} {cache}: {seconds:.1f} s, {model['backend']} {model['precision']}")

    if order == "peer-first":
        peer("cold", None, "no cache_folder")
        ours("cold")
        ours("warm")
        ours("cold", FLOAT32, precision="float32")
    else:
        ours("cold")
        peer("cold", st_cache, "empty cache_folder, filled by this run")
        peer("warm", st_cache, "cache_folder filled by the run before")
        ours("warm")
    return runs, outputs


FLOAT32 = "hardneg-float32"
"""hardneg asked for the peer's arithmetic (``precision="float32"``): the rows the agreement compares."""


def ratios(runs: list[Timing]) -> dict[str, Any]:
    """hardneg / peer per ordering: cold/cold (wall and CPU time), warm/peer-cold and warm/peer-warm."""
    out: dict[str, Any] = {}
    for order in dict.fromkeys(r.order for r in runs):
        t = {(r.library, r.cache): r.seconds for r in runs if r.order == order}
        cpu = {(r.library, r.cache): r.cpu_seconds for r in runs if r.order == order}
        peer_cold = t[("sentence-transformers", "cold")]
        entry = {
            "cold": round(t[("hardneg", "cold")] / peer_cold, 3),
            "cold_cpu": round(cpu[("hardneg", "cold")] / cpu[("sentence-transformers", "cold")], 3),
            "warm_vs_peer_cold": round(t[("hardneg", "warm")] / peer_cold, 4),
        }
        if ("sentence-transformers", "warm") in t:
            entry["warm_vs_peer_warm"] = round(t[("hardneg", "warm")] / t[("sentence-transformers", "warm")], 3)
        if (FLOAT32, "cold") in t:
            entry["float32_cold"] = round(t[(FLOAT32, "cold")] / peer_cold, 3)
            entry["float32_cold_cpu"] = round(cpu[(FLOAT32, "cold")] / cpu[("sentence-transformers", "cold")], 3)
        out[order] = entry
    return out


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 3)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _rounded(d: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in d.items()}


# --- memory -------------------------------------------------------------------------------------
#
# Each measurement runs in a fresh child process (this script with --memory-child) so peaks do not
# mix. The search step's extra memory is the peak resident size during DenseSearch.search minus the
# resident size just before it; Linux resets the peak when "5" is written to /proc/self/clear_refs.
# glibc normally keeps freed blocks of earlier calls resident and reuses them, which would hide a
# call's allocations; a fixed mmap threshold makes every block of 128 KiB or more go back to the
# system when freed, so each call's peak is its own. One small FAISS search runs before measuring,
# so the BLAS library's one-off buffers are not charged to the first call.

CHILD_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def _warm_faiss() -> None:
    import faiss

    faiss.knn(np.ones((64, 384), np.float32), np.ones((2048, 384), np.float32), 4, metric=faiss.METRIC_INNER_PRODUCT)


def _rss_kib(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class SearchPeak:
    """Wraps ``DenseSearch.search`` to record the largest extra resident memory of any call."""

    def __init__(self) -> None:
        self.extra_kib = 0
        self.calls = 0
        self.max_k = 0
        self.max_queries = 0
        self.dim = 0
        self._process_kib = 0

    def process_peak_kib(self) -> int:
        """Peak resident size of the whole process, across the resets made around each search.

        (``ru_maxrss`` will not do: Linux carries it over from the parent through fork and exec.)
        """
        return max(self._process_kib, _rss_kib("VmHWM") or 0)

    def install(self) -> None:
        from hardneg.candidates import dense

        original = dense.DenseSearch.search
        peak = self

        def search(self_, query_indices, k):
            before = _rss_kib("VmRSS") or 0
            peak._process_kib = peak.process_peak_kib()
            _reset_peak()
            try:
                return original(self_, query_indices, k)
            finally:
                after = _rss_kib("VmHWM") or 0
                peak.extra_kib = max(peak.extra_kib, after - before)
                peak.calls += 1
                peak.max_k = max(peak.max_k, int(k))
                peak.max_queries = max(peak.max_queries, len(query_indices))
                peak.dim = int(self_.query_embeddings.shape[1])

        dense.DenseSearch.search = search


def formula_bytes(chunk: int, k: int, dim: int) -> dict[str, int]:
    """Extra memory of searching one chunk of ``chunk`` queries to depth ``k``; no corpus term.

    FAISS's BLAS tile (float32 scores of at most 4096 queries x 1024 documents), the chunk's
    query vectors gathered into one contiguous array, and the (score, index) results.
    """
    tile = 4 * min(chunk, 4096) * 1024
    queries = 4 * chunk * dim
    results = 12 * chunk * k  # float32 score + int64 index per (query, candidate)
    return {"faiss_tile": tile, "query_chunk": queries, "results": results, "total": tile + queries + results}


def memory_child_mine(s: Settings, cache_dir: Path, chunk: int) -> dict[str, Any]:
    """A SciFact mining run (warm cache) at one query_chunk_size."""
    _warm_faiss()
    peak = SearchPeak()
    peak.install()
    with tempfile.TemporaryDirectory() as tmp:
        seconds, summary, _ = run_hardneg(s, Path(tmp) / "out.parquet", cache_dir, query_chunk_size=chunk, show_progress=False)
    return {
        "query_chunk_size": chunk,
        "seconds": round(seconds, 2),
        "texts_encoded": summary["texts_encoded"],
        "search_calls": peak.calls,
        "search_max_k": peak.max_k,
        "search_max_queries": peak.max_queries,
        "search_extra_mib": round(peak.extra_kib / 1024, 2),
        "process_peak_rss_mib": round(peak.process_peak_kib() / 1024, 1),
        "formula_mib": round(formula_bytes(peak.max_queries, peak.max_k, peak.dim)["total"] / 2**20, 2),
    }


def memory_child_search(n_docs: int, n_queries: int, chunk: int, k: int) -> dict[str, Any]:
    """Search alone over random unit vectors (dim 384), one query chunk at a time as Miner does."""
    from hardneg.candidates import DenseSearch
    from hardneg.encoding.encode import Embeddings

    rng = np.random.default_rng(0)
    docs = rng.standard_normal((n_docs, 384), dtype=np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    queries = rng.standard_normal((n_queries, 384), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    _warm_faiss()
    peak = SearchPeak()
    peak.install()
    search = DenseSearch(queries, Embeddings([docs]), query_chunk_size=chunk)
    start = time.perf_counter()
    for begin in range(0, n_queries, chunk):
        search.search(np.arange(begin, min(begin + chunk, n_queries)), k)
    return {
        "documents": n_docs,
        "queries": n_queries,
        "query_chunk_size": chunk,
        "k": k,
        "seconds": round(time.perf_counter() - start, 2),
        "search_extra_mib": round(peak.extra_kib / 1024, 2),
        "formula_mib": round(formula_bytes(chunk, k, 384)["total"] / 2**20, 2),
        "full_score_matrix_mib": round(n_queries * n_docs * 4 / 2**20, 1),
    }


def run_child(s: Settings, args: list[str], log: Callable[[str], None]) -> dict[str, Any]:
    common = ["--data", str(s.data), "--split", s.split, "--batch-size", str(s.batch_size), "--device", s.device]
    if s.max_seq_length is not None:
        common += ["--max-seq-length", str(s.max_seq_length)]
    cmd = [sys.executable, str(Path(__file__).resolve()), *common, "--memory-child", *args]
    log("memory: " + " ".join(args))
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, **CHILD_ENV})
    if done.returncode != 0:
        raise RuntimeError(f"memory child {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_memory(s: Settings, cache_dir: Path, chunks: list[int], log: Callable[[str], None]) -> dict[str, Any]:
    mining = [run_child(s, ["mine", str(cache_dir), str(c)], log) for c in chunks]
    synthetic = [
        run_child(s, ["search", str(n_docs), "8192", str(c), "16"], log) for n_docs in (20_000, 80_000) for c in (512, 4096)
    ]
    return {
        "formula": "extra ≈ 4·min(c, 4096)·1024 B (FAISS BLAS tile) + 4·c·d B (the chunk's query vectors) "
        "+ 12·c·k B (float32 score + int64 index per candidate), for c queries per chunk, dimension d, depth k",
        "mining_runs": mining,
        "search_only": synthetic,
    }


# --- report -------------------------------------------------------------------------------------


def format_table(result: dict[str, Any]) -> str:
    lines = [f"hardneg mine vs sentence-transformers mine_hard_negatives on {result['data']['name']}", ""]
    a = result.get("agreement")
    if a:
        lines += [
            "Agreement (per (query, positive) row, dense top-3)",
            f"  rows {a['rows']}  (peer rows {a['peer_rows']}, missing in peer {a['missing_in_peer']})",
            f"  identical            {a['identical']:>5}  {a['fraction_identical']:.2%}",
            f"  identical as sets    {a['identical'] + a['same_set']:>5}  {a['fraction_identical_as_sets']:.2%}",
            f"  differ only by ties  {a['ties_only']:>5}  (|Δscore| < {a['tie_eps']:g})",
            f"  equal up to ties     {'':>5}  {a['fraction_equal_up_to_ties']:.2%}   target >= 99%: "
            + ("met" if a["fraction_equal_up_to_ties"] >= 0.99 else "MISSED"),
            f"  other differences    {a['different']:>5}  " + ", ".join(f"{k}: {v}" for k, v in a["different_by_reason"].items()),
            f"  largest |Δ positive score| between the two: {a['max_positive_score_difference']:.1e}",
            "",
        ]
    cpu = result["environment"]["cpu"]
    lines.append(f"CPU: {cpu['model_name'] or 'unknown'} ({cpu['kind']}; flags {', '.join(cpu['flags'])})")
    lines.append("Speed (seconds, end to end; this process, same model path, batch size, max_seq_length, device)")
    lines.append(f"  {'order':<14}{'library':<23}{'cache':<7}{'seconds':>9}{'cpu s':>9}  {'load':<6}stages")
    for r in result["timings"]:
        stages = " ".join(f"{k}={v:.2f}" for k, v in r["stages"].items() if k != "total" and v >= 0.005)
        lines.append(
            f"  {r['order']:<14}{r['library']:<23}{r['cache']:<7}{r['seconds']:>9.2f}{r['cpu_seconds']:>9.2f}  "
            f"{r['load_average']:<6.1f}{stages}"
        )
    paths = {r["encoding"] for r in result["timings"] if r.get("encoding")}
    for path in sorted(paths):
        runs = ", ".join(f"{r['order']} {r['library']} {r['cache']}" for r in result["timings"] if r.get("encoding") == path)
        lines.append(f"  encoded with {path}: {runs}")
    b = result["bar"]
    for order, ratio in result["ratios"].items():
        met = b["orders"][order]
        lines.append(
            f"  {order}: cold wall ratio {ratio['cold']:.3f}, CPU time {ratio['cold_cpu']:.3f} (bar <= {b['cold_cpu_at_most']} "
            f"on this CPU kind: {'met' if met['cold_met'] else 'MISSED'}), warm / peer cold {ratio['warm_vs_peer_cold']:.4f} "
            f"(bar <= {b['warm_at_most']}: {'met' if met['warm_met'] else 'MISSED'})"
            + (f", warm / peer warm {ratio['warm_vs_peer_warm']:.3f}" if "warm_vs_peer_warm" in ratio else "")
            + (f"; float32 cold CPU time {ratio['float32_cold_cpu']:.3f}" if "float32_cold_cpu" in ratio else "")
        )
    m = result.get("memory")
    if m:
        lines += ["", "Memory of the search step (" + m["formula"] + ")"]
        for r in m["mining_runs"]:
            lines.append(
                f"  mining run, query_chunk_size {r['query_chunk_size']:>5}: search extra {r['search_extra_mib']:>7.2f} MiB "
                f"(formula {r['formula_mib']:.2f}, k <= {r['search_max_k']}), process peak RSS {r['process_peak_rss_mib']:.0f} MiB"
            )
        for r in m["search_only"]:
            lines.append(
                f"  search only, {r['documents']:>6} docs x {r['queries']} queries, chunk {r['query_chunk_size']:>5}, k {r['k']}: "
                f"extra {r['search_extra_mib']:>7.2f} MiB (formula {r['formula_mib']:.2f}; "
                f"a full score matrix would be {r['full_score_matrix_mib']:.0f} MiB)"
            )
    return "\n".join(lines)


def bar(result: dict[str, Any]) -> dict[str, Any]:
    """The bar for this CPU's kind, and whether every ordering met it."""
    cold = 0.5 if result["environment"]["cpu"]["fast_int8_or_bf16"] else 0.75
    orders = {
        order: {
            "cold_cpu": r["cold_cpu"],
            "cold_met": r["cold_cpu"] <= cold,
            "warm": r["warm_vs_peer_cold"],
            "warm_met": r["warm_vs_peer_cold"] <= 0.05,
        }
        for order, r in result["ratios"].items()
    }
    return {
        "cpu_kind": result["environment"]["cpu"]["kind"],
        "cold_cpu_at_most": cold,
        "warm_at_most": 0.05,
        "orders": orders,
        "met": all(o["cold_met"] and o["warm_met"] for o in orders.values()),
    }


def environment(s: Settings) -> dict[str, Any]:
    import faiss
    import sentence_transformers
    import torch

    import hardneg

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {_cpu_count()} CPU cores, no GPU used (device={s.device})",
        "cpu": cpu_kind.describe(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "sentence_transformers": sentence_transformers.__version__,
        "faiss": faiss.__version__,
        "hardneg": hardneg.__version__,
    }


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


# --- command line -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(SCIFACT), help="BEIR folder, or 'demo' (default: ../shared/data/scifact)")
    p.add_argument("--split", default="train")
    p.add_argument("--num-negatives", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64, help="encoding batch size, for both libraries")
    p.add_argument("--max-seq-length", type=int, default=None, help="for both libraries (default: the model's)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-peer-faiss", dest="peer_faiss", action="store_false", help="peer searches with torch, not FAISS")
    p.add_argument("--orders", default="peer-first,hardneg-first", help="comma list of peer-first, hardneg-first")
    p.add_argument("--tie-eps", type=float, default=1e-5)
    p.add_argument("--memory-chunks", default="32,4096", help="query_chunk_size values of the memory runs")
    p.add_argument("--no-memory", dest="memory", action="store_false")
    p.add_argument("--json", action="store_true", help="print the JSON object instead of the table")
    p.add_argument("--results", default=str(RESULTS), help="where the JSON goes ('' = nowhere)")
    p.add_argument("--memory-child", nargs="+", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    from hardneg.data import demo_path
    from hardneg.encoding.model import default_model_path

    data = demo_path() if args.data == "demo" else Path(args.data)
    if not (data / "corpus.jsonl").is_file():
        raise SystemExit(f"no BEIR folder at {data} (SciFact is expected at ../shared/data/scifact)")
    return Settings(
        data=data,
        split=args.split,
        num_negatives=args.num_negatives,
        batch_size=args.batch_size,
        max_seq_length=args.max_seq_length,
        device=args.device,
        peer_faiss=args.peer_faiss,
        model_path=default_model_path(),
    )


def child_main(s: Settings, argv: list[str]) -> None:
    kind, *rest = argv
    if kind == "mine":
        out = memory_child_mine(s, Path(rest[0]), int(rest[1]))
    else:
        out = memory_child_search(*(int(x) for x in rest))
    print(json.dumps(out))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    s = settings_from(args)
    if args.memory_child:
        child_main(s, args.memory_child)
        return {}

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    result: dict[str, Any] = {
        "data": {"name": s.data.name, "path": str(s.data), "split": s.split},
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(s).items()},
        "environment": environment(s),
        "timed": "reading the BEIR files, loading the model (hardneg: and fingerprinting its weights), encoding "
        "(or reading the cache), search, selection, writing parquet (hardneg: and its manifest); imports and "
        "one model load happen untimed before the first run",
    }
    log("warming up (imports, one untimed model load)")
    warm_up(s)
    with tempfile.TemporaryDirectory(prefix="mine_vs_st-") as tmp:
        work = Path(tmp)
        timings: list[Timing] = []
        outputs: dict[str, dict[str, Path]] = {}
        for order in [o.strip() for o in args.orders.split(",") if o.strip()]:
            if order not in ("peer-first", "hardneg-first"):
                raise SystemExit(f"--orders takes peer-first and/or hardneg-first, got {order!r}")
            runs, outputs[order] = run_order(order, s, work, log)
            timings += runs
        result["timings"] = [asdict(t) for t in timings]
        result["ratios"] = ratios(timings)
        result["bar"] = bar(result)
        first = next(iter(outputs.values()))
        ours = read_parquet_rows(first.get(f"{FLOAT32}-cold", first["hardneg-cold"]))
        result["hardneg_warm_equals_cold"] = all(
            read_parquet_rows(o["hardneg-warm"]) == read_parquet_rows(o["hardneg-cold"]) for o in outputs.values()
        )
        result["agreement"] = compare_rows(read_parquet_rows(first["peer-cold"]), ours, s.num_negatives, args.tie_eps)
        result["agreement"]["hardneg_run"] = FLOAT32 if f"{FLOAT32}-cold" in first else "hardneg"
        if args.memory:
            cache = work / f"hardneg-cache-{next(iter(outputs))}"  # the default path's vectors
            chunks = [int(c) for c in args.memory_chunks.split(",")]
            result["memory"] = measure_memory(s, cache, chunks, log)
    if args.results:
        path = Path(args.results)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        log(f"wrote {path}")
    print(json.dumps(result, ensure_ascii=False) if args.json else format_table(result))
    return result


if __name__ == "__main__":
    main()
