"""One table for every command that writes: each is pointed at a file it did not write, a folder of
someone else's files, each of its inputs, a link to an input and a read-only folder. Each must refuse
with exit code 2 and one line naming the target, before any model loads, and leave every byte as it was.

``audit`` writes nothing and has no ``--out``; ``fooling`` has no ``--out`` either (it writes inside
its evolve run, and a folder that is not one is refused: ``tests/test_hostile_inputs.py``)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from hardneg.cli import main

DEMO = Path(__file__).resolve().parents[1] / "src" / "hardneg" / "demo_data"
SUMMARY = {"run": "run", "base": "m", "rounds": [], "best_round": 0, "best_model": "m", "stopped": "rounds"}

# command: (its arguments without --out, the suffix of a file --out, its inputs relative to the workspace)
COMMANDS = {
    "mine": ("mine --data {tmp}/pairs.jsonl --corpus {tmp}/beir/corpus.jsonl --model {tmp}/model", ".parquet",
             ["pairs.jsonl", "beir/corpus.jsonl", "model"]),
    "mine-beir": ("mine --data {tmp}/beir --model {tmp}/model --exclude-qrels {tmp}/other.tsv", ".jsonl",
                  ["beir", "beir/corpus.jsonl", "model", "other.tsv"]),
    "train": ("train --data {tmp}/pairs.jsonl --model {tmp}/model", "", ["pairs.jsonl", "model"]),
    "teacher": ("teacher --data {tmp}/beir --base-model {tmp}/model", "", ["beir", "model"]),
    "evolve": ("evolve --data {tmp}/beir --model {tmp}/model", "", ["beir", "beir/qrels", "model"]),
    "eval": ("eval --data {tmp}/beir --model {tmp}/model", ".json", ["beir", "beir/qrels/test.tsv", "model"]),
    "inspect": ("inspect {tmp}/cands.parquet --corpus {tmp}/beir", ".html", ["cands.parquet", "beir"]),
    "report": ("report {tmp}/run", "", ["run/summary.json"]),
}  # fmt: skip


def _cells():
    for name, (_, suffix, inputs) in COMMANDS.items():
        yield name, "foreign-file", f"notes{suffix or '.txt'}"
        yield name, "foreign-folder", "victim"
        for source in inputs:
            yield name, f"input:{source}", source
        yield name, "link-to-input", f"link{suffix}"
        yield name, "read-only-folder", f"read-only/out{suffix}"


CELLS = list(_cells())


@pytest.fixture
def workspace(tmp_path):
    """Inputs of every command, a folder and files hardneg did not write, a link and a read-only folder."""
    shutil.copytree(DEMO, tmp_path / "beir")
    (tmp_path / "pairs.jsonl").write_text('{"anchor": "a query", "positive": "its answer"}\n', encoding="utf-8")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "other.tsv").write_text("q1\td1\t1\n")
    (tmp_path / "cands.parquet").write_bytes(b"PAR1 someone's candidates PAR1")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "summary.json").write_text(json.dumps(SUMMARY))
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "thesis.tex").write_text("years of work")
    (tmp_path / "victim" / "report.html").write_text("<p>my page</p>")  # report writes report.html into its --out
    for suffix in (".parquet", ".jsonl", ".json", ".html", ".txt"):
        (tmp_path / f"notes{suffix}").write_text("mine, not hardneg's")
    (tmp_path / "read-only").mkdir()
    return tmp_path


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("command", "case", "out"), CELLS, ids=[f"{c}-{k}" for c, k, _ in CELLS])
def test_every_writing_command_refuses_and_changes_nothing(workspace, command, case, out, capsys, monkeypatch):
    arguments, _, inputs = COMMANDS[command]
    target = workspace / out
    if case == "link-to-input":
        target.symlink_to(workspace / inputs[0], target_is_directory=(workspace / inputs[0]).is_dir())
    if case == "read-only-folder":
        read_only = workspace / "read-only"
        read_only.chmod(0o555)
        if os.geteuid() == 0:  # root may write anywhere: the permission check sees the folder as a user would
            access = os.access
            monkeypatch.setattr(os, "access", lambda p, mode: access(p, mode) and Path(p) != read_only)
    before = _snapshot(workspace)
    try:
        code = main([*arguments.format(tmp=workspace).split(), "--out", str(target)])
    except SystemExit as parser_exit:
        code = parser_exit.code
    finally:
        (workspace / "read-only").chmod(0o755)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert out in err, err  # the refusal names the target
    assert "--overwrite" not in err or command.startswith("mine"), err  # only mine has the flag
    assert _snapshot(workspace) == before
