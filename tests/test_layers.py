"""Imports only point down the layers of docs/architecture.md (issue 18).

Every ``import`` of the product's source (inside functions too) is read with ``ast``; an import
from a higher layer, or between two stages the architecture does not connect, fails the test
with the file that does it.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OURS = ("lake", "rm", "pipelines", "prefhouse", "expectations")
STAGES = ("ingest", "annotate", "retrieval", "trust", "labelapp", "decontam", "dbt_runner", "dbt_lance_plugin",
          "publish", "synth", "scale", "report")  # fmt: skip
LAYERS = {"lake": 1, "rm": 2, "expectations": 2, **{f"pipelines.{s}": 3 for s in STAGES},
          "pipelines.rounds": 4, "pipelines.demo": 5, "prefhouse": 6}  # fmt: skip
# Stage -> the stages it may use (docs/architecture.md, "Allowed sideways imports").
SIDEWAYS = {
    "pipelines.annotate": {"pipelines.trust", "pipelines.retrieval"},
    "pipelines.retrieval": {"pipelines.trust"},
    "pipelines.labelapp": {"pipelines.annotate"},
    "pipelines.synth": {"pipelines.ingest"},
    "pipelines.scale": {"pipelines.annotate", "pipelines.retrieval"},
    "pipelines.publish": {"pipelines.dbt_runner"},
    "pipelines.decontam": {"pipelines.dbt_runner"},
    "pipelines.report": {"pipelines.dbt_runner", "pipelines.trust"},
}
# Known back-pointing imports still to fix (docs/architecture.md); this list may only shrink.
KNOWN: set[tuple[str, str]] = set()


def _unit(module: str) -> str:
    parts = module.split(".")
    return f"pipelines.{parts[1]}" if parts[0] == "pipelines" and len(parts) > 1 else parts[0]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "pipelines":  # from pipelines import dbt_runner
                found |= {f"pipelines.{a.name}" for a in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {_unit(m) for m in found if m.split(".")[0] in OURS}


def _edges() -> set[tuple[str, str, str]]:
    edges = set()
    for package in OURS:
        for path in sorted((REPO / package).rglob("*.py")):
            source = _unit(".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"))
            for target in _imports(path) - {source}:
                edges.add((source, target, str(path.relative_to(REPO))))
    return edges


def test_every_package_has_a_layer():
    units = {s for s, _, _ in _edges()} | {t for _, t, _ in _edges()}
    assert units - set(LAYERS) <= {"pipelines"}, f"give these a layer in docs/architecture.md: {units - set(LAYERS)}"


def test_imports_only_point_down_or_along_allowed_stage_links():
    wrong = []
    for source, target, path in sorted(_edges()):
        if source not in LAYERS or target not in LAYERS or (source, target) in KNOWN:
            continue
        up = LAYERS[target] > LAYERS[source]
        sideways = LAYERS[target] == LAYERS[source] == 3 and target not in SIDEWAYS.get(source, set())
        if up or sideways:
            wrong.append(f"{path}: {source} (layer {LAYERS[source]}) imports {target} (layer {LAYERS[target]})")
    assert not wrong, "\n".join(wrong)


def test_the_known_back_pointing_imports_still_exist():
    """When one is fixed, take it off KNOWN (and docs/architecture.md), so the list only shrinks."""
    edges = {(s, t) for s, t, _ in _edges()}
    assert edges >= KNOWN, f"fixed, remove from KNOWN: {KNOWN - edges}"
