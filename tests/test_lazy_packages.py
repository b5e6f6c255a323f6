"""The packages whose names load on first use (lake.lazy): every name is the object its module defines,
even after every submodule is imported, and building the command line's options loads no engine."""

from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAZY = ["lake", "pipelines.ingest", "pipelines.retrieval", "pipelines.annotate", "pipelines.scale", "pipelines.rounds"]
HEAVY = {"lance", "lancedb", "polars", "torch", "transformers", "ray", "duckdb"}


@pytest.mark.parametrize("name", LAZY)
def test_every_exported_name_is_its_modules_object(name):
    package = importlib.import_module(name)
    has_ray = importlib.util.find_spec("ray") is not None
    for info in pkgutil.iter_modules(package.__path__):  # a submodule's import sets the attribute of its name
        if name != "pipelines.scale" or has_ray or info.name == "cluster":
            importlib.import_module(f"{name}.{info.name}")
    for attr in package.__all__:
        value = getattr(package, attr)
        assert not isinstance(value, types.ModuleType), f"{name}.{attr} is a module: import it from its module"


def test_building_the_command_lines_options_loads_no_engine():
    code = (
        "import json, sys; from prefhouse.cli import build_parser; build_parser(); print(json.dumps(list(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    heavy = set(json.loads(out)) & HEAVY
    assert not heavy, f"building the options imported {sorted(heavy)}: keep configs in modules that do not"
