"""Print which of our packages imports which (every ``import`` in the source, functions included).

Used to check the layer table of docs/architecture.md by eye until a test enforces it:
``python .ci/import_edges.py``.
"""

from __future__ import annotations

import ast
import collections
import pathlib

OURS = ("lake", "rm", "pipelines", "prefhouse", "expectations")
SKIP = (".venv", "tests", "benchmarks", ".ci")


def unit(module: str) -> str:
    parts = module.split(".")
    return f"pipelines.{parts[1]}" if parts[0] == "pipelines" and len(parts) > 1 else parts[0]


def main() -> None:
    root = pathlib.Path(__file__).resolve().parents[1]
    edges: dict[str, set[str]] = collections.defaultdict(set)
    for path in root.glob("**/*.py"):
        rel = path.relative_to(root)
        if rel.parts[0] in SKIP:
            continue
        source = unit(".".join(rel.with_suffix("").parts).removesuffix(".__init__"))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] in OURS and unit(name) != source:
                    edges[source].add(f"{unit(name)} ({rel})")
    for source in sorted(edges):
        print(source)
        for edge in sorted(edges[source]):
            print("   ->", edge)


if __name__ == "__main__":
    main()
