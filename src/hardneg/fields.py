"""Declaring configuration fields: the ``option`` helper the CLI flags are generated from, and the checks every
configuration shares. It imports nothing of hardneg but its errors, so every stage can declare its own options
(``FilterOptions`` in :mod:`hardneg.filters`, ``SelectionOptions`` in :mod:`hardneg.selection`, ...)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from hardneg.errors import ConfigError


def option(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    aliases: dict[str, str] | None = None,
    group: str = "mining",
) -> Any:
    """A configuration field with its CLI help text, allowed values (and other accepted spellings) and help group."""
    return field(default=default, metadata={"help": help, "choices": choices, "aliases": aliases or {}, "group": group})


def check_choices(config: Any, *names: str) -> None:
    """Raise a ConfigError for any of ``names`` whose value is not among its field's choices."""
    fields = {f.name: f for f in dataclasses.fields(config)}
    for name in names:
        choices = fields[name].metadata["choices"]
        if getattr(config, name) not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(map(repr, choices))}, got {getattr(config, name)!r}")


def check_positive(config: Any, *names: str, least: int = 1) -> None:
    """Raise a ConfigError for any of ``names`` that is below ``least``. ``None`` means 'not set' and passes where
    the field is declared optional (``int | None``); where it is not, ``None`` is refused like any other bad value."""
    optional = {f.name: "None" in str(f.type) for f in dataclasses.fields(config)}
    for name in names:
        value = getattr(config, name)
        if value is None and optional[name]:
            continue
        if value is None or value < least:
            raise ConfigError(f"{name} must be >= {least}, got {value}")


SEED_RANGE = (0, 2**32 - 1)
"""Seeds every generator hardneg seeds accepts: numpy's (``np.random.seed``, through ``transformers.set_seed``)
refuses negatives and values of 2**32 or more; torch's and Python's take all of these."""
MAX_INTEGER = 2**31 - 1
"""The largest count, size or step any option takes: more documents, negatives or steps than that no
machine holds, and a larger value is a typo (``--num-negatives 1000000000000``), not a wish."""


def check_number(name: str, value: Any) -> None:
    """Raise a ConfigError when ``value`` is a number no option takes: a float that is not finite (``nan``,
    ``inf``), a seed (``name`` is ``seed`` or ends in ``_seed``) outside :data:`SEED_RANGE`, or another integer
    beyond :data:`MAX_INTEGER` either way. Anything else passes (its field's own checks follow)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value}")
        return
    if name == "seed" or name.endswith("_seed"):
        if not SEED_RANGE[0] <= value <= SEED_RANGE[1]:
            raise ConfigError(f"{name} must be in [{SEED_RANGE[0]}, {SEED_RANGE[1]}], got {value}")
    elif abs(value) > MAX_INTEGER:
        raise ConfigError(f"{name} must be at most {MAX_INTEGER} in size, got {value}")


def check_text(name: str, value: Any) -> None:
    """Raise a ConfigError when ``value`` is a text that is not valid Unicode: a file name whose bytes are not
    UTF-8 reaches Python with lone surrogates (``\\udce9``), which no manifest, lock or log line can hold; refused
    here, naming the option and the bytes, rather than as a ``UnicodeEncodeError`` half-way through a run."""
    if isinstance(value, str):
        texts = [value]
    elif isinstance(value, list | tuple):
        texts = [v for v in value if isinstance(v, str)]
    else:
        return
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            shown = text.encode("utf-8", "surrogateescape")
            raise ConfigError(
                f"{name} is not valid UTF-8 ({shown!r}); hardneg writes the names it is given into UTF-8 manifests: "
                "rename the file or folder"
            ) from None


@dataclass
class Options:
    """The base of every configuration dataclass: on construction, each number and text it holds is checked (:func:`check_number`,
    :func:`check_text`) before the fields' own checks, so ``nan`` or a negative seed is refused in one place."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check_number(f.name, getattr(self, f.name))
            check_text(f.name, getattr(self, f.name))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
