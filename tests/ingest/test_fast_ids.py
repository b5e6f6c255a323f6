"""The fast path's column-wise ids are the ids of :mod:`lake.ids`, on varied inputs."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from lake import ids
from lake.ids import conversation_key, ids_for
from pipelines.ingest.fast.ids import column_ids

TEXTS = ["", "a", "Z", "x\ny", "ü", "u", "e\u0301", "\u00e9", 'q "x" \\ \u0001', "😀 \u2028", "日本語のテキスト",
         "\u0915\u093c", "  spaced  ", "Ωmega", "a" * 300, "\t"]  # fmt: skip
ROLES = [["user"], ["system", "user"], ["user", "assistant", "user"], ["system", "user", "assistant", "user"]]


def _rows(roles: list[str], n: int, seed: int) -> list[tuple[list[dict[str, str]], str, str]]:
    rng = random.Random(seed)
    out = [([{"role": r, "content": rng.choice(TEXTS)} for r in roles], rng.choice(TEXTS), rng.choice(TEXTS))
           for _ in range(n)]  # fmt: skip
    return [*out, ([{"role": r, "content": ""} for r in roles], "", "")]  # every text empty


@pytest.mark.parametrize("roles", ROLES, ids="-".join)
def test_column_ids_equal_the_scalar_ids(roles):
    rows = _rows(roles, 200, seed=len(roles))
    turns = [(role, pa.array([conv[k]["content"] for conv, _, _ in rows], pa.string())) for k, role in enumerate(roles)]
    chosen = pa.array([c for _, c, _ in rows], pa.string())
    rejected = pa.array([r for _, _, r in rows], pa.string())
    pair_ids, prompt_ids, pairset_ids = column_ids(turns, chosen, rejected)
    expected = [(ids.pair_id(conv, c, r), ids.prompt_id(conv), ids.pairset_id(conv, c, r)) for conv, c, r in rows]
    assert list(zip(pair_ids.to_pylist(), prompt_ids.to_pylist(), pairset_ids.to_pylist(), strict=True)) == expected
    assert [ids_for(conversation_key(conv), c, r) for conv, c, r in rows] == expected  # the row path's form


def test_column_ids_of_a_slice():
    rows = _rows(["user"], 50, seed=9)
    prompt = pa.array([conv[0]["content"] for conv, _, _ in rows], pa.string()).slice(7, 20)
    chosen = pa.array([c for _, c, _ in rows], pa.string()).slice(7, 20)
    rejected = pa.array([r for _, _, r in rows], pa.string()).slice(7, 20)
    pair_ids, _, _ = column_ids([("user", prompt)], chosen, rejected)
    assert pair_ids.to_pylist() == [ids.pair_id(conv, c, r) for conv, c, r in rows[7:27]]
