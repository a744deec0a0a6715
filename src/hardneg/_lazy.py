"""Names a package exports but imports on first use (PEP 562), so importing the package stays cheap.

``hardneg`` and ``hardneg.candidates`` both export names whose modules import torch, transformers or FAISS;
``hardneg --help`` and a mining configuration must not pay for them.
"""

from __future__ import annotations

import importlib
import sys
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
