"""Names a package exports but imports on first use (PEP 562), so importing the package stays cheap.

``hardneg`` and ``hardneg.candidates`` both export names whose modules import torch, transformers or FAISS;
``hardneg --help`` and a mining configuration must not pay for them. :func:`moved_names` serves, the same
way, names that moved to another module: they still import from the old one, with a DeprecationWarning.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, where: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: a name of ``where`` (name -> module) is imported from its
    module the first time it is asked for, then kept in the package like any other attribute."""
    module = sys.modules[package]

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(module)) | set(where))

    return __getattr__, __dir__


def moved_names(module: str, where: dict[str, tuple[str, str]]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``module``, whose names in ``where`` (old name -> (new module, new name)) moved:
    each is looked up where it now lives, with a DeprecationWarning that says where."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        new_module, new_name = where[name]
        warnings.warn(f"{module}.{name} moved to {new_module}.{new_name}; import it from there", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(new_module), new_name)

    return __getattr__
