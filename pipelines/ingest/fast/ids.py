"""The ids of :mod:`lake.ids`, column-wise: the vectorised twin of its scalar functions.

The keys that :mod:`lake.ids` hashes (for one user turn ``"pair\\n1 2 4 |P| |C| |R|\\nuser" + P + C +
R`` and the prompt/pairset variants) are built as string columns with ``pl.concat_str`` and
hashed with SHA-256 by ``polars-hash`` (Rust, on polars' thread pool): no Python work per row.
``tests/ingest/test_fast_ids.py`` checks them equal to :func:`lake.ids.pair_id`,
:func:`~lake.ids.prompt_id` and :func:`~lake.ids.pairset_id` on varied inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import polars_hash as plh
import pyarrow as pa

Turns = Sequence[tuple[str, pa.Array]]  # (role, contents): every row's conversation has these turns
IdColumns = tuple[pa.Array, pa.Array, pa.Array]


def _concat(parts: list[str | pl.Expr]) -> pl.Expr:
    """``concat_str`` of the parts, neighbouring literals joined into one."""
    merged: list[str | pl.Expr] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in merged])


def _n_bytes(expr: pl.Expr) -> pl.Expr:
    return expr.str.len_bytes().cast(pl.String)


def id_keys(turns: Turns, chosen: pa.Array, rejected: pa.Array) -> pl.DataFrame:
    """The keys :func:`lake.ids.encode_key` lays out, as string columns ``pair``, ``prompt``, ``pairset``.

    ``turns``: the conversation, one (role, contents) per turn, the same roles in every row.
    """
    names = [f"t{k}" for k in range(len(turns))]
    lens: list[str | pl.Expr] = []  # the conversation's item lengths, then its items
    items: list[str | pl.Expr] = []
    for name, (role, _) in zip(names, turns, strict=True):
        lens += [f" {len(role.encode())}", " ", _n_bytes(pl.col(name))]
        items += [role, pl.col(name)]
    c, r = pl.col("c"), pl.col("r")
    in_order = c <= r  # byte order = Python's str order
    lo, hi = pl.when(in_order).then(c).otherwise(r), pl.when(in_order).then(r).otherwise(c)

    def key(tag: str, texts: list[pl.Expr]) -> pl.Expr:
        text_lens = [x for t in texts for x in (" ", _n_bytes(t))]
        return _concat([f"{tag}\n{len(turns)} {len(texts)}", *lens, *text_lens, "\n", *items, *texts])

    columns = {name: arr for name, (_, arr) in zip(names, turns, strict=True)} | {"c": chosen, "r": rejected}
    frame = pl.from_arrow(pa.table(columns))
    return frame.select(pair=key("pair", [c, r]), prompt=key("prompt", []), pairset=key("pairset", [lo, hi]))  # type: ignore[union-attr]


def hash_keys(keys: pl.DataFrame) -> IdColumns:
    """(pair_ids, prompt_ids, pairset_ids): the keys' SHA-256, first 128 bits, hex (:func:`lake.ids.digest_bytes`)."""
    out = keys.select(plh.col(k).chash.sha2_256().str.slice(0, 32) for k in ("pair", "prompt", "pairset"))
    pair_ids, prompt_ids, pairset_ids = (out[k].to_arrow().cast(pa.string()) for k in ("pair", "prompt", "pairset"))
    return pair_ids, prompt_ids, pairset_ids


def column_ids(turns: Turns, chosen: pa.Array, rejected: pa.Array) -> IdColumns:
    """(pair_ids, prompt_ids, pairset_ids) of normalised columns, as :mod:`lake.ids` computes them row by row."""
    return hash_keys(id_keys(turns, chosen, rejected))
