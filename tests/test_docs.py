"""The documentation checks that need no MkDocs: the CLI reference lists every flag, every relative link
and image of README.md and docs/ points at something that exists (and at a heading, for an anchor), and
the README's results table says what the result files say.

``mkdocs build --strict`` (in ``.ci/run``) checks the site itself; these run with the tests everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HOOK = DOCS / "hooks" / "cli_reference.py"


def _hook():
    spec = importlib.util.spec_from_file_location("cli_reference", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hook():
    return _hook()


@pytest.fixture(scope="module")
def reference(hook) -> str:
    return hook.cli_reference_markdown()


def _sections(markdown: str) -> dict[str, str]:
    """The reference split at its ``## hardneg COMMAND`` headings; ``""`` is the part before the first."""
    parts = re.split(r"^## hardneg (\S+)$", markdown, flags=re.M)
    return {"": parts[0], **dict(zip(parts[1::2], parts[2::2]))}


def test_the_cli_page_is_generated_by_the_hook():
    assert _hook().MARKER in (DOCS / "cli.md").read_text(encoding="utf-8")
    assert "docs/hooks/cli_reference.py" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_the_cli_reference_lists_every_flag_of_every_subcommand(hook, reference):
    sections = _sections(reference)
    parser = hook._parser()
    commands = hook.subcommands(parser)
    assert set(commands) == set(sections) - {""}, "a subcommand without a section, or a section without a subcommand"
    missing = []
    for name, sub in [("", parser), *commands.items()]:
        for action in sub._actions:
            if not hook.documented(action):
                continue
            names = action.option_strings or [action.metavar or action.dest]
            where = sections[""] if action.container.title == hook.COMMON else sections[name]
            missing += [" ".join(filter(None, ("hardneg", name, flag))) for flag in names if f"`{flag}`" not in where]
    assert not missing, f"flags missing from the generated CLI reference: {missing}"


def test_the_cli_reference_lists_the_flags_mine_is_known_for(reference):
    mine = _sections(reference)["mine"]
    for flag in ("--data", "--out", "--preset", "--num-negatives", "--relative-margin", "--output-format", "--no-extend-window"):
        assert f"`{flag}`" in mine


# --- links ------------------------------------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\]\n]|\][^(\n])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""<(?:a|img)\s[^>]*?(?:href|src)=["']([^"']+)["']""")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)


def slugify(text: str) -> str:
    """A heading's anchor as MkDocs makes it (Python-Markdown's toc slugify)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _heading_text(raw: str) -> str:
    raw = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)  # a link's text
    return re.sub(r"[`*_]", "", raw).replace("&lt;", "<")


def anchors(markdown: str) -> set[str]:
    """Every anchor the page's headings get, with MkDocs' ``_1``, ``_2`` for repeats."""
    seen: dict[str, int] = {}
    found = set()
    for _, text in HEADING.findall(FENCE.sub("", markdown)):
        slug = slugify(_heading_text(text))
        if slug in seen:
            seen[slug] += 1
            slug = f"{slug}_{seen[slug]}"
        else:
            seen[slug] = 0
        found.add(slug)
    return found


def _page_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path == DOCS / "cli.md":
        text = text.replace(_hook().MARKER, _hook().cli_reference_markdown())
    return text


def _pages() -> list[Path]:
    return [
        ROOT / "README.md",
        ROOT / "benchmarks" / "README.md",
        *sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts),
    ]


def _links(markdown: str) -> list[str]:
    prose = CODE.sub("", FENCE.sub("", markdown))
    return LINK.findall(prose) + HTML_LINK.findall(prose)


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_resolves(page):
    broken = []
    for target in _links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: are not fetched
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(_page_text(dest)):
            broken.append(f"{target}: no heading with the anchor #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)} has broken links:\n" + "\n".join(broken)


def test_the_link_check_finds_links_and_anchors():
    text = (
        "# A title: `code` and *more*\n\n## Two\n\n## Two\n\n[x](a.md#two_1) ![i](b.png) `[no](c.md)`\n\n```\n[no](d.md)\n```\n"
    )
    assert _links(text) == ["a.md#two_1", "b.png"]
    assert anchors(text) == {"a-title-code-and-more", "two", "two_1"}
    assert slugify("Agreement: target ≥ 99 %, met") == "agreement-target-99-met"


# --- the README's results table ----------------------------------------------------------------------------

RESULTS = ROOT / "benchmarks" / "results"
ROW = re.compile(r"^\|(.*)\|\s*$")
NUMBER = re.compile(r"^\**\s*([0-9]\.[0-9]{4})(?:\s*±\s*([0-9]\.[0-9]{4}))?")


def _table_rows(markdown: str, header: str):
    """(key, SciFact cell, NFCorpus cell) of each row of the table whose header line starts with ``header``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    for line in lines[start + 2 :]:
        match = ROW.match(line)
        if not match:
            break
        cells = [c.strip() for c in match.group(1).split("|")]
        key = re.findall(r"\(`([^`]+)`\)", cells[0])
        if key:
            yield key[-1], cells[-2], cells[-1]


@pytest.mark.parametrize(
    ("page", "header"),
    [("README.md", "| arm (key in the result file) |"), ("docs/results.md", "| arm (key in the result file) |")],
)
def test_the_results_table_says_what_the_result_files_say(page, header):
    tables = {  # the arms of one table, and --preset auto's own run (`auto-n3`)
        ds: {
            **json.loads((RESULTS / f"quality_{ds}.json").read_text())["table"],
            **json.loads((RESULTS / f"quality_{ds}_auto.json").read_text())["table"],
        }
        for ds in ("scifact", "nfcorpus")
    }
    rows = list(_table_rows((ROOT / page).read_text(encoding="utf-8"), header))
    assert len(rows) >= 6
    wrong = []
    for key, *cells in rows:
        for ds, cell in zip(("scifact", "nfcorpus"), cells):
            row = tables[ds][key]
            match = NUMBER.match(cell)
            assert match, f"{page}: no number in the {ds} cell of {key}: {cell!r}"
            mean, std = match.groups()
            want_std = None if math.isnan(row["std"]) else f"{row['std']:.4f}"
            if mean != f"{row['mean']:.4f}" or std != want_std:
                wrong.append(f"{key} {ds}: page {mean} ± {std}, file {row['mean']:.4f} ± {want_std}")
    assert not wrong, f"{page}: " + "; ".join(wrong)
