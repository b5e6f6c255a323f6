"""Package names loaded on first use, so that importing a package for one config does not load it all.

A package's ``__init__`` sets ``__getattr__ = lazy_names(__name__, {name: submodule})`` (PEP 562) and
keeps its names in ``__all__`` and, for type checkers, under ``TYPE_CHECKING``. ``prefhouse --help``
builds every command's options from the stages' configs; with eager packages it imported Lance,
LanceDB, polars and the annotation stack just to print them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: each name of ``homes`` read from its submodule when first asked."""

    def __getattr__(name: str) -> Any:
        if name in homes:
            return getattr(importlib.import_module(f"{package}.{homes[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
