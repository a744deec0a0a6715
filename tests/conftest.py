"""Shared fixtures: a tiny hand-written BEIR folder, an embedding cache, and the offline model.

The fixtures are written inline (no network, no downloads). Session-scoped fixtures build each
thing once; the function-scoped ``tiny_beir`` hands every test its own copy to modify.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

# --- the tiny dataset ---------------------------------------------------------------------------
#
# Built around "What is the capital of France?" (q_france) and its positive ``paris``:
#   - ``paris_dup``: the positive under another id, with changed case and whitespace;
#   - ``paris_wide``: the positive with a full-width title (equal only after NFKC);
#   - ``paris_fn``: an unlabelled paraphrase (a false negative no id or text rule can catch);
#   - ``economy``, ``lyon``, ``berlin``: hard negatives (same topic, no answer);
#   - ``cookies``: an easy negative (and the positive of the cookie query).

CORPUS: list[dict] = [
    {"_id": "paris", "title": "Paris", "text": "Paris is the capital of France. The city lies on the River Seine."},
    {"_id": "paris_dup", "title": "PARIS", "text": "  paris is   THE capital of france.  the city lies on the river   seine. "},
    {"_id": "paris_wide", "title": "Ｐａｒｉｓ", "text": "Paris is the capital of France. The city lies on the River Seine."},
    {"_id": "paris_fn", "title": "", "text": "Paris is the capital and largest city of France, home to its government."},
    {
        "_id": "economy",
        "title": "The economy of France",
        "text": "France has a large economy built on services, industry and tourism.",
    },
    {"_id": "lyon", "title": "Lyon", "text": "Lyon is the third largest city in France and is famous for its food."},
    {"_id": "berlin", "title": "Berlin", "text": "Berlin is the capital of Germany and its largest city."},
    {"_id": "madrid", "title": "Madrid", "text": "Madrid is the capital of Spain, in the centre of the country."},
    {"_id": "loire", "title": "The Loire", "text": "The Loire is the longest river in France and flows into the Atlantic."},
    {
        "_id": "cookies",
        "title": "Chocolate chip cookies",
        "text": "Cream butter and sugar, add flour and chocolate chips, then bake for twelve minutes.",
    },
    {
        "_id": "bread",
        "title": "Bread",
        "text": "Knead flour, water, salt and yeast, let the dough rise, then bake it in a hot oven.",
    },
    {"_id": "pancakes", "title": "Pancakes", "text": "Whisk eggs, milk and flour into a batter and fry thin pancakes in a pan."},
    {"_id": "soup", "title": "Tomato soup", "text": "Simmer tomatoes with onion and garlic, then blend the soup until smooth."},
    {
        "_id": "photo1",
        "title": "Photosynthesis",
        "text": "Photosynthesis lets plants turn light, water and carbon dioxide into sugar and oxygen.",
    },
    {
        "_id": "photo2",
        "title": "Chlorophyll",
        "text": "Chlorophyll in the leaves absorbs the light that drives photosynthesis in plants.",
    },
    {
        "_id": "cells",
        "title": "Cells",
        "text": "Every living thing is made of cells, which hold the genetic material of the organism.",
    },
    {"_id": "dna", "title": "DNA", "text": "DNA is a double helix that stores the genetic instructions of living things."},
    {"_id": "mars", "title": "Mars", "text": "Mars is the fourth planet from the Sun and is often called the red planet."},
    {
        "_id": "jupiter",
        "title": "Jupiter",
        "text": "Jupiter is the largest planet of the solar system, a gas giant with many moons.",
    },
    {"_id": "moon", "title": "The Moon", "text": "The Moon orbits the Earth about once a month and causes the tides."},
    {"_id": "football", "title": "Football", "text": "A football match has two teams of eleven players who try to score goals."},
    {"_id": "tennis", "title": "Tennis", "text": "Tennis players hit a ball over a net with rackets, in singles or doubles."},
    {
        "_id": "piano",
        "title": "Piano",
        "text": "The piano has eighty-eight keys and makes sound when hammers strike its strings.",
    },
    {"_id": "violin", "title": "Violin", "text": "The violin is a string instrument played with a bow and held under the chin."},
    {"_id": "python", "title": "Python", "text": "Python is a programming language known for readable code and a large library."},
    {
        "_id": "compiler",
        "title": "Compilers",
        "text": "A compiler translates source code into machine code that a computer can run.",
    },
    {"_id": "sleep", "title": "Sleep", "text": "Adults need about seven to nine hours of sleep each night to stay healthy."},
    {
        "_id": "water",
        "title": "Drinking water",
        "text": "Drinking enough water helps the body control its temperature and digest food.",
    },
    {
        "_id": "gravity",
        "title": "Gravity",
        "text": "Gravity pulls objects with mass towards each other; it keeps the planets in orbit.",
    },
    {
        "_id": "light",
        "title": "Speed of light",
        "text": "Light travels through a vacuum at about three hundred thousand kilometres per second.",
    },
]

QUERIES: list[dict] = [
    {"_id": "q_france", "text": "What is the capital of France?"},
    {"_id": "q_cookies", "text": "How do I bake chocolate chip cookies?"},
    {"_id": "q_photo", "text": "How do plants make sugar from light?"},
    {"_id": "q_planet", "text": "Which is the largest planet?"},
    {"_id": "q_unused", "text": "How fast does light travel?"},
]

# (query id, corpus id, score); q_photo has two positives, q_unused is judged only in test.
QRELS: dict[str, list[tuple[str, str, int]]] = {
    "train": [
        ("q_france", "paris", 1),
        ("q_cookies", "cookies", 1),
        ("q_photo", "photo1", 1),
        ("q_photo", "photo2", 1),
        ("q_planet", "jupiter", 1),
    ],
    "test": [("q_unused", "light", 1)],
}

DEMO_FALSE_NEGATIVES = Path(__file__).resolve().parents[1] / "src" / "hardneg" / "demo_data" / "false_negatives.tsv"
SCIFACT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "scifact"


def write_beir(
    root: Path,
    corpus: Iterable[dict] = CORPUS,
    queries: Iterable[dict] = QUERIES,
    qrels: dict[str, list[tuple]] | None = None,
    *,
    header: bool = True,
) -> Path:
    """Write a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) and return it."""
    root = Path(root)
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    with open(root / "corpus.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in corpus)
    with open(root / "queries.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(q, ensure_ascii=False) + "\n" for q in queries)
    for split, rows in (QRELS if qrels is None else qrels).items():
        lines = (["query-id\tcorpus-id\tscore"] if header else []) + ["\t".join(map(str, r)) for r in rows]
        (root / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session", autouse=True)
def embedding_cache(tmp_path_factory) -> Iterable[Path]:
    """One embedding cache for the whole session (HARDNEG_CACHE), so each text is encoded once."""
    cache = tmp_path_factory.mktemp("hardneg-cache")
    previous = os.environ.get("HARDNEG_CACHE")
    os.environ["HARDNEG_CACHE"] = str(cache)
    yield cache
    if previous is None:
        os.environ.pop("HARDNEG_CACHE", None)
    else:
        os.environ["HARDNEG_CACHE"] = previous


@pytest.fixture(scope="session", autouse=True)
def float32_default_encoding() -> Iterable[None]:
    """The tests' expected negatives were computed from float32 vectors, and CI machines differ in CPU:
    the per-device default path (hardneg.encoding.defaults) is switched off, in this process and in the ones
    the tests start, as a user switches it off; tests/test_backends.py tests it."""
    from hardneg.encoding.defaults import SWITCH

    previous = os.environ.get(SWITCH)
    os.environ[SWITCH] = "off"
    yield
    if previous is None:
        os.environ.pop(SWITCH, None)
    else:
        os.environ[SWITCH] = previous


@pytest.fixture(scope="session")
def beir_writer() -> Callable[..., Path]:
    """The :func:`write_beir` helper, for tests that need a folder of their own."""
    return write_beir


@pytest.fixture(scope="session")
def _tiny_beir_master(tmp_path_factory) -> Path:
    return write_beir(tmp_path_factory.mktemp("tiny-beir-master") / "beir")


@pytest.fixture
def tiny_beir(_tiny_beir_master: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny BEIR folder; tests may change its files."""
    return Path(shutil.copytree(_tiny_beir_master, tmp_path / "beir"))


@pytest.fixture
def two_queries():
    """Two queries over six documents, in memory: q_france with two positives, q_cookies with one."""
    from hardneg.data import RetrievalData

    return RetrievalData(
        corpus_ids=["paris", "paris2", "cookies", "economy", "lyon", "bread"],
        corpus_texts=[
            "Paris is the capital of France.",
            "Paris, capital city of France.",
            "Bake the cookies for twelve minutes.",
            "The economy of France.",
            "Lyon is a city in France.",
            "Knead the bread dough.",
        ],
        query_ids=["q_france", "q_cookies"],
        query_texts=["What is the capital of France?", "How do I bake cookies?"],
        positives=[[0, 1], [2]],
    )


@pytest.fixture(scope="session")
def model():
    """The offline default model, loaded once. Tests that change it must work on a copy."""
    from hardneg.encoding.model import load_model

    return load_model()


@pytest.fixture(scope="session")
def demo_false_negatives() -> list[tuple[str, str, str]]:
    """(query id, corpus id, kind) of the demo's planted false negatives."""
    lines = DEMO_FALSE_NEGATIVES.read_text(encoding="utf-8").splitlines()[1:]
    return [tuple(line.split("\t")) for line in lines if line.strip()]


DEMO = Path(__file__).resolve().parents[1] / "src" / "hardneg" / "demo_data"


def demo_holding_its_queries(root: Path) -> tuple[Path, dict[str, list[str]]]:
    """The demo as a BEIR folder whose corpus also holds its training queries, as duplicate-question and FAQ
    corpora do: a third under the query's own id and text, a third under another id in other case and spacing,
    a third under another id with a small edit (a near duplicate, found only with near-duplicate detection on).

    Returns the folder and, per kind (``id``, ``text``, ``near``), the ids of the documents added.
    """
    shutil.copytree(DEMO / "qrels", root / "qrels")
    queries = [json.loads(line) for line in (DEMO / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line]
    train = {line.split("\t")[0] for line in (DEMO / "qrels" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]}
    added: dict[str, list[str]] = {"id": [], "text": [], "near": []}
    docs = []
    for i, q in enumerate(sorted((q for q in queries if q["_id"] in train), key=lambda q: q["_id"])):
        kind = ("id", "text", "near")[i % 3]
        text = {"id": q["text"], "text": "  " + q["text"].upper() + " ", "near": q["text"].rstrip("?") + ", please?"}[kind]
        doc_id = q["_id"] if kind == "id" else f"{kind}-{q['_id']}"
        docs.append(json.dumps({"_id": doc_id, "title": "", "text": text}) + "\n")
        added[kind].append(doc_id)
    (root / "queries.jsonl").write_text((DEMO / "queries.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    (root / "corpus.jsonl").write_text((DEMO / "corpus.jsonl").read_text(encoding="utf-8") + "".join(docs), encoding="utf-8")
    return root, added


@pytest.fixture(scope="session")
def demo_with_queries(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    """:func:`demo_holding_its_queries`, written once per session (read-only)."""
    return demo_holding_its_queries(tmp_path_factory.mktemp("demo-with-queries"))


@pytest.fixture(scope="session")
def scifact() -> Path:
    if not (SCIFACT / "corpus.jsonl").is_file():
        pytest.skip(f"SciFact not found at {SCIFACT}")
    return SCIFACT.resolve()
