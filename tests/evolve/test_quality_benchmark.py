"""The quality benchmark's bookkeeping: dev-checked arms and the name the bar is checked for."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "quality.py"


@pytest.fixture(scope="module")
def quality():
    spec = importlib.util.spec_from_file_location("quality_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(arm, seed, ndcg, dev=None):
    row = {"arm": arm, "seed": seed, "ndcg@10": ndcg, "recall@100": ndcg + 0.3, "seconds": 1.0}
    if dev is not None:
        row["dev_ndcg@10"] = dev
    return row


def test_a_dev_checked_arm_keeps_the_trained_model_only_where_it_beats_the_base_on_dev(quality):
    results = [
        _run("zero-shot", 1, 0.30),
        _run("default-n3", 1, 0.28, dev=0.25),  # worse than the base on dev: the base model is kept
        _run("default-n3", 2, 0.33, dev=0.41),  # better on dev: the trained model is kept
        _run("default-n3", 3, 0.29, dev=0.40),  # a tie on dev is not a gain: the base model is kept
    ]
    checked = quality.dev_checked(results, {1: 0.30, 2: 0.40, 3: 0.40})
    assert [r["arm"] for r in checked] == ["default-n3:dev-checked"] * 3
    assert [r["kept_trained"] for r in checked] == [False, True, False]
    assert [r["ndcg@10"] for r in checked] == [0.30, 0.33, 0.30]
    assert [r["recall@100"] for r in checked] == [0.60, 0.63, 0.60]


def test_without_the_base_model_nothing_is_dev_checked(quality):
    assert quality.dev_checked([_run("top-n3", 1, 0.3, dev=0.2)], {1: 0.1}) == []


def test_the_recommended_name_puts_the_negatives_before_the_check(quality):
    args = argparse.Namespace(recommended="default+masked:dev-checked", negatives=[1, 3])
    assert quality.recommended_name(args) == "default+masked-n3:dev-checked"
    args.recommended = "evolve+masked"
    assert quality.recommended_name(args) == "evolve+masked-n3"
    args.recommended = "in-batch+masked:dev-checked"
    assert quality.recommended_name(args) == "in-batch+masked:dev-checked"


def test_the_bar_pairs_seeds(quality):
    """The bar reads per-seed differences: above top-n3 in every seed, and no arm ahead by more than one SE."""
    seeds = range(1, 6)
    top = {s: 0.58 + 0.004 * s for s in seeds}  # a seed effect larger than any arm's: only pairing sees through it
    results = [_run("zero-shot", 1, 0.55)]
    results += [_run("top-n3", s, top[s]) for s in seeds]
    results += [_run("a", s, top[s] + 0.002 + 0.0005 * (s % 2)) for s in seeds]  # above top in every seed
    results += [_run("b", s, top[s] + 0.003 + 0.004 * (s == 1)) for s in seeds]  # ahead of a by 0.0037 ± 0.0018
    results += [_run("c", s, top[s] + 0.0025 - 0.002 * (s % 2)) for s in seeds]  # below a: no obstacle to the bar
    bar = quality.verdict(results, "a")
    assert bar["checked"] and bar["over_baseline_in_every_seed"]
    assert bar["below_by_more_than_one_se"] == ["b"] and not bar["holds"]
    assert bar["paired"]["top-n3"]["differences"] == [0.0025, 0.002, 0.0025, 0.002, 0.0025]
    assert bar["paired"]["zero-shot"]["seeds"] == [1, 2, 3, 4, 5]  # the base model stands for every seed
    assert quality.verdict([r for r in results if r["arm"] != "b"], "a")["holds"]
    three = [r for r in results if r["seed"] <= 3]
    assert not quality.verdict(three, "a")["checked"]  # fewer than 5 seeds: not checked
    table = quality.paired_table(results, "a")
    assert table["top-n3"]["vs top-n3"] is None and table["c"]["vs recommended"]["mean"] == -0.001


def test_runs_of_an_earlier_file_are_reused_under_the_same_protocol(quality, tmp_path):
    args = quality.parse_args(["--data", str(tmp_path / "scifact"), "--steps", "26", "--max-seq-length", "64"])
    runs = [
        _run("top-n3", 1, 0.6, dev=0.5),
        {**_run("top-n3:dev-checked", 1, 0.6), "base_dev_ndcg@10": 0.45, "kept_trained": True},
    ]
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"settings": {k: getattr(args, k) for k in quality.PROTOCOL}, "runs": runs}))
    work = tmp_path / "work"
    work.mkdir()
    assert quality.import_runs([str(earlier)], args, work) == 1
    assert json.loads((work / "top-n3-seed1" / "result.json").read_text())["ndcg@10"] == 0.6
    assert json.loads((work / "base-dev-seed1.json").read_text())["ndcg@10"] == 0.45
    assert quality.import_runs([str(earlier)], args, work) == 0  # never over a run already there
    args.steps = 32
    with pytest.raises(SystemExit, match="another protocol"):
        quality.import_runs([str(earlier)], args, work)


def test_dev_select_keeps_the_best_on_dev_per_seed_and_the_base_model_on_ties(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("dev_select", SCRIPT.parent / "dev_select.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def result(lr, dev, test):
        runs = [{"arm": "zero-shot", "seed": 1, "ndcg@10": 0.30}]
        for seed in (1, 2):
            runs.append({"arm": "a", "seed": seed, "ndcg@10": test[seed - 1], "dev_ndcg@10": dev[seed - 1]})
            runs.append({"arm": "a:dev-checked", "seed": seed, "ndcg@10": 0.0, "kept_trained": False,
                         "dev_ndcg@10": dev[seed - 1], "base_dev_ndcg@10": 0.5})  # fmt: skip
        path = tmp_path / f"{lr}.json"
        path.write_text(json.dumps({"settings": {"lr": lr}, "runs": runs}))
        return str(path)

    # seed 1: the second setting wins on dev; seed 2: neither beats the base model's dev (a tie stays base)
    chosen = module.main([result(2e-5, [0.55, 0.50], [0.40, 0.41]), result(5e-6, [0.60, 0.49], [0.35, 0.45])])
    assert chosen == {"a": [(1, "lr 5e-06", 0.35), (2, "base", 0.30)]}
    assert "0.3250" in capsys.readouterr().out


def test_an_arm_named_with_its_count_runs_at_that_count_only(quality):
    args = argparse.Namespace(arm=["zero-shot", "in-batch+masked", "top+masked", "dpr+masked-n1"], negatives=[1, 3])
    assert quality.arm_names(args) == ["zero-shot", "in-batch+masked", "top+masked-n1", "top+masked-n3", "dpr+masked-n1"]


def test_a_curve_arm_is_named_as_an_arm_is(quality):
    args = argparse.Namespace(curve_arm=["top+masked-n1", "nv-retriever", "evolve-cache+masked"], negatives=[3])
    assert quality.curve_names(args) == ["top+masked-n1", "nv-retriever-n3", "evolve-cache+masked-n3"]
    assert quality.split_name("top+masked-n1") == ("top+masked", 1)
    assert quality.split_name("nv-retriever-n3") == ("nv-retriever", 3)
    assert quality.split_name("in-batch+masked") == ("in-batch+masked", None)


def test_curve_margins_are_per_seed_later_arm_minus_earlier_with_the_larger_std(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("curve_margins", SCRIPT.parent / "curve_margins.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def run(arm, seed, at_10, at_20):
        return {"arm": arm, "seed": seed, "points": [{"step": 10, "ndcg@10": at_10}, {"step": 20, "ndcg@10": at_20}]}

    runs = [run("top", 1, 0.50, 0.55), run("top", 2, 0.52, 0.56), run("nv", 1, 0.51, 0.60), run("nv", 2, 0.52, 0.58)]
    path = tmp_path / "curve.json"
    path.write_text(json.dumps({"runs": runs}))
    found = module.main([str(path)])
    assert [(m["arms"], m["step"], m["per_seed"], m["mean"]) for m in found] == [
        (("nv", "top"), 10, [1.0, 0.0], 0.5),
        (("nv", "top"), 20, [5.0, 2.0], 3.5),
    ]
    assert found[1]["larger_std"] == 1.41  # nv's std at step 20 (0.0141), not top's (0.0071)
    assert "nv - top at step 20: +3.50 points" in capsys.readouterr().out

    path.write_text(json.dumps({"runs": [{"arm": "top", "seed": 1, "ndcg@10": 0.5}]}))
    with pytest.raises(SystemExit, match="curve.json: not a quality.py --curve-steps result file"):
        module.main([str(path)])
