"""Selection rules on hand-made candidates: order, seeding, and independence from batching."""

from __future__ import annotations

import numpy as np
import pytest

from hardneg.selection import (
    RandomSelection,
    SelectionContext,
    SimANSSelection,
    TopSelection,
    build_selection,
    id_hashes,
)

DOC_IDS = [f"doc{i}" for i in range(40)]


def make_ctx(query_ids, doc_ids_per_query, keep=None, scores=None, positive=None) -> SelectionContext:
    """A SelectionContext for queries whose candidates are the given document ids, in rank order."""
    depth = max(len(d) for d in doc_ids_per_query)
    doc_hash = np.zeros((len(query_ids), depth), dtype=np.uint64)
    default_keep = np.zeros((len(query_ids), depth), dtype=bool)
    for row, docs in enumerate(doc_ids_per_query):
        doc_hash[row, : len(docs)] = id_hashes(docs)
        default_keep[row, : len(docs)] = True
    return SelectionContext(
        keep=default_keep if keep is None else np.asarray(keep, dtype=bool),
        scores=np.zeros((len(query_ids), depth), np.float32) if scores is None else np.asarray(scores, np.float32),
        positive_score=np.zeros(len(query_ids), np.float32) if positive is None else np.asarray(positive, np.float32),
        query_hash=id_hashes(query_ids),
        doc_hash=doc_hash,
    )


def picked(ctx, chosen, doc_ids_per_query, row=0) -> list[str]:
    return [doc_ids_per_query[row][j] for j in chosen[row] if j >= 0]


def test_top_takes_first_kept_in_rank_order():
    keep = [[False, True, False, True, True, True], [True, True, True, False, False, False]]
    ctx = make_ctx(["a", "b"], [DOC_IDS[:6], DOC_IDS[:6]], keep=keep)
    assert TopSelection().select(ctx, 3).tolist() == [[1, 3, 4], [0, 1, 2]]


def test_top_marks_shortfall_with_minus_one():
    keep = [[False, True, False, False]]
    ctx = make_ctx(["a"], [DOC_IDS[:4]], keep=keep)
    assert TopSelection().select(ctx, 3).tolist() == [[1, -1, -1]]


@pytest.mark.parametrize("selection", [RandomSelection(seed=7), SimANSSelection(seed=7)])
def test_sampling_only_picks_kept_candidates_in_rank_order(selection):
    rng = np.random.default_rng(0)
    keep = rng.random((5, 30)) < 0.5
    scores = np.sort(rng.random((5, 30)).astype(np.float32), axis=1)[:, ::-1]
    ctx = make_ctx([f"q{i}" for i in range(5)], [DOC_IDS[:30]] * 5, keep=keep, scores=scores, positive=[0.9] * 5)
    chosen = selection.select(ctx, 4)
    for row in range(5):
        valid = chosen[row][chosen[row] >= 0]
        assert keep[row, valid].all()
        assert list(valid) == sorted(valid)
        assert len(valid) == min(4, keep[row].sum())
        assert len(set(valid.tolist())) == len(valid)


def test_random_is_reproducible_and_depends_on_seed():
    docs = [DOC_IDS[:30]]
    ctx = make_ctx(["q"], docs)
    a = RandomSelection(seed=1).select(ctx, 5)
    assert np.array_equal(a, RandomSelection(seed=1).select(ctx, 5))
    others = {tuple(RandomSelection(seed=s).select(ctx, 5)[0]) for s in range(2, 12)}
    assert len(others | {tuple(a[0])}) > 5


def test_random_picks_depend_on_query_id_and_seed_only():
    """Same query id + seed -> same documents, whatever else is in the batch or how deep it was searched."""
    docs = DOC_IDS[:20]
    alone = make_ctx(["q_france"], [docs])
    pick_alone = set(picked(alone, RandomSelection(seed=3).select(alone, 4), [docs]))

    # In a batch, after another query, with the candidates in another order and extra dropped columns.
    shuffled = list(np.random.default_rng(1).permutation(docs)) + DOC_IDS[20:35]
    keep = np.zeros((2, len(shuffled)), dtype=bool)
    keep[0, :] = True
    keep[1, :20] = True
    batch = make_ctx(["q_other", "q_france"], [shuffled, shuffled], keep=keep)
    chosen = RandomSelection(seed=3).select(batch, 4)
    assert set(picked(batch, chosen, [shuffled, shuffled], row=1)) == pick_alone
    # The other query, with the same candidates, gets its own draw.
    assert set(picked(batch, chosen, [shuffled, shuffled], row=0)) != pick_alone


def test_random_is_roughly_uniform():
    docs = DOC_IDS[:10]
    counts = dict.fromkeys(docs, 0)
    for seed in range(2000):
        ctx = make_ctx(["q"], [docs])
        for d in picked(ctx, RandomSelection(seed=seed).select(ctx, 1), [docs]):
            counts[d] += 1
    assert min(counts.values()) > 140 and max(counts.values()) < 260  # expected 200 each


def test_simans_favours_scores_near_the_positive():
    # Positive 0.6; candidates from far above (likely false negatives) to far below (easy).
    docs = DOC_IDS[:7]
    scores = [[0.95, 0.85, 0.62, 0.6, 0.58, 0.3, 0.05]]
    counts = dict.fromkeys(docs, 0)
    for seed in range(600):
        ctx = make_ctx(["q"], [docs], scores=scores, positive=[0.6])
        for d in picked(ctx, SimANSSelection(a=2.0, seed=seed).select(ctx, 1), [docs]):
            counts[d] += 1
    near = counts["doc2"] + counts["doc3"] + counts["doc4"]
    assert near > 0.6 * 600
    assert counts["doc3"] > counts["doc0"] and counts["doc3"] > counts["doc6"]
    assert counts["doc0"] < 0.1 * 600 and counts["doc6"] < 0.1 * 600


@pytest.mark.parametrize("b, favourite", [(0.0, "doc2"), (0.4, "doc0"), (-0.4, "doc4")])
def test_simans_b_moves_the_preferred_score(b, favourite):
    # Raw differences s - s+ are 0.4, 0.2, 0, -0.2, -0.4: b picks which one is preferred.
    docs = DOC_IDS[:5]
    scores = [[0.9, 0.7, 0.5, 0.3, 0.1]]
    counts = dict.fromkeys(docs, 0)
    for seed in range(300):
        ctx = make_ctx(["q"], [docs], scores=scores, positive=[0.5])
        for d in picked(ctx, SimANSSelection(a=50.0, b=b, seed=seed, normalize=False).select(ctx, 1), [docs]):
            counts[d] += 1
    assert max(counts, key=counts.get) == favourite
    assert counts[favourite] > 0.5 * 300


def test_simans_is_seeded_and_batch_independent():
    docs = DOC_IDS[:25]
    scores = np.linspace(0.9, 0.1, 25, dtype=np.float32)[None, :]
    alone = make_ctx(["q_france"], [docs], scores=scores, positive=[0.6])
    a = SimANSSelection(seed=5).select(alone, 3)
    assert np.array_equal(a, SimANSSelection(seed=5).select(alone, 3))
    batch = make_ctx(["q_x", "q_france"], [docs, docs], scores=np.vstack([scores, scores]), positive=[0.2, 0.6])
    b = SimANSSelection(seed=5).select(batch, 3)
    assert b[1].tolist() == a[0].tolist()


def test_build_selection_names():
    assert isinstance(build_selection("top", seed=0), TopSelection)
    assert build_selection("random", seed=4).seed == 4
    s = build_selection("simans", seed=4, simans_a=1.5, simans_b=0.1)
    assert (s.a, s.b, s.seed) == (1.5, 0.1, 4)
    with pytest.raises(ValueError, match="'nope'"):
        build_selection("nope", seed=0)


def test_id_hashes_are_stable():
    assert id_hashes(["a", "b"]).tolist() == id_hashes(["a", "b"]).tolist()
    assert id_hashes(["a"])[0] != id_hashes(["b"])[0]
