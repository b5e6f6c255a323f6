"""Export a snapshot to Parquet or JSONL in the layout reward trainers read.

For a pairs-like table (one with ``conversation``, ``chosen`` and ``rejected``):
``prompt`` is the conversation, ``chosen`` / ``rejected`` are whole conversations
(the conversation plus the final assistant turn: TRL's conversational preference
layout), then ``pair_id``, ``margin`` when the table has one, ``is_tie`` and the
provenance columns the table has. Other tables are exported as they are. DuckDB
streams the rows from the Lance snapshot into the file; a ``snapshot.json`` beside it
records the table, version, tag and row count that were read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lake.snapshot import Snapshot

PROVENANCE = (
    "round", "is_tie", "category", "label_origin", "label_provenance", "label_details", "source",
    "source_file", "source_row", "ingest_batch_id", "reasons",
)  # fmt: skip


def trainer_select(columns: list[str]) -> str:
    """The SELECT list that turns a pairs-like table into the trainer layout."""
    if not {"conversation", "chosen", "rejected"} <= set(columns):
        return "*"
    turn = "{{'role': 'assistant', 'content': {}}}"
    parts = [
        "conversation AS prompt",
        f"list_append(conversation, {turn.format('chosen')}) AS chosen",
        f"list_append(conversation, {turn.format('rejected')}) AS rejected",
    ]
    parts += [c for c in ("pair_id", "margin") if c in columns]
    parts += [f'"{c}"' for c in PROVENANCE if c in columns]
    return ", ".join(parts)


def export_snapshot(snapshot: Snapshot, out_dir: str | Path, format: Literal["parquet", "jsonl"] = "parquet") -> Path:
    """Write ``<out_dir>/<table>.<format>`` and ``<out_dir>/snapshot.json``; return the data file."""
    import duckdb

    from lake.sql import duckdb_config

    if format not in ("parquet", "jsonl"):
        raise ValueError(f"export format must be parquet or jsonl, not {format!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{snapshot.table}.{format}"
    ds = snapshot.dataset
    select = trainer_select(ds.schema.names)
    con = duckdb.connect(":memory:", config=duckdb_config())
    try:
        con.register("snap", ds)
        options = "FORMAT parquet" if format == "parquet" else "FORMAT json"
        path = str(target).replace("'", "''")
        con.execute(f"COPY (SELECT {select} FROM snap) TO '{path}' ({options})")
    finally:
        con.close()
    manifest = {**snapshot.describe(), "rows": ds.count_rows(), "format": format, "file": target.name,
                "layout": "trainer" if select != "*" else "table"}  # fmt: skip
    (out / "snapshot.json").write_text(json.dumps(manifest, indent=1))
    return target
