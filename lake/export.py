"""Export a snapshot to Parquet or JSONL in a layout that a reward trainer reads as it is.

For a pairs-like table (one with ``conversation``, ``chosen`` and ``rejected``) the layout is
one of :data:`LAYOUTS` (``docs/lake.md`` shows a row of each):

- ``trl`` (the default): TRL's conversational preference layout with an explicit prompt.
  ``prompt`` is the conversation (every turn before the final assistant turn), ``chosen`` and
  ``rejected`` are the final assistant turn alone, each a one-message list. TRL's
  ``RewardTrainer`` puts ``prompt`` in front of ``chosen`` and ``rejected`` itself, so the
  conversation appears once in what it tokenises.
- ``trl-implicit``: TRL's conversational layout with an implicit prompt: no ``prompt`` column;
  ``chosen`` and ``rejected`` are the whole conversation plus the final assistant turn.
- ``openrlhf``: the columns OpenRLHF's reward-model dataset reads with its default keys
  (``--data.chosen_key chosen --data.rejected_key rejected``, no ``--data.prompt_key``) and
  ``--data.apply_chat_template``: ``chosen`` and ``rejected`` as whole conversations (the same
  columns as ``trl-implicit``).
- ``text``: plain text with an explicit prompt, for backbones without a chat template (TRL's
  standard layout; OpenRLHF with ``--data.prompt_key prompt`` and no chat template). ``prompt``
  is the conversation in prefhouse's plain format (:func:`rm.formatting.plain_format`: one
  ``User: ...`` / ``Assistant: ...`` paragraph per turn) ending in ``"\\n\\nAssistant: "``;
  ``chosen`` and ``rejected`` are the replies. ``prompt + chosen`` is exactly the text
  ``prefhouse train`` reads for that side.

After the layout's columns come ``pair_id`` and the provenance columns the table has
(:data:`PROVENANCE`). Ties (``is_tie``) carry no preference and are left out, as
``prefhouse train`` leaves them out. No ``margin`` column is written unless asked for: a
``margin`` column enters TRL's loss (``-log sigmoid(r_c - r_r - margin)``) and OpenRLHF's with
``--model.margin_loss_enable``. With ``margin=True`` it is :data:`MARGIN_SQL`: the table's RM
margin clipped below at 0, null as 0 (see :data:`MARGIN_DEFINITION`).

Other tables are exported as they are. DuckDB streams the rows from the Lance snapshot into the
file. Beside it, ``snapshot.json`` records the table, version, tag, layout and row count, and
``README.md`` is the dataset card (:mod:`lake.card`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from lake.snapshot import Snapshot

Layout = Literal["trl", "trl-implicit", "openrlhf", "text"]
Format = Literal["parquet", "jsonl"]
DEFAULT_LAYOUT: Layout = "trl"
LAYOUTS: dict[str, str] = {
    "trl": "TRL conversational, explicit prompt: prompt = the conversation, chosen/rejected = the final "
    "assistant turn (a one-message list)",
    "trl-implicit": "TRL conversational, implicit prompt: chosen/rejected = the conversation plus the final "
    "assistant turn",
    "openrlhf": "OpenRLHF's default keys with --data.apply_chat_template: chosen/rejected = the conversation "
    "plus the final assistant turn",
    "text": "plain text, explicit prompt: prompt = the conversation in prefhouse's plain format ending in "
    "'Assistant: ', chosen/rejected = the replies",
}

PROVENANCE = (
    "round", "category", "label_origin", "label_provenance", "label_details", "source",
    "source_file", "source_row", "ingest_batch_id", "reasons",
)  # fmt: skip
PAIR_COLUMNS = {"conversation", "chosen", "rejected"}

MARGIN_SQL = "greatest(coalesce(margin, 0), 0)::float AS margin"
MARGIN_DEFINITION = (
    "`margin` = max(0, the table's `margin`), with null as 0. The table's `margin` is the reward "
    "difference r(chosen) - r(rejected) of the round's trusted reward model (best RM, else gold RM), "
    "in that model's reward units, as the round's curation recorded it (negated for flipped pairs); null "
    "where no trusted RM scored the pair. 0 leaves a pair's loss the plain Bradley-Terry one; a negative "
    "RM margin is clipped to 0, since it would let the trained model rank the rejected reply higher "
    "on a pair the curation kept."
)

_ROLE = (
    "CASE t.role WHEN 'user' THEN 'User' WHEN 'assistant' THEN 'Assistant' WHEN 'system' THEN 'System' "
    "ELSE upper(t.role[1]) || t.role[2:] END"
)
# rm.formatting.plain_format without the final turn, and the start of that turn
PLAIN_PROMPT = (
    f"array_to_string(list_transform(conversation, t -> {_ROLE} || ': ' || t.content), chr(10) || chr(10))"
    " || chr(10) || chr(10) || 'Assistant: '"
)


def _reply(column: str) -> str:
    return f"{{'role': 'assistant', 'content': {column}}}"


def is_pairs_like(columns: list[str]) -> bool:
    return set(columns) >= PAIR_COLUMNS


def layout_select(columns: list[str], layout: Layout = DEFAULT_LAYOUT, margin: bool = False) -> str:
    """The SELECT list that turns a pairs-like table into ``layout``."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown export layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    if not is_pairs_like(columns):
        raise ValueError(f"the {layout} layout needs conversation, chosen and rejected columns")
    if layout == "trl":
        parts = ["conversation AS prompt", f"[{_reply('chosen')}] AS chosen", f"[{_reply('rejected')}] AS rejected"]
    elif layout in ("trl-implicit", "openrlhf"):
        parts = [f"list_append(conversation, {_reply(side)}) AS {side}" for side in ("chosen", "rejected")]
    else:
        parts = [f"{PLAIN_PROMPT} AS prompt", "chosen", "rejected"]
    if margin:
        if "margin" not in columns:
            raise ValueError("--margin needs a table with a margin column (curated, flipped)")
        parts.append(MARGIN_SQL)
    parts += [c for c in ("pair_id",) if c in columns]
    parts += [f'"{c}"' for c in PROVENANCE if c in columns]
    return ", ".join(parts)


def export_where(columns: list[str]) -> str:
    """Rows a trainer layout keeps: every row but ties."""
    return "WHERE NOT is_tie" if "is_tie" in columns else ""


def export_snapshot(
    snapshot: Snapshot,
    out_dir: str | Path,
    format: Format = "parquet",
    layout: Layout | None = None,
    margin: bool = False,
) -> Path:
    """Write ``<out_dir>/<table>.<format>``, ``snapshot.json`` and ``README.md``; return the data file.

    ``layout`` None is :data:`DEFAULT_LAYOUT` for a pairs-like table and the table as it is for
    any other; naming a layout for a table that is not pairs-like is an error.
    """
    import duckdb

    from lake.card import write_card
    from lake.sql import duckdb_config, sql_string

    if format not in ("parquet", "jsonl"):
        raise ValueError(f"export format must be parquet or jsonl, not {format!r}")
    ds = snapshot.dataset
    columns = ds.schema.names
    if layout is None and not is_pairs_like(columns):
        if margin:
            raise ValueError("--margin applies to the trainer layouts of pairs-like tables only")
        select, where, layout_name = "*", "", "table"
    else:
        layout = layout or DEFAULT_LAYOUT
        select, where, layout_name = layout_select(columns, layout, margin), export_where(columns), layout
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{snapshot.table}.{format}"
    con = duckdb.connect(":memory:", config=duckdb_config())
    try:
        con.register("snap", ds)
        options = "FORMAT parquet" if format == "parquet" else "FORMAT json"
        con.execute(f"COPY (SELECT {select} FROM snap {where}) TO {sql_string(str(target))} ({options})")
        rows = int(con.execute(f"SELECT count(*) FROM snap {where}").fetchone()[0])
        ties = int(con.execute("SELECT count(*) FROM snap WHERE is_tie").fetchone()[0]) if where else 0
        manifest = {**snapshot.describe(), "rows": rows, "ties_left_out": ties, "format": format,
                    "file": target.name, "layout": layout_name, "margin": MARGIN_DEFINITION if margin else None,
                    "columns": _columns_of(con, select, where)}  # fmt: skip
        write_card(snapshot, con, out, manifest, where)
    finally:
        con.close()
    (out / "snapshot.json").write_text(json.dumps(manifest, indent=1))
    return target


def _columns_of(con: Any, select: str, where: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT {select} FROM snap {where} LIMIT 0").description]
