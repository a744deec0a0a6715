"""``hardneg.mine_hard_negatives``: the call of ``sentence_transformers.util.mine_hard_negatives``, mined by hardneg.

The same 29 parameters (sentence-transformers v6.2) in the same order, with the same defaults, errors,
deprecation warnings and returned columns; hardneg's own parameters follow as keyword arguments. An argument the
caller passed overrides the ``preset`` even when its value is the peer's default (``PASSED`` records which were).
What a preset supplies, and every case where the rows differ on purpose: ``docs/migrating.md``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardneg.drivers.compat_params import (
    PASSED,
    PEER_PRESET,
    PRESET_ARGUMENTS,
    encode_devices,
    encode_processes,
    preset_choices,
    teacher_max_depth,
    tracks_passed_arguments,
    warn_if_unprotected,
)

if TYPE_CHECKING:
    from datasets import Dataset

logger = logging.getLogger(__name__)

PEER_FORMATS = ("triplet", "n-tuple", "labeled-pair", "labeled-list")


def _prompt(model: Any, prompt: str | None, name: str | None, defaults: tuple[str, ...]) -> str | None:
    """The prompt sentence-transformers' ``encode_query`` / ``encode_document`` would prepend."""
    if prompt is not None:
        return prompt
    prompts = getattr(model, "prompts", None) or {}
    if name is not None:
        if name not in prompts:
            raise ValueError(
                f"Prompt name '{name}' not found in the configured prompts dictionary with keys {list(prompts.keys())!r}."
            )
        return prompts[name]
    return next((prompts[d] for d in defaults if d in prompts), None)


def _columns(dataset: Dataset, anchor: str | None, positive: str | None) -> tuple[str, str]:
    """The anchor and positive columns: the names given, else the first and second column (as the peer picks)."""
    if len(dataset) == 0:
        raise ValueError("The dataset is empty. Please provide a non-empty dataset.")
    columns = list(dataset.column_names)
    if not anchor or anchor not in columns:
        anchor = columns[0]
    if not positive or positive not in columns:
        if len(columns) < 2:
            raise ValueError("Dataset must contain at least two columns to select the positive column automatically.")
        positive = columns[1]
    return anchor, positive


@tracks_passed_arguments
def mine_hard_negatives(
    dataset: Dataset,
    model: Any,
    anchor_column_name: str | None = None,
    positive_column_name: str | None = None,
    corpus: list[str] | None = None,
    cross_encoder: Any = None,
    range_min: int = 0,
    range_max: int | None = None,
    max_score: float | None = None,
    min_score: float | None = None,
    absolute_margin: float | None = None,
    relative_margin: float | None = None,
    num_negatives: int = 3,
    sampling_strategy: str = "top",
    query_prompt_name: str | None = None,
    query_prompt: str | None = None,
    corpus_prompt_name: str | None = None,
    corpus_prompt: str | None = None,
    include_positives: bool = False,
    output_format: str = "triplet",
    output_scores: bool = False,
    batch_size: int = 32,
    faiss_batch_size: int = 16384,
    use_faiss: bool = False,
    use_multi_process: list[str] | bool = False,
    verbose: bool = True,
    cache_folder: str | None = None,
    as_triplets: bool | None = None,
    margin: float | None = None,
    *,
    seed: int = 42,
    preset: str | None = None,
    cache_key: str | None = None,
    chunk_pairs: int = 100_000,
    **params: Any,
) -> Dataset:
    """Add hard negatives to a ``datasets.Dataset`` of (anchor, positive) pairs, as
    ``sentence_transformers.util.mine_hard_negatives`` does (``docs/migrating.md`` lists the
    differences), mined by :func:`hardneg.mine`.

    Args:
        dataset: (anchor, positive) pairs; a repeated anchor means several positives. A ``Dataset``, or streamed:
            an ``IterableDataset`` or any iterator of pairs (see ``chunk_pairs``).
        model: a ``SentenceTransformer``, an object with ``encode_query`` / ``encode_document`` (or ``encode``)
            returning arrays, or a callable ``texts -> array``; vectors are normalised and compared by cosine.
        anchor_column_name: defaults to the first column (also when the name given is not a column, as
            in sentence-transformers).
        positive_column_name: defaults to the second column (the same way).
        corpus: more texts to draw negatives from, besides the positives.
        cross_encoder: a ``CrossEncoder`` that rescores the candidates when a score filter
            (``max_score``, ``min_score``, ``absolute_margin``, ``relative_margin``) is set; negatives
            are then ranked, filtered and returned with its scores (sigmoid probabilities).
        range_min: the rank window among non-positive candidates starts here.
        range_max: the rank window among non-positive candidates ends here.
        max_score: drop candidates scored above this.
        min_score: drop candidates scored below this.
        absolute_margin: drop candidates scored above the positive's score minus this; margins are
            relative to the query's lowest-scored positive.
        relative_margin: drop candidates scored above the positive's score minus this share of it.
        num_negatives: negatives per row (``n-tuple``) or per (anchor, positive) (others).
        sampling_strategy: ``"top"``, ``"random"`` (seeded), or hardneg's ``"simans"``.
        query_prompt_name: a prompt of ``model.prompts`` for the queries, resolved as ``encode_query``
            resolves it.
        query_prompt: the queries' prompt text.
        corpus_prompt_name: a prompt of ``model.prompts`` for the documents, resolved as
            ``encode_document`` resolves it.
        corpus_prompt: the documents' prompt text.
        include_positives: rank the positives among the candidates (a reranking evaluation set; n-tuple rows).
        output_format: ``"triplet"`` (default), ``"n-tuple"``, ``"labeled-pair"`` or ``"labeled-list"``.
        output_scores: add a ``scores`` column (the score replaces the label in the labeled formats).
        batch_size: texts per encoding batch.
        faiss_batch_size: queries searched at once.
        use_faiss: accepted for compatibility (hardneg always searches an exact FAISS index).
        use_multi_process: encode in several processes: ``True`` (one per GPU, else 4 on the CPU) or a device list
            (one process on each).
        verbose: progress bars (stderr) and the run's summary (stdout, as the peer prints its table).
        cache_folder: embedding cache folder (default: hardneg's, $HARDNEG_CACHE or ~/.cache/hardneg).
        as_triplets: deprecated, as in sentence-transformers.
        margin: deprecated, as in sentence-transformers.
        seed: seed of every random choice.
        preset: a hardneg preset; it supplies the mining choices the caller did not pass (default: the
            peer's own defaults, ``top``).
        cache_key: for a model that is not a ``SentenceTransformer`` (no weights to fingerprint): the name its
            vectors are cached under in ``cache_folder``; without it they are not cached.
        chunk_pairs: pairs mined at once when ``dataset`` is streamed (an ``IterableDataset``, a generator or any
            iterator of records or ``(anchor, positive)`` tuples): the corpus is encoded once and the pairs are
            read, encoded and mined a chunk at a time (:mod:`hardneg.drivers.compat_stream`). With ``out=`` (a
            ``.parquet`` or ``.jsonl`` file) the rows are written chunk by chunk and an ``IterableDataset`` reading
            them is returned.
        **params: any other parameter of :func:`hardneg.mine` (``teacher``,
            ``near_duplicate_threshold``, ``exclude_qrels``, ``out``, ...).

    Returns:
        The mined rows in sentence-transformers' column layout.

    Example:
        >>> from hardneg import mine_hard_negatives
        >>> mined = mine_hard_negatives(pairs, model, corpus=corpus, num_negatives=3, output_format="n-tuple")
        >>> mined.column_names
        ['query', 'answer', 'negative_1', 'negative_2', 'negative_3']
    """
    from hardneg.drivers.compat_rows import rank_positives_in, to_peer_dataset
    from hardneg.drivers.compat_stream import is_streamed, mine_streamed
    from hardneg.drivers.mine import mine
    from hardneg.encoding.model import is_sentence_transformer
    from hardneg.mining.config import make_config

    passed: frozenset[str] = params.pop(PASSED, frozenset())
    if faiss_batch_size <= 0:
        raise ValueError(f"faiss_batch_size must be a positive integer, got {faiss_batch_size}.")
    streamed = is_streamed(dataset)
    if not streamed:
        anchor_column_name, positive_column_name = _columns(dataset, anchor_column_name, positive_column_name)
    output_format, output_scores = _output_format(output_format, output_scores, as_triplets, include_positives)
    if include_positives:
        _warn_positives_may_be_filtered(passed, absolute_margin, relative_margin, min_score)
    if margin is not None:
        absolute_margin, passed = margin, passed | {"absolute_margin"}
        logger.warning(
            "The `margin` parameter is deprecated. Use the `absolute_margin` and/or `relative_margin` parameter instead. "
            f"Setting `absolute_margin` to `{absolute_margin}`."
        )
    if num_negatives < 1:
        raise ValueError(f"num_negatives must be at least 1, got num_negatives={num_negatives}.")
    scored = any(v is not None for v in (absolute_margin, relative_margin, max_score))
    _check_window(range_min, range_max, num_negatives)
    if range_max is None and use_faiss and not streamed:  # a stream's positives per anchor are not known yet
        _check_window(range_min, *_faiss_gpu_window(dataset[anchor_column_name], range_min, num_negatives, scored))
    if sampling_strategy not in ("top", "random", "simans"):
        raise ValueError(f"sampling_strategy must be 'top' or 'random' (or hardneg's 'simans'), got {sampling_strategy!r}.")
    if include_positives and sampling_strategy != "top":
        raise ValueError("include_positives=True ranks the top candidates, positives among them: use sampling_strategy='top'.")

    choices = preset_choices(
        {
            "range_min": range_min, "range_max": range_max, "max_score": max_score, "min_score": min_score,
            "absolute_margin": absolute_margin, "relative_margin": relative_margin, "num_negatives": num_negatives,
            "sampling_strategy": sampling_strategy,
        },
        passed,
    )  # fmt: skip
    # the peer's margins hold every positive of an anchor to its weakest one's score: same rows here
    # and the peer encodes in float32 on every machine: so does the drop-in, unless asked otherwise (hardneg's own
    # commands take the faster path measured for the CPU at hand, hardneg.encoding.defaults)
    # and the peer offers a query as its own negative where the corpus holds it: so does the drop-in, and says so
    # below, unless a preset or exclude_query_itself asks otherwise
    extras = {
        "positive_reference": "min",
        "strict_checks": False,  # the peer's margins, a corpus too small: mined as given, short or empty output warned
        **({} if {"precision", "backend"} & set(params) else {"precision": "float32"}),
        **({} if preset is not None else {"exclude_query_itself": False}),
        **params,
    }
    config = make_config(preset or PEER_PRESET, output_format=output_format, strict_checks=False, **choices)  # resolved
    teacher = cross_encoder if cross_encoder is not None and config.uses_score_filters else None
    if teacher is not None:
        extras = {"teacher_batch_size": batch_size, "max_depth": teacher_max_depth(config.range_min, config.range_max), **extras}
    warn_if_unprotected({**config.to_dict(), **extras}, preset)
    if include_positives:  # the top range_min + n of all texts lie among the positives and the top range_min + n others
        choices |= {"range_min": 0, "num_negatives": range_min + num_negatives, "selection": "top"}
    # an embedder with no torch model encodes here (a model named by its path loads as a SentenceTransformer)
    one_process = not isinstance(model, str | Path) and not is_sentence_transformer(model)
    settings = {
        "seed": seed,
        "query_prompt": _prompt(model, query_prompt, query_prompt_name, ("query",)),
        "document_prompt": _prompt(model, corpus_prompt, corpus_prompt_name, ("document", "passage", "corpus")),
        "output_format": output_format,
        "include_scores": output_scores or include_positives,
        "batch_size": batch_size,
        "query_chunk_size": faiss_batch_size,
        "show_progress": verbose,
        "encode_processes": 1 if one_process else encode_processes(use_multi_process),
        "encode_devices": None if one_process else encode_devices(use_multi_process),
        **({"cache_dir": cache_folder} if cache_folder else {}),
        **choices,
        **extras,
    }

    def shape(result: Any, renames: dict[str, str]) -> Dataset:
        _warn_query_itself(result.summary)
        mined = to_peer_dataset(result, renames, verbose=verbose)
        if include_positives:
            return rank_positives_in(mined, (renames["anchor"], renames["positive"]), range_min, num_negatives, output_scores)
        return mined

    if streamed:
        return mine_streamed(
            dataset, columns=(anchor_column_name, positive_column_name), corpus=corpus, chunk_pairs=chunk_pairs, model=model,
            cache_key=cache_key, preset=preset or PEER_PRESET, teacher=teacher, settings=settings, shape=shape, verbose=verbose,
        )  # fmt: skip
    columns = dataset.select_columns([anchor_column_name, positive_column_name]).to_dict()
    pairs = {"anchor": columns[anchor_column_name], "positive": columns[positive_column_name]}  # renamed back by shape
    result = mine(
        pairs, preset=preset or PEER_PRESET, model=model, teacher=teacher, corpus=corpus, cache_key=cache_key, **settings
    )
    return shape(result, {"anchor": anchor_column_name, "positive": positive_column_name})


def _check_window(range_min: int, range_max: int | None, num_negatives: int, note: str = "") -> None:
    """The peer's errors for a rank window that cannot hold ``num_negatives``, in its words (``note`` appended)."""
    if range_min < 0:
        raise ValueError(f"range_min must be non-negative, got range_min={range_min}.")
    if range_max is None:
        return
    if range_min >= range_max:
        raise ValueError(f"range_min must be smaller than range_max, got range_min={range_min} and range_max={range_max}.{note}")
    if num_negatives > range_max - range_min:
        raise ValueError(
            f"Cannot mine {num_negatives} negatives per query: only {range_max - range_min} candidates remain after "
            f"skipping the first range_min={range_min} of range_max={range_max}. Consider decreasing num_negatives "
            f"or range_min, or increasing range_max.{note}"
        )


FAISS_GPU_LIMIT = 2048
"""Documents FAISS on a GPU returns per query: the peer caps its derived ``range_max`` to fit, with ``use_faiss``."""


def _faiss_gpu_window(anchors: Any, range_min: int, num_negatives: int, scored: bool) -> tuple[int | None, int, str]:
    """The peer's derived window when ``use_faiss`` finds FAISS GPUs: its capped ``range_max`` and the note its
    errors end with, so that a call it refuses on this machine is refused here in its words (hardneg searches on
    the CPU and has no cap: where the peer does not refuse, nothing changes). ``(None, n, "")`` without a GPU."""
    import faiss

    if not getattr(faiss, "get_num_gpus", lambda: 0)():
        return None, num_negatives, ""
    from collections import Counter

    max_positives = max(Counter(anchors).values())
    derived = range_min + num_negatives * (10 if scored else 1) + max_positives
    if derived + max_positives <= FAISS_GPU_LIMIT:
        return None, num_negatives, ""
    capped = FAISS_GPU_LIMIT - max_positives
    note = (
        f" Note that range_max was capped to {capped} because FAISS on GPU can only retrieve up to"
        " 2048 documents per query, some of which are reserved for the positives. Passing use_faiss=False"
        " lifts that cap, although it can cost a lot more memory."
    )
    return capped, num_negatives, note


def _output_format(
    output_format: str, output_scores: bool, as_triplets: bool | None, include_positives: bool
) -> tuple[str, bool]:
    """The output format and whether it has scores, after the peer's deprecations and ``include_positives``."""
    if as_triplets is not None:
        output_format = "triplet" if as_triplets else "n-tuple"
        logger.warning(
            "The `as_triplets` parameter is deprecated. Use the `output_format` parameter instead. "
            f"Setting `output_format` to `{output_format}`."
        )
    if include_positives and output_format != "n-tuple":
        logger.warning(
            'When using `include_positives=True`, `output_format` will be set to `"n-tuple"` to ensure that the ranking '
            "order is preserved."
        )
        output_format = "n-tuple"
    if output_format == "n-tuple-scores":
        logger.warning(
            '`output_format="n-tuple-scores"` is deprecated. Use `output_format="n-tuple"` with '
            "`output_scores=True` instead for equivalent output formats."
        )
        output_format, output_scores = "n-tuple", True
    if output_format not in PEER_FORMATS:
        raise ValueError(
            f"Invalid output_format: {output_format}. Must be one of 'triplet', 'n-tuple', 'labeled-pair', or 'labeled-list'."
        )
    return output_format, output_scores


def _warn_query_itself(summary: dict) -> None:
    """A corpus that holds its queries: how many chosen negatives are their query itself, and how to drop them."""
    itself = summary.get("negatives_query_itself", 0)
    if itself:
        logger.warning(
            "%d of the %d negatives chosen are the query itself (the corpus holds the query's text): such a negative "
            "scores about 1.0 whatever the model learns. Pass preset='default' or exclude_query_itself=True to drop them.",
            itself, summary.get("negatives_found", 0),
        )  # fmt: skip


def _warn_positives_may_be_filtered(
    passed: frozenset[str], absolute_margin: float | None, relative_margin: float | None, min_score: float | None
) -> None:
    """With ``include_positives``, a filter or window applies to the other candidates: said, and said plainly for
    the margins (which in the peer drop every positive: a positive's score is the margins' reference) and
    ``min_score`` (which in the peer can leave no row)."""
    if passed & (PRESET_ARGUMENTS.keys() - {"num_negatives"} | {"margin"}):  # a window, filter or selection was given
        logger.warning(
            "When using `include_positives=True`, `range_min`, `range_max`, `max_score`, `min_score`, `absolute_margin` "
            "and `relative_margin` apply to the other candidates; the positives are always ranked among them."
        )
    for name, value in (("absolute_margin", absolute_margin), ("relative_margin", relative_margin)):
        if value is not None and value > 0:
            logger.warning(
                f"include_positives=True with {name}={value}: the margin drops every candidate scored above the "
                "positive's own score less the margin, so applied to the positives it would drop each of them "
                "(sentence-transformers does); here it drops other candidates only, and each row still ranks its positive."
            )
    if min_score is not None:
        logger.warning(
            f"include_positives=True with min_score={min_score}: candidates scored below it are dropped, and a query "
            "whose every other candidate is has no row; when none is left the result is empty (said again then)."
        )
