"""The ``hardneg`` command end to end, and its flags generated from MineConfig."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from hardneg.cli import build_parser, main


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hardneg", *args], cwd=cwd, env=dict(os.environ), capture_output=True, text=True, timeout=600
    )


def test_mine_demo_end_to_end(tmp_path):
    out = tmp_path / "X.parquet"
    proc = run_cli(
        "mine", "--data", "demo", "--split", "train", "--out", str(out), "--preset", "nv-retriever", "--num-negatives", "2", "--seed", "3",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    table = pq.read_table(out)
    assert table.column_names == ["anchor", "positive", "negative_1", "negative_2"]
    assert table.num_rows == 41
    for row in table.to_pylist():
        assert row["negative_1"] and row["negative_2"] and row["positive"] not in (row["negative_1"], row["negative_2"])
    manifest = json.loads((tmp_path / "X.parquet.manifest.json").read_text())
    assert manifest["seed"] == 3
    assert manifest["parameters"]["preset"] == "nv-retriever" and manifest["parameters"]["num_negatives"] == 2
    assert "wrote 41 rows" in proc.stdout
    assert "hardneg mine summary" in proc.stderr


def test_bad_path_exits_2_with_a_message(tmp_path):
    missing = tmp_path / "no-such-data"
    proc = run_cli("mine", "--data", str(missing), "--out", str(tmp_path / "x.parquet"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("hardneg: error: ") and str(missing) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.parquet").exists()


def test_errors_exit_2_in_process(tmp_path, capsys, tiny_beir):
    assert main(["mine", "--data", str(tiny_beir), "--preset", "nope"]) == 2
    assert "'nope'" in capsys.readouterr().err
    assert main(["mine", "--data", str(tiny_beir), "--model", str(tmp_path / "missing-model"), "--no-show-progress"]) == 2
    assert "no such folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["mine", "--sampler", "splade"])
    assert info.value.code == 2  # argparse checks choices


def test_flags_mirror_the_python_api(tmp_path, capsys, tiny_beir):
    ns = build_parser().parse_args(
        [
            "mine",
            "--range-max",
            "50",
            "--include-scores",
            "--no-use-cache",
            "--query-prompt",
            "query: ",
            "--relative-margin",
            "0.1",
        ]
    )
    assert (ns.range_max, ns.include_scores, ns.use_cache, ns.query_prompt, ns.relative_margin) == (
        50,
        True,
        False,
        "query: ",
        0.1,
    )
    assert not hasattr(ns, "num_negatives")  # unset flags leave the preset's values alone

    out = tmp_path / "c.jsonl"
    code = main(
        [
            "mine",
            "--data",
            str(tiny_beir),
            "--out",
            str(out),
            "--preset",
            "dpr",
            "--output-format",
            "flagembedding",
            "--json",
            "--no-show-progress",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 4 and summary["negatives_per_query"] == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert list(rows[0]) == ["query", "pos", "neg"]  # scores only when asked for or from a teacher


def test_presets_command_lists_every_preset(capsys):
    from hardneg import PRESETS

    assert main(["presets"]) == 0
    text = capsys.readouterr().out
    for name in PRESETS:
        assert f"{name}" in text
    assert "default (default)" in text


HEAVY = ("torch", "transformers", "sentence_transformers", "faiss", "datasets", "pyarrow")


def test_cli_start_imports_no_heavy_library():
    # In a fresh interpreter: this process has long imported them all.
    script = (
        "import io, sys, contextlib\n"
        "from hardneg.cli import build_parser, main\n"
        "parser = build_parser()\n"
        "parser.format_help()\n"
        "parser.parse_args(['mine', '--range-max', '50'])\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['presets', '-q']) == 0\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"imported at CLI start: {proc.stdout.strip()}"


def test_a_mine_served_from_the_cache_imports_no_model_library(tmp_path):
    """With the measured per-CPU defaults on, as a user runs: choosing the path needs the model's device, which a
    warm run finds without importing torch where no GPU device file is there (hardneg.encoding.deferred)."""
    from hardneg.encoding.defaults import SWITCH
    from hardneg.encoding.deferred import accelerator_possible

    args = ["mine", "--data", "demo", "--out", str(tmp_path / "x.parquet"), "--preset", "top", "-q", "--overwrite"]
    script = (
        "import sys\n"
        "from hardneg.cli import main\n"
        f"assert main({args!r}) == 0\n"
        "print(','.join(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != SWITCH}
    for _purpose in ("fills the session's cache ($HARDNEG_CACHE) on this CPU's path, if an earlier run has not", "warm"):
        proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    imported = proc.stdout.splitlines()[-1]
    if accelerator_possible():  # a GPU may be there: only torch can say which device the model would load on
        assert "transformers" not in imported.split(","), f"imported by a warm run: {imported}"
    else:
        assert imported == "", f"imported by a warm run: {imported}"


def test_deferred_flags_are_added_once_for_help_and_parsing():
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    first = train.format_help()
    assert "--max-steps" in first and train.format_help() == first  # a second definition would raise "conflicting option"
    assert parser.parse_args(["train", "--max-steps", "3"]).max_steps == 3


def test_progress_bars_follow_the_terminal_unless_asked(monkeypatch):
    import datasets

    from hardneg.cli import configure_output

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    quiet_pipe = build_parser().parse_args(["mine"])
    assert configure_output(quiet_pipe) is False and quiet_pipe.show_progress is False
    assert not datasets.is_progress_bar_enabled()
    asked = build_parser().parse_args(["mine", "--progress"])
    assert configure_output(asked) is True and asked.show_progress is True
    assert datasets.is_progress_bar_enabled()
    explicit = build_parser().parse_args(["mine", "--progress", "--no-show-progress"])
    configure_output(explicit)
    assert explicit.show_progress is False  # the command's own flag wins
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    terminal = build_parser().parse_args(["-v", "mine"])
    assert configure_output(terminal) is True and logging.getLogger().level == logging.DEBUG
    assert configure_output(build_parser().parse_args(["mine", "-q"])) is False
    assert logging.getLogger().level == logging.WARNING
    datasets.enable_progress_bars()
