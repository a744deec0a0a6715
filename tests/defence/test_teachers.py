import numpy as np
import pytest

from hardneg.data import load_beir
from hardneg.errors import ModelError
from hardneg.teachers import BiEncoderTeacher, CrossEncoderScorer, EnsembleScorer, build_teacher, minmax_rows
from hardneg.teachers.base import PairCache, score_pairs


def test_score_pairs_computes_each_distinct_pair_once():
    seen = []

    def compute(q, d):
        seen.append(list(zip(q.tolist(), d.tolist())))
        return q * 100 + d

    cache = PairCache()
    docs = np.array([[3, 1, 3, -1], [1, 2, -1, -1]])
    out = score_pairs(cache, np.array([0, 5]), docs, compute)
    assert out.tolist() == [[3, 1, 3, -np.inf], [501, 502, -np.inf, -np.inf]]
    assert sorted(seen[0]) == [(0, 1), (0, 3), (5, 1), (5, 2)]
    score_pairs(cache, np.array([5]), np.array([[2, 7]]), compute)
    assert seen[1] == [(5, 7)]


def test_cross_encoder_scores_probabilities_or_logits(beir, tiny_cross_encoder):
    data = load_beir(beir)
    prob = CrossEncoderScorer(tiny_cross_encoder, data.query_texts, data.corpus_texts, show_progress=False)
    raw = CrossEncoderScorer(tiny_cross_encoder, data.query_texts, data.corpus_texts, activation="raw", show_progress=False)
    docs = np.array([[0, 4, -1], [2, 3, 7]])
    p, r = prob.score(np.array([0, 1]), docs), raw.score(np.array([0, 1]), docs)
    assert p.shape == (2, 3) and p[0, 2] == -np.inf
    finite = np.isfinite(p)
    assert np.allclose(p[finite], 1 / (1 + np.exp(-r[finite])), atol=1e-5)
    assert prob.is_probability and not raw.is_probability
    before = prob.pairs_scored
    prob.score(np.array([0]), np.array([[0, 4]]))
    assert prob.pairs_scored == before  # cached
    assert prob.info()["activation"] == "sigmoid"


def test_cross_encoder_bf16_is_close_to_float32(beir, tiny_cross_encoder):
    data = load_beir(beir)
    docs = np.array([[0, 1, 2, 3]])
    full = CrossEncoderScorer(tiny_cross_encoder, data.query_texts, data.corpus_texts, show_progress=False)
    half = CrossEncoderScorer(full.model, data.query_texts, data.corpus_texts, show_progress=False, bf16=True)
    assert np.allclose(full.score(np.array([0]), docs), half.score(np.array([0]), docs), atol=0.02)


def test_missing_teacher_path_is_an_error_not_a_download(beir):
    data = load_beir(beir)
    with pytest.raises(ModelError, match="no such folder"):
        CrossEncoderScorer("./no/such/teacher", data.query_texts, data.corpus_texts)


def test_bi_encoder_teacher_is_cosine_and_cached_by_weights(beir, tiny_bi_encoder, tmp_path):
    data = load_beir(beir)
    teacher = BiEncoderTeacher(tiny_bi_encoder, data, cache_dir=tmp_path, show_progress=False)
    scores = teacher.score(np.array([0]), np.array([[0, 1, -1]]))
    assert np.all(np.abs(scores[0, :2]) <= 1 + 1e-5) and scores[0, 2] == -np.inf
    again = BiEncoderTeacher(tiny_bi_encoder, data, cache_dir=tmp_path, show_progress=False)
    assert again.texts_encoded == 0  # all from the cache
    assert again.info()["fingerprint"] == teacher.info()["fingerprint"]


class Fixed:
    def __init__(self, scores, is_probability):
        self.scores, self.is_probability, self.name = np.asarray(scores, dtype=np.float32), is_probability, "fixed"

    def score(self, q, d):
        return self.scores.copy()

    def info(self):
        return {"type": "fixed"}


def test_ensemble_averages_probabilities_as_they_are():
    e = EnsembleScorer([Fixed([[0.2, 0.8]], True), Fixed([[0.4, 1.0]], True)])
    assert e.is_probability and not e.normalize
    assert e.score(np.array([0]), np.array([[1, 2]]))[0].tolist() == pytest.approx([0.3, 0.9])


def test_ensemble_normalises_mixed_scales_per_query():
    e = EnsembleScorer([Fixed([[0.2, 0.8, 0.5]], True), Fixed([[10.0, -10.0, 0.0]], False)])
    assert e.normalize and not e.is_probability
    assert e.score(np.array([0]), np.array([[1, 2, 3]]))[0].tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert minmax_rows(np.array([[1.0, 3.0, -np.inf]])).tolist() == [[0.0, 1.0, -np.inf]]


def test_build_teacher_makes_an_ensemble_of_mixed_types(beir, tiny_cross_encoder, tiny_bi_encoder):
    data = load_beir(beir)
    teacher = build_teacher([tiny_cross_encoder, tiny_bi_encoder], ["cross-encoder", "bi-encoder"], data, show_progress=False)
    assert isinstance(teacher, EnsembleScorer) and teacher.normalize
    assert [m["type"] for m in teacher.info()["members"]] == ["cross-encoder", "bi-encoder"]
