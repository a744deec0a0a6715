"""The CLI reference page, generated from the ``hardneg`` command's own parser at build time.

Every flag of every subcommand comes from ``hardneg.cli.build_parser()``, whose parsers are generated
from the configuration dataclasses (``hardneg/fields.py``), so the page cannot drift from the code.
MkDocs runs :func:`on_page_markdown` (``hooks:`` in ``mkdocs.yml``); it replaces :data:`MARKER` in
``docs/cli.md`` with :func:`cli_reference_markdown`. The tests call that function directly, without MkDocs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MARKER = "<!-- cli-reference -->"
COMMON = "output and logging (every command)"
"""The argument group of the flags every command takes: listed once, at the top."""
SOURCE = Path(__file__).resolve().parents[2] / "src"


def _parser() -> argparse.ArgumentParser:
    # Document the code of the checkout these docs sit in, not whichever hardneg is installed.
    if str(SOURCE) not in sys.path:
        sys.path.insert(0, str(SOURCE))
    from hardneg.cli import build_parser

    return build_parser()


def subcommands(parser: argparse.ArgumentParser | None = None) -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's parser, by name, with its flags defined (they are added on first use)."""
    parser = parser or _parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = dict(action.choices)
    for sub in commands.values():
        sub.format_help()  # a DeferredParser adds its flags here
    return commands


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    for char in "\\`*[]|":
        text = text.replace(char, "\\" + char)
    return " ".join(text.replace("<", "&lt;").split())


def _value(action: argparse.Action) -> str:
    if action.nargs == 0:
        return "switch"
    if action.choices:
        return " ".join(f"`{c}`" for c in action.choices)
    kind = getattr(action.type, "__name__", None) or "text"
    return {"str": "text", "int": "integer", "float": "number"}.get(kind, kind)


def _help(action: argparse.Action) -> str:
    # the dataclass-generated help escapes % for argparse's %-formatting
    return _cell((action.help or "").replace("%%", "%"))


def _group_table(actions: list[argparse.Action]) -> list[str]:
    lines = ["| flag | value | what it does |", "| --- | --- | --- |"]
    for action in actions:
        names = ", ".join(f"`{s}`" for s in action.option_strings) or f"`{action.metavar or action.dest}`"
        lines.append(f"| {names} | {_value(action)} | {_help(action)} |")
    return lines


def documented(action: argparse.Action) -> bool:
    """Whether the reference lists ``action``: every flag and argument but the subcommand list and ``-h``
    (which every command takes, said once at the top)."""
    return not isinstance(action, argparse._SubParsersAction | argparse._HelpAction)


def _groups(parser: argparse.ArgumentParser, *, skip_common: bool) -> list[str]:
    lines: list[str] = []
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if documented(a)]
        if skip_common and group.title == COMMON:
            continue
        if not actions:
            continue
        title = {"positional arguments": "arguments", "options": "options"}.get(group.title or "", group.title)
        lines += ["", f"**{title}**", ""] + _group_table(actions)
    return lines


def cli_reference_markdown() -> str:
    """The whole reference: the flags every command takes, then one section per subcommand."""
    parser = _parser()
    commands = subcommands(parser)
    helps = {
        a.dest: a.help for a in next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))._choices_actions
    }
    lines = [
        "## Every command",
        "",
        "Every command takes `-h`/`--help`, and the flags of **output and logging** below, before or after",
        "the command (`hardneg -v mine ...` or `hardneg mine -v ...`).",
    ]
    lines += _groups(parser, skip_common=False)
    for name, sub in commands.items():
        summary = _cell(helps.get(name) or "")
        lines += ["", f"## hardneg {name}", "", summary[:1].upper() + summary[1:] + "."]
        if sub.description:
            lines += ["", _cell(sub.description)]
        lines += _groups(sub, skip_common=True)
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, cli_reference_markdown())
