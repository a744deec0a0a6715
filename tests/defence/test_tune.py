"""``--preset auto``: the tuner audits a grid of filter settings with the one mining rule and chooses among them."""

import json

import pytest

from hardneg.cli import main
from hardneg.drivers import tune as T
from hardneg.drivers.audit import audit
from hardneg.drivers.mine import mine
from hardneg.mining.config import AUTO, AUTO_FALLBACK, PRESETS, make_config
from hardneg.outputs import manifest_of

GRID_VALUES = {"selection": "top", "range_min": 0, "range_max": None, "relative_margin": 0.05, "positive_reference": "max"}


@pytest.fixture
def fast(tiny_bi_encoder):
    return {"model": tiny_bi_encoder, "use_cache": False, "show_progress": False, "seed": 3}


@pytest.fixture
def few_queries_suffice(monkeypatch):
    """The demo has 5 queries with two or more positives; the tuner's floor is lowered so they count."""
    monkeypatch.setattr(T, "MIN_AUDITED", 2)


def test_grid_covers_every_reference_margin_and_selection():
    settings = T.grid()
    assert len(settings) == len(T.SELECTIONS) * (1 + len(T.REFERENCES) * len(T.MARGINS))
    assert len({tuple(s[k] for k in T.GRID_FIELDS) for s in settings}) == len(settings)
    assert {s["positive_reference"] for s in settings} == set(T.REFERENCES)
    # a value the caller gives holds in every setting, and settings it makes equal are compared once
    margin = T.grid({"relative_margin": 0.05})
    assert {s["relative_margin"] for s in margin} == {0.05} and len(margin) == len(T.SELECTIONS) * len(T.REFERENCES)
    assert T.grid(GRID_VALUES) == [GRID_VALUES]


def _row(name, rate_per_negative, rank, eligible=True, high=None):
    return T.SettingAudit(
        values={"name": name}, name=name, hidden_positives=100, false_negatives=1, false_negative_rate=0.01,
        ci95=(0.0, 0.05), negatives=300, filled=1.0, mean_rank=rank, mean_score=0.5,
        estimated_false_negatives_per_negative=rate_per_negative,
        estimated_false_negatives_per_negative_high=rate_per_negative if high is None else high, eligible=eligible,
    )  # fmt: skip


def test_choose_takes_the_hardest_setting_within_the_target():
    table = [_row("dirty", 0.5, 1.0), _row("hard", 0.08, 5.0), _row("easy", 0.01, 60.0), _row("short", 0.0, 2.0, False)]
    tuning = T.choose(table, 0.1, 100, 1.2)
    assert tuning.chosen_name == "hard" and not tuning.fallback
    assert "hardest of 2 settings" in tuning.reason


def test_choose_takes_the_point_estimate_and_reports_the_upper_end():
    # the upper end decided for a while and trained worse models on SciFact: the point estimate decides, the reason
    # says how far the noise may reach
    table = [_row("noisy", 0.09, 4.0, high=0.35), _row("certain", 0.01, 28.0, high=0.06)]
    tuning = T.choose(table, 0.1, 70, 1.1)
    assert tuning.chosen_name == "noisy" and "up to 0.350 at the upper end" in tuning.reason


def test_the_upper_end_follows_the_wilson_interval_of_the_pick_rate():
    from hardneg.diagnostics.fates import wilson_interval

    # 17 of 70 picked over 210 negatives at 1.1 labelled positives per query: 0.089 per negative, at most 0.130
    hi = wilson_interval(17, 70)[1]
    assert round(17 / 210 * 1.1, 3) == 0.089 and round(hi * 70 / 210 * 1.1, 3) == 0.130
    assert wilson_interval(0, 500)[1] * 500 / 1500 * 42.7 > 0.1  # dense labels: even no pick cannot be certified


def test_choose_falls_back_to_the_clean_preset_when_no_setting_is_clean_enough():
    tuning = T.choose([_row("dirty", 0.5, 1.0)], 0.1, 100, 40.0)
    assert tuning.fallback and tuning.chosen == {k: PRESETS[AUTO_FALLBACK].get(k, T._fallback_values()[k]) for k in T.GRID_FIELDS}
    assert AUTO_FALLBACK in tuning.reason


def test_too_few_queries_with_two_positives_fall_back_with_a_reason(fast):
    config = make_config(AUTO, data="demo", **fast)
    tuning = T.tune(config, config.load_data())
    assert tuning.fallback and tuning.table == [] and "fewer than 30" in tuning.reason
    assert tuning.chosen["relative_margin"] == PRESETS[AUTO_FALLBACK]["relative_margin"]


def test_each_setting_is_what_hardneg_audit_reports_for_it(fast, few_queries_suffice):
    """The tuner replays one search through the one rule: a setting's count is the audit's own."""
    config = make_config(AUTO, data="demo", sampler="bm25", **fast)
    tuning = T.tune(config, config.load_data())
    assert len(tuning.table) + tuning.not_measured == len(T.grid()) and tuning.audited_queries == 5
    for row in tuning.table[::7]:
        result = audit("demo", preset="top", sampler="bm25", hardness=False, **row.values, **fast)
        assert (result.hidden_positives, result.false_negatives) == (row.hidden_positives, row.false_negatives), row.name
    chosen = next(r for r in tuning.table if r.values == tuning.chosen)
    assert chosen.eligible and chosen.estimated_false_negatives_per_negative <= config.max_false_negative_rate
    # the interval's upper end bounds the estimate from above, past 1 per negative too (dense labels)
    assert all(r.estimated_false_negatives_per_negative_high >= r.estimated_false_negatives_per_negative for r in tuning.table)


def test_mine_auto_mines_with_the_choice_and_records_it(fast, few_queries_suffice, tmp_path):
    out = tmp_path / "rows.parquet"
    result = mine("demo", out, preset=AUTO, sampler="dense", **fast)
    tuning = manifest_of(out)["summary"]["tuning"]
    parameters = manifest_of(out)["parameters"]
    assert {k: parameters[k] for k in T.GRID_FIELDS} == tuning["chosen"]
    assert parameters["preset"] == AUTO and tuning["reason"]
    assert len(tuning["table"]) + tuning["not_measured"] == len(T.grid())
    data = make_config(AUTO, data="demo").load_data()
    # one encoding for the tuner and the mine, though the cache is off
    assert result.summary["texts_encoded"] <= len(data.query_texts) + len(data.corpus_texts)
    # the refresh inside training passes every parameter back: nothing is tuned again
    again = mine("demo", None, preset=AUTO, sampler="dense", **tuning["chosen"], **fast)
    assert again.summary["tuning"]["audited_queries"] == 0 and again.summary["rows"] == result.summary["rows"]


def test_audit_of_auto_audits_the_chosen_setting(fast, few_queries_suffice):
    config = make_config(AUTO, data="demo", sampler="bm25", **fast)
    tuning = T.tune(config, config.load_data())
    chosen = next(r for r in tuning.table if r.values == tuning.chosen)
    result = audit("demo", preset=AUTO, sampler="bm25", hardness=False, **fast)
    assert result.false_negatives == chosen.false_negatives


def test_cli_tune_prints_the_table_and_the_choice(fast, few_queries_suffice, capsys):
    flags = ["--model", fast["model"], "--no-use-cache", "--sampler", "bm25", "--seed", "3"]
    assert main(["tune", "--data", "demo", "--json", *flags]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["chosen_name"] and len(payload["table"]) + payload["not_measured"] == len(T.grid())
    assert main(["tune", "--data", "demo", *flags]) == 0
    assert "chosen:" in capsys.readouterr().out


def test_max_false_negative_rate_is_checked():
    with pytest.raises(Exception, match="max_false_negative_rate"):
        make_config(AUTO, max_false_negative_rate=0)


def test_the_report_and_the_inspect_page_show_the_choice(fast, few_queries_suffice, tmp_path):
    from hardneg.evolution.report import render_html, tuning_figure
    from hardneg.inspect.build import Overview, header_facts

    out = tmp_path / "c.parquet"
    mine("demo", out, preset=AUTO, sampler="bm25", output_format="candidates", **fast)
    manifest = manifest_of(out)
    tuning = manifest["summary"]["tuning"]
    facts = dict(header_facts(manifest, Overview(), 10, 10))
    assert facts["filters chosen (auto)"].startswith(tuning["chosen_name"])

    summary = {"rounds": [{"round": 0, "tuning": tuning}]}
    figure = tuning_figure(summary)
    assert figure and len(figure) > 1000  # a base64 PNG
    page = render_html(
        {"run": "r", "best_round": 0, "best_model": "m", "stopped": "done", "quality": [], "hardness": [], "staleness": [],
         "audit": [], "tuning": [{"round": 0, **tuning}], "distributions": {}, "fooling": None, "curve": None},
        {"tuning": figure},
    )  # fmt: skip
    assert "Filters chosen on the data" in page and tuning["chosen_name"] in page
