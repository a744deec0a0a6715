"""The ``hardneg`` command. Each subcommand's flags are generated from the same dataclass the
Python API takes, so ``--range-max 50`` and ``mine(range_max=50)`` are one parameter."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import typing
from collections.abc import Sequence

from hardneg.errors import HardnegError
from hardneg.mining.config import FIELDS, MineConfig

AUDIT_SKIP = ("out", "overwrite", "output_format", "include_scores", "audit")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls, skip: Sequence[str] = ()) -> None:
    """One flag per dataclass field; defaults are SUPPRESSed so only given flags override a preset."""
    hints = typing.get_type_hints(cls)
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        group_name = f.metadata.get("group", "options")
        group = groups.setdefault(group_name, parser.add_argument_group(group_name))
        hint = hints[f.name]
        args = typing.get_args(hint)
        optional = type(None) in args
        base = next((a for a in args if a is not type(None)), hint) if args else hint
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        if f.default is not dataclasses.MISSING and f.default is not None:
            help_text += f" (default: {f.default})"
        kwargs = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text.replace("%", "%%")}  # argparse %-formats help
        if base is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
            continue
        if f.metadata.get("choices"):
            kwargs["choices"] = (*f.metadata["choices"], *f.metadata.get("aliases", {}))
        if optional and base is str:
            kwargs["type"] = str
        else:
            kwargs["type"] = base
        group.add_argument(flag, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    from hardneg import __version__

    parser = argparse.ArgumentParser(prog="hardneg", description="Hard, clean negatives for dense-retrieval training.")
    parser.add_argument("--version", action="version", version=f"hardneg {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    mine = sub.add_parser(
        "mine",
        help="mine hard negatives for (query, positive) data",
        description="Mine hard negatives. Flags mirror hardneg.mine(); a preset sets several at once.",
    )
    add_dataclass_arguments(mine, MineConfig)
    mine.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")

    sub.add_parser("presets", help="list the presets and their values")
    _add_defence_commands(sub)
    _add_loop_commands(sub)
    return parser


def _add_defence_commands(sub) -> None:
    """Subcommands of the false-negative defence: audit, teacher."""
    from hardneg.training.teacher import TeacherConfig

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


def _add_loop_commands(sub) -> None:
    """Subcommands of the training loop: eval, train, evolve, fooling, report."""
    from hardneg.evolution.evaluate import EvalConfig

    ev = sub.add_parser(
        "eval",
        help="retrieval quality of a model on a BEIR split (nDCG@10, Recall@100, MRR@10, MAP@100)",
        description="Exact-search evaluation with trec_eval measures. Flags mirror hardneg.evaluate().",
    )
    add_dataclass_arguments(ev, EvalConfig)
    ev.add_argument("--json", action="store_true", help="print the metrics as one JSON object on stdout")

    from hardneg.training.train import TrainConfig

    tr = sub.add_parser(
        "train",
        help="fine-tune a bi-encoder on mined negatives (MultipleNegativesRankingLoss)",
        description="Train with the sentence-transformers trainer. Flags mirror hardneg.train().",
    )
    add_dataclass_arguments(tr, TrainConfig)
    tr.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")

    from hardneg.evolution.loop import EvolveConfig

    evo = sub.add_parser(
        "evolve",
        help="rounds of mine -> train -> evaluate, each round mining with the previous round's model",
        description="The co-evolution loop. Rerunning the same command resumes the run folder.",
    )
    add_dataclass_arguments(evo, EvolveConfig)
    evo.add_argument("--json", action="store_true", help="print the run summary as one JSON object on stdout")

    from hardneg.evolution.fooling import FoolingConfig

    fool = sub.add_parser(
        "fooling",
        help="the fooling matrix of an evolve run: models trained with each sampler vs each sampler's negatives",
        description="Trains random/BM25/dense sampler models with the run's budget and measures triplet accuracy on dev.",
    )
    add_dataclass_arguments(fool, FoolingConfig)
    fool.add_argument("--json", action="store_true", help="print the matrix as one JSON object on stdout")

    rep = sub.add_parser(
        "report",
        help="one self-contained HTML page (and JSON) about an evolve run",
        description="Quality per round, score distributions, hardness and staleness curves, audit rate, fooling matrix.",
    )
    rep.add_argument("run_dir", metavar="RUN_DIR", help="the --out folder of hardneg evolve")
    rep.add_argument("--out", help="write report.html and report.json here instead of RUN_DIR")


def _cmd_mine(ns: argparse.Namespace) -> int:
    from hardneg.mining.api import mine

    params = {k: v for k, v in vars(ns).items() if k in FIELDS}
    data = params.pop("data", "demo")
    out = params.pop("out", None)
    preset = params.pop("preset", None)
    result = mine(data, out, preset=preset, **params)
    if ns.json:
        print(json.dumps(result.summary))
    elif result.out:
        print(f"wrote {result.summary['rows']:,} rows to {result.out} (manifest: {result.manifest_path})")
    else:
        print(result.table.to_pandas().head(20).to_string() if result.table.num_rows else "no rows")
    return 0


def _cmd_presets(ns: argparse.Namespace) -> int:
    from hardneg.mining.presets import DEFAULT_PRESET, PRESETS

    for name, values in PRESETS.items():
        mark = " (default)" if name == DEFAULT_PRESET else ""
        print(f"{name}{mark}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    return 0


def _config_from(ns: argparse.Namespace, cls):
    """Build the dataclass ``cls`` from the flags that were given (the rest keep their defaults)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in vars(ns).items() if k in names})


def _cmd_eval(ns: argparse.Namespace) -> int:
    from hardneg.evolution.evaluate import EvalConfig, Evaluator

    result = Evaluator(_config_from(ns, EvalConfig)).run()
    if ns.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"{result.info['queries']} queries, {result.info['documents']:,} documents, {result.info['seconds']:.1f} s")
        for name, value in result.metrics.items():
            print(f"  {name:<12}{value:.4f}")
    return 0


def _cmd_train(ns: argparse.Namespace) -> int:
    from hardneg.training.train import TrainConfig, Trainer

    result = Trainer(_config_from(ns, TrainConfig)).run()
    if ns.json:
        print(json.dumps(result.summary))
    else:
        s = result.summary
        print(f"trained {s['steps']} steps on {s['rows']:,} rows (loss {s['train_loss']:.4f}) -> {result.out}")
    return 0


def _cmd_evolve(ns: argparse.Namespace) -> int:
    from hardneg.evolution.loop import Evolution, EvolveConfig

    result = Evolution(_config_from(ns, EvolveConfig)).run()
    if ns.json:
        print(json.dumps(result.summary))
    else:
        print(f"best round {result.summary['best_round']}: {result.summary['best_model']} ({result.summary['stopped']})")
    return 0


def _cmd_fooling(ns: argparse.Namespace) -> int:
    from hardneg.evolution.fooling import Fooling, FoolingConfig

    result = Fooling(_config_from(ns, FoolingConfig)).run()
    if ns.json:
        print(json.dumps(result))
    else:
        print(f"{'trained with':<14}" + "".join(f"{n:>10}" for n in result["negatives"]))
        for name, row in zip(result["models"], result["triplet_accuracy"]):
            print(f"{name:<14}" + "".join(f"{v:>10.4f}" for v in row))
    return 0


def _cmd_report(ns: argparse.Namespace) -> int:
    from hardneg.evolution.report import write_report

    result = write_report(ns.run_dir, out=ns.out)
    print(f"wrote {result.html} and {result.json} ({len(result.figures)} figures)")
    return 0


def _cmd_audit(ns: argparse.Namespace) -> int:
    from hardneg.defence.audit import audit

    params = {k: v for k, v in vars(ns).items() if k in FIELDS}
    data = params.pop("data", "demo")
    preset = params.pop("preset", None)
    params.setdefault("show_progress", not ns.json)
    result = audit(data, preset=preset, hardness=ns.hardness, **params)
    print(json.dumps(result.to_dict()) if ns.json else result.format_table())
    return 0


def _cmd_teacher(ns: argparse.Namespace) -> int:
    from hardneg.training.teacher import TeacherConfig, train_teacher

    manifest = train_teacher(_config_from(ns, TeacherConfig))
    if ns.json:
        print(json.dumps(manifest["summary"]))
    else:
        s = manifest["summary"]
        print(f"trained a cross-encoder on {s['pairs']:,} pairs ({s['steps']} steps, loss {s['train_loss']}) -> {ns.out}")
    return 0


COMMANDS = {
    "mine": _cmd_mine,
    "presets": _cmd_presets,
    "audit": _cmd_audit,
    "teacher": _cmd_teacher,
    "eval": _cmd_eval,
    "train": _cmd_train,
    "evolve": _cmd_evolve,
    "fooling": _cmd_fooling,
    "report": _cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if ns.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "httpx", "urllib3", "bm25s", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return COMMANDS[ns.command](ns)
    except HardnegError as exc:
        print(f"hardneg: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be read or written: one line naming it, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"hardneg: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hardneg: interrupted; outputs are written atomically, rerun the same command to finish", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
