import datasets
import pytest
import torch

from hardneg.data.dataset import normalize_text
from hardneg.drivers.mine import mine
from hardneg.training.batch_hygiene import ConflictFreeBatchSampler, related_from_candidates

ROWS = {
    # q-a and q-b share a positive; q-c's positive is q-d's negative; q-e has two rows;
    # q-f's positive is a near copy of q-a's; the rest are unrelated.
    "anchor": ["q-a", "q-b", "q-c", "q-d", "q-e", "q-e", "q-f", "q-g", "q-h", "q-i", "q-j", "q-k"],
    "positive": [
        "shared positive text about cells",
        "Shared  positive text about cells",
        "protein folding in yeast",
        "insulin and muscle",
        "sleep and memory one",
        "sleep and memory two",
        "shared positive text about cells!",
        "volcanic ash in the air",
        "tides and the moon",
        "bees and pollination",
        "glaciers retreat",
        "coffee and the heart",
    ],
    "negative": ["n1", "n2", "n3", "protein folding in yeast", "n5", "n6", "n7", "n8", "n9", "n10", "n11", "n12"],
}


def conflicts(rows: dict, i: int, j: int, extra: dict[str, set[str]] | None = None) -> bool:
    norm = normalize_text
    if rows["anchor"][i] == rows["anchor"][j]:
        return True

    def related(k):
        same = [m for m in range(len(rows["anchor"])) if rows["anchor"][m] == rows["anchor"][k]]
        out = {norm(rows["positive"][m]) for m in same} | {norm(rows["negative"][m]) for m in same}
        return out | (extra or {}).get(norm(rows["anchor"][k]), set())

    def known(k):
        return {norm(rows["positive"][m]) for m in range(len(rows["anchor"])) if rows["anchor"][m] == rows["anchor"][k]}

    return (
        norm(rows["positive"][i]) in related(j)
        or norm(rows["positive"][j]) in related(i)
        or norm(rows["negative"][i]) in known(j)
        or norm(rows["negative"][j]) in known(i)
    )


def batches_of(sampler, epoch=0):
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("epoch", [0, 1, 2])
def test_no_batch_holds_related_rows_and_every_row_appears_once(epoch):
    dataset = datasets.Dataset.from_dict(ROWS)
    sampler = ConflictFreeBatchSampler(dataset, 4, False, generator=torch.Generator(), seed=3, near_duplicate_threshold=0.8)
    batches = batches_of(sampler, epoch)
    assert sorted(i for b in batches for i in b) == list(range(12))
    for batch in batches:
        for x in batch:
            for y in batch:
                if x < y:
                    assert not conflicts(ROWS, x, y), (batch, x, y)
                    # q-f's positive is a near copy of q-a's and q-b's
                    assert {ROWS["anchor"][x], ROWS["anchor"][y]} not in ({"q-a", "q-f"}, {"q-b", "q-f"})


@pytest.mark.parametrize("seed", range(8))
def test_a_negative_never_meets_a_query_it_is_a_known_positive_of(seed):
    # q-x has two positives; q-y's negative is q-x's second one. The loss scores q-y's negative against
    # q-x too, so (q-x, first positive) and q-y's row must not share a batch, though their positives differ.
    rows = {
        "anchor": ["q-x", "q-x", "q-y", "q-z", "q-w", "q-v"],
        "positive": ["x one", "x two", "y one", "z one", "w one", "v one"],
        "negative": ["n1", "n2", "x two", "n4", "n5", "n6"],
    }
    sampler = ConflictFreeBatchSampler(datasets.Dataset.from_dict(rows), 2, False, generator=torch.Generator(), seed=seed)
    batches = batches_of(sampler)
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert not any({0, 2} <= set(b) or {1, 2} <= set(b) for b in batches), batches


def test_same_seed_same_batches():
    dataset = datasets.Dataset.from_dict(ROWS)
    make = ConflictFreeBatchSampler.factory()
    a = make(dataset, 4, False, None, torch.Generator(), 5)
    b = make(dataset, 4, False, None, torch.Generator(), 5)
    assert batches_of(a) == batches_of(b)


def test_drop_last_yields_only_full_batches():
    dataset = datasets.Dataset.from_dict(ROWS)
    batches = batches_of(ConflictFreeBatchSampler(dataset, 5, True, generator=torch.Generator(), seed=0))
    assert batches and all(len(b) == 5 for b in batches)


def test_candidates_file_adds_conflicts(beir, tmp_path):
    out = tmp_path / "cands.parquet"
    mine(beir, out, preset="top", sampler="bm25", output_format="candidates", show_progress=False, use_cache=False)
    related = related_from_candidates(out, beir)
    q3 = normalize_text("what is the capital of France, Paris")
    assert normalize_text("Lyon is a large city of France, known for its food; Paris is larger.") in related[q3]
    rows = {
        "anchor": ["what is the capital of France, Paris", "which city of France is known for food", "x", "y"],
        "positive": [
            "Paris is the capital of France.",
            "Lyon is a large city of France, known for its food; Paris is larger.",
            "p1",
            "p2",
        ],
    }
    sampler = ConflictFreeBatchSampler.factory(candidates=out, data=beir)(
        datasets.Dataset.from_dict(rows), 2, False, None, torch.Generator(), 0
    )
    for batch in batches_of(sampler):
        assert set(batch) != {0, 1}


def test_usable_as_the_trainers_batch_sampler(tiny_bi_encoder, tmp_path):
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    model = SentenceTransformer(tiny_bi_encoder, device="cpu")
    dataset = datasets.Dataset.from_dict(ROWS)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=4,
        batch_sampler=ConflictFreeBatchSampler.factory(near_duplicate_threshold=0.8),
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=MultipleNegativesRankingLoss(model))
    sampler = trainer.get_batch_sampler(dataset, 4, False, generator=torch.Generator(), seed=0)
    assert isinstance(sampler, ConflictFreeBatchSampler)
    assert trainer.train().global_step == 2


def test_factory_survives_the_trainers_checkpoint_pickle(beir, tmp_path):
    import pickle

    out = tmp_path / "cands.parquet"
    mine(beir, out, preset="top", sampler="bm25", output_format="candidates", show_progress=False, use_cache=False)
    factory = ConflictFreeBatchSampler.factory(candidates=out, data=beir, near_duplicate_threshold=0.8)
    restored = pickle.loads(pickle.dumps(factory))
    assert restored.related is None and restored.near_duplicate_threshold == 0.8
    sampler = restored(datasets.Dataset.from_dict(ROWS), 4, False, None, torch.Generator(), 0)
    assert sorted(i for b in batches_of(sampler) for i in b) == list(range(12))


def test_reads_negatives_through_the_datasets_transform():
    # candidates input stores indices and looks its negatives up when a batch is read
    stored = datasets.Dataset.from_dict({"anchor": ["q1", "q2", "q3"], "positive": ["p1", "p2", "p3"], "query_index": [0, 1, 2]})
    negatives = ["p2", "n2", "n3"]
    stored.set_transform(
        lambda b: {"anchor": b["anchor"], "positive": b["positive"], "negative_1": [negatives[i] for i in b["query_index"]]}
    )
    sampler = ConflictFreeBatchSampler(stored, 2, False, generator=torch.Generator(), seed=0)
    assert sampler.negatives[0] == {sampler.positive[1]}
    for seed in range(6):
        sampler.generator.manual_seed(seed)
        assert all(set(b) != {0, 1} for b in batches_of(sampler, seed))
