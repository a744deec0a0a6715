"""Every sentence-transformers output format trains, for one step, with each loss it is said to fit.

The table in docs/mining.md ("Output") names these losses; this test is what the table rests on. The
rows are mined by ``hardneg.mine`` from the demo set (with and without scores), and each loss gets
the dataset as ``result.to_dataset()`` returns it: no renaming, no dropping of columns.
"""

from __future__ import annotations

import pytest

import hardneg

BI = "bi-encoder"
CROSS = "cross-encoder"
# (format, with scores) -> [(model kind, loss)]
LOSSES = {
    ("n-tuple", False): [(BI, "MultipleNegativesRankingLoss"), (BI, "CachedMultipleNegativesRankingLoss")],
    ("n-tuple", True): [(BI, "MarginMSELoss"), (BI, "DistillKLDivLoss")],
    ("triplet", False): [(BI, "MultipleNegativesRankingLoss"), (BI, "TripletLoss")],
    ("triplet", True): [(BI, "MarginMSELoss")],
    ("labeled-pair", False): [(BI, "ContrastiveLoss"), (CROSS, "BinaryCrossEntropyLoss")],
    ("labeled-pair", True): [(BI, "CoSENTLoss"), (CROSS, "BinaryCrossEntropyLoss")],
    ("labeled-list", False): [(CROSS, "ListNetLoss"), (CROSS, "LambdaLoss")],
    ("labeled-list", True): [(CROSS, "ListNetLoss")],
}
CASES = [(fmt, scores, kind, loss) for (fmt, scores), losses in LOSSES.items() for kind, loss in losses]


def _mined(fmt: str, scores: bool, model, cache_dir):
    result = hardneg.mine(
        "demo", model=model, preset="top", num_negatives=2, output_format=fmt, include_scores=scores,
        cache_dir=str(cache_dir), show_progress=False,
    )  # fmt: skip
    return result.to_dataset().select(range(8))


def _train_bi(model, dataset, loss_name, out):
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer import losses

    loss = getattr(losses, loss_name)(model, **({"mini_batch_size": 4} if loss_name.startswith("Cached") else {}))
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out), max_steps=1, per_device_train_batch_size=4, report_to=[], save_strategy="no", use_cpu=True
    )
    return SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss).train()


def _train_cross(model, dataset, loss_name, out):
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments, losses

    loss = getattr(losses, loss_name)(model)
    args = CrossEncoderTrainingArguments(
        output_dir=str(out), max_steps=1, per_device_train_batch_size=4, report_to=[], save_strategy="no", use_cpu=True
    )
    return CrossEncoderTrainer(model=model, args=args, train_dataset=dataset, loss=loss).train()


@pytest.mark.parametrize(
    ("fmt", "scores", "kind", "loss"), CASES, ids=[f"{f}-{'scores' if s else 'labels'}-{lo}" for f, s, _, lo in CASES]
)
def test_one_training_step(fmt, scores, kind, loss, tiny_folder, tiny_bi_encoder, tiny_cross_encoder, tmp_path):
    dataset = _mined(fmt, scores, str(tiny_folder), tmp_path / "cache")
    label = {"labeled-pair": "score" if scores else "label", "labeled-list": "scores" if scores else "labels"}.get(fmt)
    if label:
        assert dataset.column_names[-1] == label and len(dataset.column_names) == 3  # the score replaces the label
    elif scores:
        assert dataset.column_names[-1] == "scores"
    train = _train_bi if kind == BI else _train_cross
    output = train(tiny_bi_encoder if kind == BI else tiny_cross_encoder, dataset, loss, tmp_path / "run")
    assert output.global_step == 1 and output.training_loss == output.training_loss  # one step, a finite number
