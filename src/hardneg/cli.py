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

from hardneg.cli_defence import COMMANDS as DEFENCE_COMMANDS
from hardneg.cli_defence import add_parsers as add_defence_parsers
from hardneg.config import FIELDS, MineConfig
from hardneg.errors import HardnegError


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
            kwargs["choices"] = f.metadata["choices"]
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
    add_defence_parsers(sub)
    return parser


def _cmd_mine(ns: argparse.Namespace) -> int:
    from hardneg.mine import mine

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
    from hardneg.presets import DEFAULT_PRESET, PRESETS

    for name, values in PRESETS.items():
        mark = " (default)" if name == DEFAULT_PRESET else ""
        print(f"{name}{mark}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    return 0


COMMANDS = {"mine": _cmd_mine, "presets": _cmd_presets, **DEFENCE_COMMANDS}


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
    except KeyboardInterrupt:
        print("hardneg: interrupted; outputs are written atomically, rerun the same command to finish", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
