import datasets
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from hardneg.training.known_positives import KnownPositivesMNRL, known_positive_keys, text_keys
from hardneg.training.train import train

FAST = {"batch_size": 4, "show_progress": False, "logging_steps": 1, "max_seq_length": 32}


def text(k: int) -> str:
    """A text of k words: texts of different lengths never share token ids, whatever the vocabulary."""
    return " ".join(["word"] * k)


Q1, Q2, P1, P2, P3, N, N1, N2 = (text(k) for k in range(1, 9))


@pytest.fixture
def model(tiny_model):
    return SentenceTransformer(str(tiny_model), device="cpu")


def features(model, *columns):
    return [model.preprocess(list(c)) for c in columns]


def test_the_mask_leaves_out_other_known_positives_only(model):
    # q1 has positives p1 and p2; q2's row brings p2 as its positive and p1 as its negative
    known = known_positive_keys(model, [Q1, Q1, Q2], [P1, P2, P3])
    loss = KnownPositivesMNRL(model, known)
    a1, a2 = text_keys(model, [Q1, Q2])
    p1, p2, p3, n = text_keys(model, [P1, P2, P3, N])
    # batch rows: (q1, p1, n), (q2, p2, p1)  -> documents [p1, p2, n, p1]
    mask = loss.mask([a1, a2], [p1, p2, n, p1])
    assert mask.tolist() == [[False, True, False, True], [False, False, False, False]]
    assert loss.masked == 2 and loss.scored == 6


def test_equals_mnrl_when_nothing_is_masked(model):
    known = known_positive_keys(model, [Q1, Q2], [P1, P2])
    batch = features(model, [Q1, Q2], [P1, P2], [N1, N2])
    torch.manual_seed(0)
    masked = KnownPositivesMNRL(model, known)(batch, None)
    plain = MultipleNegativesRankingLoss(model)(features(model, [Q1, Q2], [P1, P2], [N1, N2]), None)
    assert masked.item() == pytest.approx(plain.item(), rel=1e-5)
    assert masked.requires_grad


def test_masking_a_shared_positive_lowers_the_loss(model):
    # q2's positive is also q1's: unmasked, the loss pushes it away from q1
    known = known_positive_keys(model, [Q1, Q1, Q2], [P3, P1, P3])
    batch = lambda: features(model, [Q1, Q2], [P1, P3])  # noqa: E731
    masked = KnownPositivesMNRL(model, known)(batch(), None)
    plain = MultipleNegativesRankingLoss(model)(batch(), None)
    assert masked.item() < plain.item()


def test_train_masks_and_reports(tiny_model, tmp_path):
    q, d = [text(k) for k in range(1, 4)], [text(k) for k in range(10, 20)]
    # one batch of 4 rows: q0 has positives d0 and d1, d1 is q1's positive too, d0 is q2's negative.
    # Documents [d0 d1 d1 d2 | d7 d8 d9 d0]: q0's rows mask 3 each (d1 d1 d0 / d0 d1 d0), q1's 1, q2's 0.
    rows = {"anchor": [q[0], q[0], q[1], q[2]], "positive": [d[0], d[1], d[1], d[2]], "negative": [d[7], d[8], d[9], d[0]]}
    folder = tmp_path / "rows"
    datasets.Dataset.from_dict(rows).save_to_disk(str(folder))
    result = train(
        folder, tmp_path / "m", model=str(tiny_model), epochs=1, mask_known_positives=True, batch_sampler="default", **FAST
    )
    summary = result.summary["known_positives"]
    assert summary == {"masked_in_batch_positives": 7, "negatives_scored": 4 * 7, "masked_share": 0.25}
    plain = train(folder, tmp_path / "p", model=str(tiny_model), epochs=1, mask_known_positives=False, **FAST)
    assert "known_positives" not in plain.summary
    default = train(folder, tmp_path / "d", model=str(tiny_model), epochs=1, batch_sampler="default", **FAST)
    assert default.summary["known_positives"]["masked_in_batch_positives"] == 7  # the default masks
