"""Each defence rule on the hand-made corpus of conftest.py, mined with BM25 (no model needed)."""

import copy
import json

import numpy as np
import pytest

from hardneg.data import load_beir
from hardneg.drivers.mine import mine
from hardneg.engines import make_engine
from hardneg.errors import ConfigError, DataError
from hardneg.mining.config import MineConfig, make_config
from hardneg.mining.resume import PartStore
from hardneg.mining.run import Miner

BM25_TOP = {"preset": "top", "sampler": "bm25", "show_progress": False, "use_cache": False}


def negatives_of(result, query_id):
    rows = result.table.to_pylist()
    return next(r["negative_ids"] for r in rows if r["query_id"] == query_id)


def test_duplicate_positive_under_another_id_is_never_a_negative(beir):
    result = mine(beir, output_format="candidates", num_negatives=5, **BM25_TOP)
    assert "d06" not in negatives_of(result, "q3")
    assert result.summary["dropped"]["known_positive_text"] >= 1


def test_near_duplicate_with_changed_whitespace_and_punctuation(beir):
    plain = mine(beir, output_format="candidates", num_negatives=5, **BM25_TOP)
    assert "d07" in negatives_of(plain, "q3")  # exact text matching misses it

    defended = mine(beir, output_format="candidates", num_negatives=5, near_duplicate_threshold=0.8, **BM25_TOP)
    assert "d07" not in negatives_of(defended, "q3")
    assert defended.summary["dropped"]["near_duplicate"] >= 1
    assert defended.summary["near_duplicate_threshold"] == 0.8


def _mine_with_teacher(beir, stub_teacher, **params):
    data = load_beir(beir)
    teacher = stub_teacher(data.query_ids, data.corpus_ids, {("q3", "d05"): 0.90, ("q3", "d08"): 0.95})
    config = make_config(
        data=str(beir), teacher="stub", output_format="candidates", include_scores=True, **{**BM25_TOP, **params}
    )
    return Miner(config, teacher=teacher).run(data)


def test_teacher_scores_replace_the_sources_and_filters_use_them(beir, stub_teacher):
    # The stub scores d08 above q3's positive: TopK-PercPos in the teacher's space must drop it.
    result = _mine_with_teacher(beir, stub_teacher, relative_margin=0.05)
    row = next(r for r in result.table.to_pylist() if r["query_id"] == "q3")
    assert "d08" not in row["negative_ids"]
    assert row["positive_scores"] == [pytest.approx(0.90)]
    assert result.summary["dropped"]["relative_margin"] >= 1
    assert result.summary["score_space"] == "teacher: stub (probability)"

    without = mine(beir, output_format="candidates", num_negatives=3, **BM25_TOP)
    assert "d08" in negatives_of(without, "q3")


def test_denoise_drops_what_the_teacher_calls_relevant(beir, stub_teacher):
    result = _mine_with_teacher(beir, stub_teacher, denoise_threshold=0.5)
    assert "d08" not in negatives_of(result, "q3")
    assert result.summary["dropped"]["denoise"] == 1


def test_promote_turns_candidates_into_labelled_extra_positives(beir, stub_teacher):
    result = _mine_with_teacher(beir, stub_teacher, promote_threshold=0.9, denoise_threshold=0.5)
    row = next(r for r in result.table.to_pylist() if r["query_id"] == "q3")
    assert row["promoted_ids"] == ["d08"] and row["promoted_scores"] == [pytest.approx(0.95)]
    assert "d08" not in row["negative_ids"]
    assert result.summary["promoted_positives"] == 1
    assert result.summary["dropped"]["promote"] == 1 and result.summary["dropped"]["denoise"] == 0

    data = load_beir(beir)
    config = make_config(
        data=str(beir), teacher="stub", promote_threshold=0.9, output_format="n-tuple", **{**BM25_TOP, "num_negatives": 1}
    )
    teacher = stub_teacher(data.query_ids, data.corpus_ids, {("q3", "d05"): 0.90, ("q3", "d08"): 0.95})
    rows = Miner(config, teacher=teacher).run(data).table.to_pylist()
    q3 = [r for r in rows if r["anchor"] == data.query_texts[2]]
    assert [r["positive_source"] for r in q3] == ["labelled", "promoted"]
    assert q3[1]["positive"] == data.corpus_texts[data.corpus_ids.index("d08")]


def test_leakage_guard_keeps_test_relevant_documents_out(beir):
    plain = mine(beir, output_format="candidates", num_negatives=5, **BM25_TOP)
    assert "d08" in negatives_of(plain, "q3")
    guarded = mine(beir, output_format="candidates", num_negatives=5, exclude_qrels=str(beir / "qrels" / "test.tsv"), **BM25_TOP)
    assert "d08" not in negatives_of(guarded, "q3")
    assert guarded.summary["excluded_documents"]["documents"] == 1
    assert guarded.summary["dropped"]["exclude_qrels"] >= 1


def test_leakage_guard_names_a_missing_file(beir):
    with pytest.raises(DataError, match="missing.tsv"):
        mine(beir, exclude_qrels=str(beir / "missing.tsv"), **BM25_TOP)


def test_manifest_records_the_teacher(beir, tiny_cross_encoder, tmp_path):
    out = tmp_path / "mined.jsonl"
    result = mine(beir, out, teacher=tiny_cross_encoder, teacher_activation="raw", **BM25_TOP)
    manifest = json.loads(result.manifest_path.read_text())
    teacher = manifest["model"]["teacher"]
    assert teacher["activation"] == "raw" and teacher["type"] == "cross-encoder" and len(teacher["fingerprint"]) == 32
    assert manifest["summary"]["score_space"] == "teacher: cross-encoder"
    assert manifest["parameters"]["teacher_activation"] == "raw"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"denoise_threshold": 0.1}, "set teacher too"),
        ({"teacher": "x", "teacher_activation": "raw", "denoise_threshold": 0.1}, "raw scores"),
        ({"teacher": "x", "teacher_type": "bi-encoder", "promote_threshold": 0.9}, "raw scores"),
        ({"teacher": "x", "denoise_threshold": 0.5, "promote_threshold": 0.4}, "promote_threshold"),
        ({"teacher": "x", "teacher_type": "cross"}, "teacher_type"),
        ({"teacher": "x,y", "teacher_type": "cross-encoder,bi-encoder,bi-encoder"}, "3 types for 2 teachers"),
        ({"near_duplicate_threshold": 1.5}, "near_duplicate_threshold"),
        ({"teacher": "x", "denoise_threshold": 2.0}, r"\(0, 1\]"),
        ({"teacher": "x", "sampler": "none", "num_negatives": 0}, "sampler='none'"),
    ],
)
def test_config_errors_name_the_parameter(params, message):
    with pytest.raises(ConfigError, match=message):
        MineConfig(**params)


def test_teacher_lists_become_comma_separated():
    assert MineConfig(teacher=["a", "b"], teacher_type="cross-encoder").teacher == "a,b"


def test_teacher_bounds_the_window():
    assert MineConfig(teacher="x").effective_range_max == 100
    assert MineConfig().effective_range_max is None


def test_near_duplicate_positive_is_not_counted_as_a_rank(beir):
    # With near duplicates treated as positives, range_min skips real non-positives only.
    data = load_beir(beir)
    result = mine(beir, output_format="candidates", num_negatives=2, near_duplicate_threshold=0.8, **BM25_TOP)
    row = next(r for r in result.table.to_pylist() if r["query_id"] == "q3")
    assert "d07" not in row["candidate_ids"]
    assert np.all(np.isfinite(row["candidate_scores"]))
    assert data.corpus_ids  # fixture sanity


def test_teacher_can_veto_while_margins_keep_the_source_scores(beir, stub_teacher):
    result = _mine_with_teacher(beir, stub_teacher, teacher_score_filters=False, denoise_threshold=0.5, relative_margin=0.05)
    row = next(r for r in result.table.to_pylist() if r["query_id"] == "q3")
    assert "d08" not in row["negative_ids"] and result.summary["dropped"]["denoise"] == 1
    assert row["positive_scores"][0] > 1  # a BM25 score, not the teacher's probability
    assert result.summary["score_space"] == "bm25; teacher: stub (probability) for denoise/promote"


def test_a_teacher_with_nothing_to_do_is_an_error():
    with pytest.raises(ConfigError, match="nothing to do"):
        MineConfig(teacher="x", teacher_score_filters=False)


@pytest.mark.parametrize("fmt", ["n-tuple", "triplet", "labeled-pair", "labeled-list", "flagembedding", "candidates"])
def test_every_format_says_which_positives_are_promoted(beir, fmt):
    import pyarrow as pa

    from hardneg.mining.batch import MinedBatch
    from hardneg.writers import RowBuilder

    data = load_beir(beir)
    q3 = data.query_ids.index("q3")
    batch = MinedBatch(
        queries=np.array([q3]),
        positive_scores=[np.array([0.9], dtype=np.float32)],
        negatives=np.array([[9]]),
        negative_scores=np.array([[0.01]], dtype=np.float32),
        candidates=np.array([[7, 9]]),
        candidate_scores=np.array([[0.95, 0.01]], dtype=np.float32),
        candidate_kept=np.array([[False, True]]),
        promoted=[np.array([7])],
        promoted_scores=[np.array([0.95], dtype=np.float32)],
    )
    builder = RowBuilder(data, fmt, 1, True, positive_sources=True)
    rows = builder.rows(batch)
    pa.Table.from_pylist(rows, schema=builder.schema)  # rows fit the schema
    text = json.dumps(rows)
    assert "promoted" in text or data.corpus_ids[7] in text
    if fmt in ("n-tuple", "triplet", "labeled-list"):
        assert [r["positive_source"] for r in rows] == ["labelled", "promoted"]


def test_candidates_file_names_the_defence_rule_behind_each_verdict(beir, stub_teacher):
    result = _mine_with_teacher(beir, stub_teacher, promote_threshold=0.9, near_duplicate_threshold=0.8)
    row = next(r for r in result.table.to_pylist() if r["query_id"] == "q3")
    verdicts = dict(zip(row["candidate_ids"], row["candidate_verdicts"]))
    teacher = dict(zip(row["candidate_ids"], row["candidate_teacher_scores"]))
    assert verdicts["d08"] == "promote" and teacher["d08"] == pytest.approx(0.95)
    assert all(teacher[d] == pytest.approx(0.05) for d in verdicts if d != "d08")  # the stub's other pairs
    assert {verdicts[d] for d in row["negative_ids"]} == {"chosen"}
    excluded = dict(zip(row["excluded_ids"], row["excluded_verdicts"]))
    assert excluded["d05"] == "known_positive_id"
    assert excluded["d06"] == "known_positive_text"
    assert excluded["d07"] == "near_duplicate"
    assert result.table.schema.field("candidate_teacher_scores").type.value_type == "float"


class _CopyingEngine:
    """Mines every batch on a copy of the batch miner, as a Ray worker does: what the copy counts stays with it."""

    name = "copying"

    def encode(self, encoder, texts, kind):
        return encoder.encode(texts, kind)

    def map(self, miner, n, batches):
        for queries in batches:
            yield copy.deepcopy(miner).mine_queries(queries, n)

    def close(self):
        pass


def _promoting_miner(beir, stub_teacher, out, engine):
    data = load_beir(beir)
    teacher = stub_teacher(data.query_ids, data.corpus_ids, {("q3", "d05"): 0.90, ("q3", "d08"): 0.95})
    config = make_config(
        data=str(beir), out=str(out), teacher="stub", promote_threshold=0.9, output_format="candidates", query_chunk_size=1,
        **BM25_TOP,
    )  # fmt: skip
    miner = Miner(config, teacher=teacher)
    miner.engine = engine
    return miner, data


def test_promoted_positives_are_counted_where_batches_are_mined_elsewhere(beir, stub_teacher, tmp_path):
    miner, data = _promoting_miner(beir, stub_teacher, tmp_path / "c.parquet", _CopyingEngine())
    result = miner.run(data)
    assert result.summary["promoted_positives"] == result.summary["dropped"]["promote"] == 1


def test_promoted_positives_are_counted_for_batches_reused_by_a_resume(beir, stub_teacher, tmp_path, monkeypatch):
    save = PartStore.save

    def save_then_die(store, i, **parts):  # killed once the last batch (q3's, which promotes d08) is saved
        save(store, i, **parts)
        if i == 2:
            raise RuntimeError("the run is killed")

    out = tmp_path / "c.parquet"
    monkeypatch.setattr(PartStore, "save", save_then_die)
    miner, data = _promoting_miner(beir, stub_teacher, out, make_engine("local"))
    with pytest.raises(RuntimeError, match="killed"):
        miner.run(data)
    monkeypatch.setattr(PartStore, "save", save)
    miner, data = _promoting_miner(beir, stub_teacher, out, make_engine("local"))
    result = miner.run(data)
    assert result.summary["batches_resumed"] == 3
    assert result.summary["promoted_positives"] == result.summary["dropped"]["promote"] == 1
