"""The ``hardneg`` command. Each subcommand's flags are generated from the same dataclass the
Python API takes, so ``--range-max 50`` and ``mine(range_max=50)`` are one parameter."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import importlib
import json
import logging
import sys
import typing
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from hardneg.errors import HardnegError
from hardneg.mining.config import FIELDS, MineConfig

logger = logging.getLogger("hardneg")
AUDIT_SKIP = ("out", "overwrite", "output_format", "include_scores", "audit")


def add_dataclass_arguments(
    parser: argparse.ArgumentParser, cls, skip: Sequence[str] = (), *, preset: tuple[str, dict] | None = None
) -> None:
    """One flag per dataclass field; defaults are SUPPRESSed so only given flags override a preset.

    ``preset``: ``(name, values)`` of the preset that applies when ``--preset`` is not given; help then
    shows the value that preset sets, not the dataclass default it overrides.
    """
    hints = typing.get_type_hints(cls)
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        group_name = f.metadata.get("group", "options")
        group = groups.setdefault(group_name, parser.add_argument_group(group_name))
        hint = hints[f.name]
        args = typing.get_args(hint)
        base = next((a for a in args if a is not type(None)), hint) if args else hint
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        if preset is not None and f.name == "preset":
            help_text += f" (default: {preset[0]})"
        elif preset is not None and f.name in preset[1]:
            help_text += f" (default: from --preset; {preset[0]!r} sets {preset[1][f.name]})"
        elif f.name in CLI_DEFAULTS:
            help_text += f" (default: {CLI_DEFAULTS[f.name]})"
        elif f.default is not dataclasses.MISSING and f.default is not None:
            help_text += f" (default: {f.default})"
        kwargs = {"dest": f.name, "default": argparse.SUPPRESS, "help": help_text.replace("%", "%%")}  # argparse %-formats help
        if base is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
            continue
        if f.metadata.get("choices"):
            kwargs["choices"] = (*f.metadata["choices"], *f.metadata.get("aliases", {}))
        group.add_argument(flag, type=base, **kwargs)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors (a bad flag, ``--seed x``) are one line and exit 2, like every other error."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def common_options() -> argparse.ArgumentParser:
    """The flags every command takes: output (--json), verbosity (-q, -v) and progress bars.

    Their defaults are SUPPRESSed, so a flag given before the command (``hardneg -v mine``) is not
    reset by the command's own parser; read them with :func:`_flag`.
    """
    common = Parser(add_help=False)
    group = common.add_argument_group("output and logging (every command)")
    for flags, action, help_text in (
        (["--json"], "store_true", "print the result as exactly one JSON document on stdout; everything else goes to stderr"),
        (["-q", "--quiet"], "store_true", "only warnings and errors on stderr, no progress bars"),
        (["-v", "--verbose"], "store_true", "DEBUG logging: per stage sizes, depths and timings"),
        (
            ["--progress"],
            argparse.BooleanOptionalAction,
            "progress bars, the datasets library's too (default: only when stderr is a terminal)",
        ),
    ):
        group.add_argument(*flags, action=action, default=argparse.SUPPRESS, help=help_text)
    return common


CLI_DEFAULTS = {"show_progress": "as --progress, which is on only when stderr is a terminal"}
"""Fields whose default on the command line is not the dataclass's: :func:`configure_output` sets ``show_progress``
from ``--progress`` and the terminal when the flag is not given (the Python API's default stays ``True``)."""


def _flag(ns: argparse.Namespace, name: str) -> bool:
    return bool(getattr(ns, name, False))


class DeferredParser(Parser):
    """A command's parser whose flags are added on first use: when it parses, or shows its help or usage.

    Its flags come from configuration classes whose modules import torch, transformers or FAISS, so
    ``hardneg --help`` and ``hardneg presets`` import them only for the command that runs.
    """

    def __init__(self, *args: Any, define: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._define = define

    def _defined(self) -> None:
        define, self._define = self._define, None
        if define is not None:
            define(self)

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        self._defined()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._defined()
        return super().format_usage()

    def format_help(self) -> str:
        self._defined()
        return super().format_help()


def build_parser() -> argparse.ArgumentParser:
    from hardneg._version import __version__

    common = common_options()
    parser = Parser(prog="hardneg", description="Hard, clean negatives for dense-retrieval training.", parents=[common])
    parser.add_argument("--version", action="version", version=f"hardneg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=DeferredParser)
    add = functools.partial(sub.add_parser, parents=[common])

    add(
        "mine",
        help="mine hard negatives for (query, positive) data",
        description="Mine hard negatives. Flags mirror hardneg.mine(); a preset sets several at once.",
        define=_mine_flags(),
    )
    add("presets", help="list the presets and their values")
    _add_defence_commands(add)
    _add_loop_commands(add)
    add(
        "inspect",
        help="a page to see every query's mined candidates and why each was kept or dropped, and to mark false negatives",
        description="Write one self-contained HTML page about a candidates file (hardneg mine --output-format candidates): "
        "the run's summary and plots, then every query's positives and ranked candidates with score, verdict and a "
        "'relevant?' mark. The marks download as a qrels-style TSV for --extra-positives.",
        define=_define_inspect,
    )
    return parser


def _mine_flags(skip: Sequence[str] = (), *, auto: bool = False) -> Callable[[argparse.ArgumentParser], None]:
    """Adds the flags of :class:`MineConfig` (less ``skip``), their help naming what the default preset (or auto) sets."""

    def define(parser: argparse.ArgumentParser) -> None:
        from hardneg.mining.config import AUTO, DEFAULT_PRESET, PRESETS

        name = AUTO if auto else DEFAULT_PRESET
        add_dataclass_arguments(parser, MineConfig, skip=skip, preset=(name, PRESETS[name]))

    return define


def _define_inspect(ins: argparse.ArgumentParser) -> None:
    from hardneg.inspect import DEFAULT_SAMPLE
    from hardneg.inspect.records import SUSPECT_RATIO

    ins.add_argument("candidates", metavar="CANDIDATES_FILE", help="output of hardneg mine --output-format candidates")
    ins.add_argument("--out", help="the HTML page (default: CANDIDATES_FILE.html)")
    ins.add_argument("--corpus", help="the data the file was mined from, when its manifest is missing ('demo', a BEIR folder)")
    ins.add_argument(
        "--sample",
        type=int,
        default=DEFAULT_SAMPLE,
        help=f"most queries on the page; the most suspicious half always among them (default: {DEFAULT_SAMPLE}; 0 for all)",
    )
    ins.add_argument("--seed", type=int, default=42, help="seed of the sample's random draw (default: 42)")
    ins.add_argument(
        "--suspect-ratio",
        type=float,
        default=SUSPECT_RATIO,
        help=f"flag candidates scored at least this share of the query's reference positive score, the one its "
        f"margin filters used (default: {SUSPECT_RATIO})",
    )
    ins.add_argument("--serve", action="store_true", help="serve every query on http://127.0.0.1:PORT, reading the file lazily")
    ins.add_argument("--port", type=int, default=8000, help="port of --serve (default: 8000)")


def _define_audit(audit: argparse.ArgumentParser) -> None:
    _mine_flags(AUDIT_SKIP)(audit)
    audit.add_argument(
        "--no-hardness", dest="hardness", action="store_false", help="skip the rank and score of the chosen negatives"
    )


def _config_flags(module: str, name: str) -> Callable[[argparse.ArgumentParser], None]:
    """Adds the flags of the configuration class ``module.name``, imported only then."""

    def define(parser: argparse.ArgumentParser) -> None:
        add_dataclass_arguments(parser, getattr(importlib.import_module(module), name))

    return define


def _add_defence_commands(add) -> None:
    """Subcommands of the false-negative defence: audit, teacher."""
    add(
        "audit",
        help="measure the false-negative rate of a mining configuration",
        description="Hide one positive of every query with two or more, mine with the given preset and flags, "
        "and report how often a hidden positive was picked as a negative, what stopped the others, "
        "and how hard the chosen negatives are.",
        define=_define_audit,
    )
    add(
        "tune",
        help="what --preset auto would choose: the audit of every filter setting it compares, without mining",
        description="Hide one positive of every query with two or more, search once, and audit a grid of filter "
        "settings (positive reference, relative margin, selection, rank floor) on the saved scores; print the "
        "table and the setting `--preset auto` mines with (the hardest within --max-false-negative-rate).",
        define=_mine_flags(AUDIT_SKIP, auto=True),
    )
    add(
        "teacher",
        help="train a cross-encoder teacher from labelled pairs and mined negatives",
        description="Fine-tune a cross-encoder (binary cross-entropy) on the labelled pairs and negatives mined "
        "with a preset, starting from a local model. Writes the model folder and a manifest beside it.",
        define=_config_flags("hardneg.drivers.teacher", "TeacherConfig"),
    )


def _add_loop_commands(add) -> None:
    """Subcommands of the training loop: eval, train, evolve, fooling, report."""
    add(
        "eval",
        help="retrieval quality of a model on a BEIR split (nDCG@10, Recall@100, MRR@10, MAP@100)",
        description="Exact-search evaluation with trec_eval measures. Flags mirror hardneg.evaluate().",
        define=_config_flags("hardneg.drivers.evaluate", "EvalConfig"),
    )
    add(
        "train",
        help="fine-tune a bi-encoder on mined negatives (MultipleNegativesRankingLoss)",
        description="Train with the sentence-transformers trainer. Flags mirror hardneg.train().",
        define=_config_flags("hardneg.training.train", "TrainConfig"),
    )
    add(
        "evolve",
        help="rounds of mine -> train -> evaluate, each round mining with the previous round's model",
        description="The co-evolution loop. Rerunning the same command resumes the run folder.",
        define=_config_flags("hardneg.evolution.loop", "EvolveConfig"),
    )
    add(
        "fooling",
        help="the fooling matrix of an evolve run: models trained with each sampler vs each sampler's negatives",
        description="Trains random/BM25/dense sampler models with the run's budget and measures triplet accuracy on dev.",
        define=_config_flags("hardneg.evolution.fooling", "FoolingConfig"),
    )
    rep = add(
        "report",
        help="one self-contained HTML page (and JSON) about an evolve run",
        description="Quality per round, score distributions, hardness and staleness curves, audit rate, fooling matrix.",
    )
    rep.add_argument("run_dir", metavar="RUN_DIR", help="the --out folder of hardneg evolve")
    rep.add_argument("--out", help="write report.html and report.json here instead of RUN_DIR")


@dataclasses.dataclass
class Output:
    """What a command reports: ``payload`` is printed as one JSON document with ``--json``, ``text`` otherwise."""

    payload: Any
    text: str


def _cmd_mine(ns: argparse.Namespace) -> Output:
    from hardneg.drivers.mine import mine

    result = mine(**_mine_params(ns))
    if result.out:
        text = f"wrote {result.summary['rows']:,} rows to {result.out} (manifest: {result.manifest_path})"
    else:
        text = result.table.to_pandas().head(20).to_string() if result.table.num_rows else "no rows"
    return Output(result.summary, text)


def _mine_params(ns: argparse.Namespace) -> dict[str, Any]:
    """The flags given that are :class:`MineConfig` fields."""
    return {k: v for k, v in vars(ns).items() if k in FIELDS}


def _cmd_presets(ns: argparse.Namespace) -> Output:
    from hardneg.mining.config import AUTO, AUTO_FALLBACK, DEFAULT_PRESET, PRESETS

    lines = []
    for name, values in PRESETS.items():
        mark = " (default)" if name == DEFAULT_PRESET else ""
        if name == AUTO:
            lines.append(f"{name}: the hardest filter setting the audit finds clean on your data (`hardneg tune` shows "
                         f"its table); starts from, and falls back to, {AUTO_FALLBACK}")  # fmt: skip
            continue
        lines.append(f"{name}{mark}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    return Output({"default": DEFAULT_PRESET, "presets": PRESETS}, "\n".join(lines))


def _config_from(ns: argparse.Namespace, cls):
    """Build the dataclass ``cls`` from the flags that were given (the rest keep their defaults)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in vars(ns).items() if k in names})


def _cmd_eval(ns: argparse.Namespace) -> Output:
    from hardneg.drivers.evaluate import EvalConfig, evaluate_config

    result = evaluate_config(_config_from(ns, EvalConfig))
    lines = [f"{result.info['queries']} queries, {result.info['documents']:,} documents, {result.info['seconds']:.1f} s"]
    if result.info.get("absent_judgements"):
        lines[0] += f"; {result.info['absent_judgements']} relevant documents absent from the corpus, scored as never retrieved"
    lines += [f"  {name:<12}{value:.4f}" for name, value in result.metrics.items()]
    return Output(result.to_dict(), "\n".join(lines))


def _cmd_train(ns: argparse.Namespace) -> Output:
    from hardneg.training.train import TrainConfig, Trainer

    result = Trainer(_config_from(ns, TrainConfig)).run()
    s = result.summary
    return Output(s, f"trained {s['steps']} steps on {s['rows']:,} rows (loss {s['train_loss']:.4f}) -> {result.out}")


def _cmd_evolve(ns: argparse.Namespace) -> Output:
    from hardneg.evolution.loop import Evolution, EvolveConfig

    result = Evolution(_config_from(ns, EvolveConfig)).run()
    s = result.summary
    return Output(s, f"best round {s['best_round']}: {s['best_model']} ({s['stopped']})")


def _cmd_fooling(ns: argparse.Namespace) -> Output:
    from hardneg.evolution.fooling import Fooling, FoolingConfig

    result = Fooling(_config_from(ns, FoolingConfig)).run()
    lines = [f"{'trained with':<14}" + "".join(f"{n:>10}" for n in result["negatives"])]
    for name, row in zip(result["models"], result["triplet_accuracy"]):
        lines.append(f"{name:<14}" + "".join(f"{v:>10.4f}" for v in row))
    return Output(result, "\n".join(lines))


def _cmd_report(ns: argparse.Namespace) -> Output:
    from hardneg.evolution.report import write_report

    result = write_report(ns.run_dir, out=ns.out)
    payload = {"html": str(result.html), "json": str(result.json), "figures": result.figures}
    return Output(payload, f"wrote {result.html} and {result.json} ({len(result.figures)} figures)")


def _cmd_audit(ns: argparse.Namespace) -> Output:
    from hardneg.drivers.audit import audit

    result = audit(hardness=ns.hardness, **_mine_params(ns))
    return Output(result.to_dict(), result.format_table())


def _cmd_tune(ns: argparse.Namespace) -> Output:
    from hardneg.drivers.tune import tune
    from hardneg.mining.config import AUTO, make_config

    params = _mine_params(ns)
    params.pop("preset", None)
    config = make_config(AUTO, **params)
    # an audit of every setting: a judged document absent from the corpus is warned about and left out, as in audit
    result = tune(config, config.load_data(absent_documents="judge").in_corpus(), fixed=params)
    return Output(result.to_dict(), result.format_table())


def _cmd_teacher(ns: argparse.Namespace) -> Output:
    from hardneg.drivers.teacher import TeacherConfig, train_teacher

    manifest = train_teacher(_config_from(ns, TeacherConfig))
    s = manifest["summary"]
    return Output(s, f"trained a cross-encoder on {s['pairs']:,} pairs ({s['steps']} steps, loss {s['train_loss']}) -> {ns.out}")


def _cmd_inspect(ns: argparse.Namespace) -> Output:
    if ns.serve:
        from hardneg.inspect.serve import make_server

        server = make_server(ns.candidates, corpus=ns.corpus, port=ns.port, suspect_ratio=ns.suspect_ratio)
        host, port = server.server_address[:2]
        url = f"http://{host}:{port}/"
        logger.info("serving %s on %s (Ctrl-C stops)", ns.candidates, url)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
        return Output({"served": url}, f"stopped serving {url}")
    from hardneg.inspect import inspect_candidates

    result = inspect_candidates(
        ns.candidates, ns.out, corpus=ns.corpus, sample=ns.sample or None, seed=ns.seed, suspect_ratio=ns.suspect_ratio
    )
    s = result.summary
    payload = {"html": str(result.html), "manifest": str(result.manifest), **s}
    return Output(
        payload,
        f"wrote {result.html}: {s['queries_on_page']:,} of {s['queries']:,} queries, "
        f"{s['suspicious_queries']:,} suspicious, {s['suspect_candidates']:,} suspect candidates",
    )


COMMANDS = {
    "mine": _cmd_mine,
    "presets": _cmd_presets,
    "audit": _cmd_audit,
    "tune": _cmd_tune,
    "teacher": _cmd_teacher,
    "eval": _cmd_eval,
    "train": _cmd_train,
    "evolve": _cmd_evolve,
    "fooling": _cmd_fooling,
    "report": _cmd_report,
    "inspect": _cmd_inspect,
}
WITHOUT_LIBRARIES = frozenset({"presets"})
"""Commands that load no model and no data: their start does not import the datasets library."""
NOISY_LOGGERS = ("sentence_transformers", "transformers", "httpx", "urllib3", "bm25s", "faiss", "datasets", "filelock")


_HANDLER_NAME = "hardneg-cli"


class _Formatter(logging.Formatter):
    """INFO lines as they are (the summaries read as text); other levels with their level and logger."""

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.INFO:
            return record.getMessage()
        return f"{record.levelname} {record.name}: {super().format(record)}"


def configure_output(ns: argparse.Namespace, *, libraries: bool = True) -> bool:
    """Logging to stderr at the level -q/-v ask for, and progress bars on or off; whether bars are on.

    Bars are on with --progress, off with --no-progress or -q, else on only when stderr is a terminal.
    An explicit --show-progress/--no-show-progress of a command still wins over this. ``libraries=False``
    leaves the datasets library's bars alone (switching them imports it: 0.7 s), for a command that never loads it.
    """
    level = logging.DEBUG if _flag(ns, "verbose") else logging.WARNING if _flag(ns, "quiet") else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("%(message)s"))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # replace only the handler an earlier call installed (a host's own handlers stay)
    root.handlers[:] = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    progress = ns.progress if hasattr(ns, "progress") else (not _flag(ns, "quiet") and sys.stderr.isatty())
    if not hasattr(ns, "show_progress"):
        ns.show_progress = progress
    if libraries:
        set_library_progress(progress)
    return progress


def set_library_progress(enabled: bool) -> None:
    """Progress bars of the datasets and huggingface_hub libraries on or off, through their own switches.

    Not through their environment variables: those are read once, at import, and would then refuse a
    later switch back on. A user's own ``HF_*_DISABLE_PROGRESS_BARS=1`` still wins (quietly).
    """
    import datasets
    from huggingface_hub import utils as hub

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "cannot enable progress bars: the environment variable has priority"
        if enabled:
            hub.enable_progress_bars()
            datasets.enable_progress_bars()
        else:
            hub.disable_progress_bars()
            datasets.disable_progress_bars()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    as_json = _flag(ns, "json")
    configure_output(ns, libraries=ns.command not in WITHOUT_LIBRARIES)
    stdout = sys.stdout
    try:
        # With --json, anything a library prints (transformers' loss dicts, for one) goes to stderr,
        # so stdout holds exactly the one JSON document.
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            output = COMMANDS[ns.command](ns)
    except (HardnegError, OSError) as exc:
        message = str(exc)
        if isinstance(exc, OSError):  # a file that cannot be read or written: one line naming it, no traceback
            message = (f"{exc.filename}: " if exc.filename else "") + str(exc.strerror or exc)
        print(f"hardneg: error: {message}", file=sys.stderr)
        if as_json:
            print(json.dumps({"error": message}), file=stdout)
        return 2
    except KeyboardInterrupt:
        from hardneg.errors import say_interrupted

        return say_interrupted()
    if as_json:
        print(json.dumps(output.payload, default=str), file=stdout)
    else:
        print(output.text, file=stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
