"""Every number a command takes is checked where it is declared: drawn values (nan, inf, negatives,
huge) given to any numeric flag of any command end in a one-line error with exit 2, or in a
configuration whose every number is usable; never a traceback. Only the flags are parsed and the
configuration built (validation happens before any data or model is loaded), so this is fast."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardneg.cli import _config_from, build_parser, main
from hardneg.drivers.evaluate import EvalConfig
from hardneg.drivers.teacher import TeacherConfig
from hardneg.errors import HardnegError
from hardneg.evolution.fooling import FoolingConfig
from hardneg.evolution.loop import EvolveConfig
from hardneg.mining.config import FIELDS, MineConfig, make_config
from hardneg.options import MAX_INTEGER, SEED_RANGE, check_number
from hardneg.training.train import TrainConfig

COMMANDS: dict[str, tuple[type, list[str]]] = {
    "mine": (MineConfig, []),
    "audit": (MineConfig, []),
    "teacher": (TeacherConfig, ["--out", "t"]),
    "train": (TrainConfig, ["--out", "m"]),
    "eval": (EvalConfig, []),
    "evolve": (EvolveConfig, ["--out", "run"]),
    "fooling": (FoolingConfig, ["--run", "r"]),
}
SKIPPED_BY_AUDIT = {"num_negatives"}  # audit takes every mine flag but the output ones
INSPECT_FLAGS = {"sample": [], "seed": [], "suspect-ratio": [], "port": ["--serve"]}
SPECIAL = ["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "-1", "0", "1", "-0.0", "1e308", "-1e308", "0.5",
           "2147483647", "2147483648", "4294967295", "4294967296", "1000000000000", "-1000000000000", "65536", "1e-300"]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(SPECIAL),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
PARSER = build_parser()


def _numeric_fields(cls: type) -> list[str]:
    hints = typing.get_type_hints(cls)
    numeric = []
    for f in dataclasses.fields(cls):
        types = set(typing.get_args(hints[f.name])) or {hints[f.name]}
        if types & {int, float} and bool not in types:
            numeric.append(f.name)
    return numeric


NUMERIC = {command: _numeric_fields(cls) for command, (cls, _) in COMMANDS.items()}


def _build(command: str, ns) -> object:
    """The configuration the command builds from its flags (mine and audit: through the preset)."""
    if command in ("mine", "audit"):
        params = {k: v for k, v in vars(ns).items() if k in FIELDS}
        return make_config(params.pop("preset", None), **params)
    return _config_from(ns, COMMANDS[command][0])


def _usable(config: object) -> None:
    """Every number of a configuration that was accepted is one the run can use."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, float):
            assert math.isfinite(value), (f.name, value)
        elif isinstance(value, int) and not isinstance(value, bool):
            low, high = SEED_RANGE if f.name == "seed" else (-MAX_INTEGER, MAX_INTEGER)
            assert low <= value <= high, (f.name, value)


def test_every_numeric_option_is_drawn():
    assert {"max_score", "simans_a", "num_negatives", "seed"} <= set(NUMERIC["mine"])
    assert {"learning_rate", "epochs", "scale", "seed"} <= set(NUMERIC["train"])
    assert {"dev_fraction", "min_delta"} <= set(NUMERIC["evolve"])


@settings(max_examples=400, deadline=None)
@given(data=st.data(), value=VALUES)
def test_a_numeric_flag_is_a_usable_value_or_a_one_line_error(data, value):
    command = data.draw(st.sampled_from(sorted(COMMANDS)))
    name = data.draw(st.sampled_from([n for n in NUMERIC[command] if not (command == "audit" and n in SKIPPED_BY_AUDIT)]))
    args = [command, *COMMANDS[command][1], f"--{name.replace('_', '-')}={value}"]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            ns = PARSER.parse_args(args)
    except SystemExit as exc:  # not a number of the flag's type: the parser's one line
        assert exc.code == 2 and len(err.getvalue().strip().splitlines()) == 1, err.getvalue()
        return
    try:
        config = _build(command, ns)
    except HardnegError as exc:
        assert "\n" not in str(exc)
        return
    _usable(config)


@settings(max_examples=100, deadline=None)
@given(flag=st.sampled_from(sorted(INSPECT_FLAGS)), value=VALUES)
def test_inspect_numbers_end_in_one_line_and_exit_2(tmp_path_factory, flag, value):
    missing = tmp_path_factory.getbasetemp() / "no-such-candidates.parquet"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(["inspect", str(missing), *INSPECT_FLAGS[flag], f"--{flag}={value}"])
        except SystemExit as exc:
            code = exc.code
    assert code == 2  # a bad number, or else the missing file
    assert "Traceback" not in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1, err.getvalue()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("max_score", float("nan"), "max_score must be a finite number, got nan"),
        ("learning_rate", float("-inf"), "learning_rate must be a finite number, got -inf"),
        ("seed", -1, r"seed must be in \[0, 4294967295\], got -1"),
        ("seed", 2**32, r"seed must be in \[0, 4294967295\], got 4294967296"),
        ("num_negatives", 10**12, "num_negatives must be at most 2147483647 in size"),
    ],
)
def test_check_number_names_the_value_and_the_range(name, value, message):
    from hardneg.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        check_number(name, value)
    check_number(name, 1)  # a usable value passes


@pytest.mark.parametrize(
    ("cls", "required", "name"),
    [
        (EvolveConfig, {"out": "run"}, "rounds"),
        (EvolveConfig, {"out": "run"}, "staleness_k"),
        (FoolingConfig, {"run": "r"}, "num_negatives"),
        (TrainConfig, {"out": "m"}, "batch_size"),
        (TeacherConfig, {"out": "t"}, "max_length"),
        (MineConfig, {}, "query_chunk_size"),
    ],
)
def test_none_for_a_count_that_is_not_optional_is_refused_by_name(cls, required, name):
    # from Python or a JSON options object: None is not "not set" where the field has no None in its type
    with pytest.raises(HardnegError, match=rf"^{name} must be >= 1, got None$"):
        cls(**required, **{name: None})


@pytest.mark.parametrize(
    ("cls", "required", "name"),
    [(FoolingConfig, {"run": "r"}, "model_round"), (TeacherConfig, {"out": "t"}, "max_steps"), (MineConfig, {}, "num_cpus")],
)
def test_none_for_an_optional_count_means_not_set(cls, required, name):
    assert getattr(cls(**required, **{name: None}), name) is None
