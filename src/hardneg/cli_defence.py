"""The ``audit`` and ``teacher`` subcommands: flags generated from the same dataclasses as the Python API."""

from __future__ import annotations

import argparse
import json

from hardneg.config import FIELDS

AUDIT_SKIP = ("out", "output_format", "include_scores", "audit")


def add_parsers(sub) -> None:
    """Add ``hardneg audit`` and ``hardneg teacher`` to the CLI's subparsers."""
    from hardneg.cli import add_dataclass_arguments
    from hardneg.config import MineConfig
    from hardneg.teacher_training import TeacherConfig

    audit = sub.add_parser(
        "audit",
        help="measure the false-negative rate of a mining configuration",
        description="Hide one positive of every query with two or more, mine with the given preset and flags, "
        "and report how often a hidden positive was picked as a negative, what stopped the others, "
        "and how hard the chosen negatives are.",
    )
    add_dataclass_arguments(audit, MineConfig, skip=AUDIT_SKIP)
    audit.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
    audit.add_argument(
        "--no-hardness", dest="hardness", action="store_false", help="skip the rank and score of the chosen negatives"
    )

    teacher = sub.add_parser(
        "teacher",
        help="train a cross-encoder teacher from labelled pairs and mined negatives",
        description="Fine-tune a cross-encoder (binary cross-entropy) on the labelled pairs and negatives mined "
        "with a preset, starting from a local model. Writes the model folder and a manifest beside it.",
    )
    add_dataclass_arguments(teacher, TeacherConfig)
    teacher.add_argument("--json", action="store_true", help="print the manifest's summary as one JSON object")


def cmd_audit(ns: argparse.Namespace) -> int:
    from hardneg.audit import audit

    params = {k: v for k, v in vars(ns).items() if k in FIELDS}
    data = params.pop("data", "demo")
    preset = params.pop("preset", None)
    params.setdefault("show_progress", not ns.json)
    result = audit(data, preset=preset, hardness=ns.hardness, **params)
    print(json.dumps(result.to_dict()) if ns.json else result.format_table())
    return 0


def cmd_teacher(ns: argparse.Namespace) -> int:
    import dataclasses

    from hardneg.teacher_training import TeacherConfig, train_teacher

    names = {f.name for f in dataclasses.fields(TeacherConfig)}
    manifest = train_teacher(TeacherConfig(**{k: v for k, v in vars(ns).items() if k in names}))
    if ns.json:
        print(json.dumps(manifest["summary"]))
    else:
        s = manifest["summary"]
        print(f"trained a cross-encoder on {s['pairs']:,} pairs ({s['steps']} steps, loss {s['train_loss']}) -> {ns.out}")
    return 0


COMMANDS = {"audit": cmd_audit, "teacher": cmd_teacher}
