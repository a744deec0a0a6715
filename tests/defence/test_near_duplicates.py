import numpy as np
import pytest

from hardneg.defence.near_duplicates import NearDuplicates, shingle_hashes, shingle_text


def test_whitespace_and_punctuation_do_not_matter():
    assert shingle_text("Paris   is the capital of France!!") == shingle_text("paris is the capital, of france.")
    nd = NearDuplicates(["Paris is the capital of France.", "Paris   is the capital of France!!", "A dog barked at night."])
    assert nd.similarity(np.array([0, 0]), np.array([1, 2])).tolist() == [1.0, 0.0]


def test_estimate_is_close_to_the_exact_jaccard():
    a = "the quick brown fox jumps over the lazy dog near the river bank today"
    b = "the quick brown fox jumps over the lazy cat near the river bank today"
    sa, sb = set(shingle_hashes(a).tolist()), set(shingle_hashes(b).tolist())
    exact = len(sa & sb) / len(sa | sb)
    nd = NearDuplicates([a, b], num_perm=512)
    assert abs(nd.similarity(np.array([0]), np.array([1]))[0] - exact) < 0.08


def test_mask_compares_each_candidate_with_its_own_query_positives():
    texts = ["alpha beta gamma delta", "alpha  beta, gamma delta", "zeta eta theta iota", "zeta eta theta iota!"]
    nd = NearDuplicates(texts, threshold=0.8)
    candidates = np.array([[1, 3, -1], [1, 3, -1]])
    positives = np.array([[0, -1], [2, -1]])
    assert nd.mask(candidates, positives).tolist() == [[True, False, False], [False, True, False]]


def test_groups_finds_clusters_by_lsh():
    texts = ["one two three four five six", "one two three four five six!", "seven eight nine ten", "eleven twelve"]
    assert NearDuplicates(texts, threshold=0.8).groups(range(4)) == [[0, 1]]


def test_signatures_are_lazy_and_cached():
    nd = NearDuplicates(["a b c", "d e f", "g h i"])
    nd.signatures(np.array([[0, -1]]))
    assert set(nd._signatures) == {0}


@pytest.mark.parametrize("bad", [0, 1.5, -0.1])
def test_threshold_is_validated(bad):
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicates(["x"], threshold=bad)
