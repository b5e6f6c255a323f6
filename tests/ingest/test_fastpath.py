"""The column-wise fast path for flat JSONL gives exactly the row path's lake rows."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from lake import Lake, ids
from pipelines.ingest import ingest_paths, read_file
from pipelines.ingest.fast import FlatBlock, iter_flat
from tests.ingest.helpers import write_jsonl

VOLATILE = ("ingest_batch_id", "ingested_at", "quarantined_at")

MIXED = [
    {"prompt": "Plain ASCII?", "chosen": "yes", "rejected": "no"},
    {"prompt": "Cafe\u0301 au lait", "chosen": "cre\u0300me", "rejected": "caf\u00e9"},  # NFC changes these
    {"prompt": "line one\r\nline two\rthree", "chosen": "a\r\nb", "rejected": "a\nc"},
    {"prompt": "  \t padded \n", "chosen": "\u00a0nbsp ends\u3000", "rejected": "\x1f unit sep \x0b"},
    {"prompt": 'quotes "q" and \\ backslash', "chosen": 'say "hi"\\n', "rejected": "tab\there"},
    {"prompt": "controls \x01\x08\x0c\x1b", "chosen": "bell\x07", "rejected": "nul\x00x"},
    {"prompt": "emoji 😀 \u2028 sep", "chosen": "ü", "rejected": "u"},
    {"prompt": "Plain ASCII?", "chosen": "yes", "rejected": "no"},  # duplicate of row 0
    {"prompt": "Plain ASCII?", "chosen": " yes ", "rejected": "no\r\n"},  # duplicate after normalisation
    {"prompt": "Plain ASCII?", "chosen": "no", "rejected": "yes"},  # the flip: another pair, same pairset
    {"prompt": "empty side", "chosen": "   ", "rejected": "x"},
    {"prompt": "empty side", "chosen": "x", "rejected": ""},
    {"prompt": " \n ", "chosen": "a", "rejected": "b"},  # empty prompt
    {"prompt": "same", "chosen": "e\u0301", "rejected": "\u00e9"},  # identical after NFC
    {"prompt": None, "chosen": "a", "rejected": "b"},
    {"prompt": "no rejected", "chosen": "a", "rejected": None},
    {"prompt": "cat", "chosen": "a", "rejected": "b", "subset": "", "category": "c1", "source": "s"},
    {"prompt": "cat", "chosen": "a", "rejected": "c", "subset": "", "category": "", "source": ""},
    {"prompt": "cat", "chosen": "a", "rejected": "d", "subset": "sub", "category": "c1"},
    {"prompt": "cat", "chosen": "a", "rejected": "e", "subset": None, "category": None},
]


def _table(lake: Lake, name: str) -> list[dict]:
    if not lake.exists(name):
        return []
    t = lake.dataset(name).to_table()
    return t.drop_columns([c for c in VOLATILE if c in t.column_names]).to_pylist()


def _ingest_both(tmp_path, paths, **kw):
    out = []
    for fast in (True, False):
        lake = Lake(tmp_path / f"lake-{fast}")
        report = ingest_paths(lake, paths, fast=fast, **kw)
        counts = (report.n_read, report.n_accepted, report.n_duplicate, report.n_quarantined, report.reasons)
        out.append((counts, {t: _table(lake, t) for t in ("pairs", "pair_sources", "quarantine")}))
    return out


@pytest.mark.parametrize("block_bytes", [700, 300])  # some blocks column-wise, some row by row
def test_fast_path_equals_row_path_on_a_mixed_file(tmp_path, monkeypatch, block_bytes):
    import pipelines.ingest.sources as sources

    monkeypatch.setattr(sources, "BLOCK_BYTES", block_bytes)
    rows = [*MIXED, '{"prompt": "broken', {"prompt": 7, "chosen": "a", "rejected": "b"}, *MIXED[:3]]
    path = write_jsonl(tmp_path / "mixed.jsonl", rows)
    blocks = [b for b in iter_flat(path) if isinstance(b, FlatBlock)]
    assert blocks, "the fast path must take at least one block"
    (fast_counts, fast_tables), (row_counts, row_tables) = _ingest_both(tmp_path, [path])
    assert fast_counts == row_counts
    assert fast_tables == row_tables
    reasons = {(q["source_row"], q["reason"]) for q in fast_tables["quarantine"]}
    assert {(10, "empty_response"), (12, "bad_conversation"), (13, "identical_responses"),
            (14, "missing_field"), (20, "unparseable")} <= reasons  # fmt: skip
    assert row_counts[3] == len(fast_tables["quarantine"])


def test_fast_path_ids_are_lake_ids(tmp_path):
    path = write_jsonl(tmp_path / "mixed.jsonl", MIXED)
    expected = [p for p in read_file(path, "flat") if not hasattr(p, "reason")]
    blocks = [b for b in iter_flat(path) if isinstance(b, FlatBlock)]
    assert len(blocks) == 1 and len(blocks[0].pair_ids) == len(expected)
    (blk,) = blocks
    for i, p in enumerate(expected):
        assert blk.pair_ids[i].as_py() == ids.pair_id(p.conversation, p.chosen, p.rejected)
        assert blk.prompt_ids[i].as_py() == ids.prompt_id(p.conversation)
        assert blk.pairset_ids[i].as_py() == ids.pairset_id(p.conversation, p.chosen, p.rejected)
        assert blk.chosen[i].as_py() == p.chosen and blk.prompt[i].as_py() == p.conversation[0]["content"]


def test_fast_path_reingest_and_same_file_twice(tmp_path):
    path = write_jsonl(tmp_path / "mixed.jsonl", MIXED)
    (fast_counts, fast_tables), (row_counts, row_tables) = _ingest_both(tmp_path, [path, path])
    assert fast_counts == row_counts and fast_tables == row_tables
    lake = Lake(tmp_path / "lake-True")
    again = ingest_paths(lake, [path])
    assert (again.n_accepted, again.n_new_sightings, again.n_new_quarantine) == (0, 0, 0)


def test_fast_path_with_workers_equals_one_process(tmp_path):
    rows = [{"prompt": f"p{i % 700} é", "chosen": f'c{i}\n"x"', "rejected": f"r{i % 3}"} for i in range(3000)]
    path = write_jsonl(tmp_path / "many.jsonl", rows)

    def run(workers):
        blocks = list(iter_flat(path, block_bytes=4096, workers=workers))
        return [(json.dumps(b.pair_ids.to_pylist()), pa.table({"r": b.source_row, "c": b.chosen})) for b in blocks]

    assert run(2) == run(1)


def test_whitespace_set_is_pythons():
    from pipelines.ingest.fast.normalise import PY_WHITESPACE

    assert set(PY_WHITESPACE) == {c for c in map(chr, range(0x110000)) if c.isspace()}


def test_normalise_equals_normalize_text_on_tricky_values():
    from pipelines.ingest.fast.normalise import normalise

    values = ["plain", "e\u0301", "\u00e9", "\u3000pad\u2029", "\u0085x\u00a0", "a\r\nb", "\u1e0b\u0323", "x\u200by",
              "\ufb01 \u212b", "\U0001f600 ok", "\u0915\u093c", " \x1c", None, "", "\u2126\u00c5"]  # fmt: skip
    got = normalise(pa.array(values, pa.string())).to_pylist()
    assert got == [None if v is None else ids.normalize_text(v) for v in values]


def test_line_scan_matches_the_bytes_definition():
    """The vectorised blank-line scan agrees with the plain definition on random blocks."""
    import random

    from pipelines.ingest.sources import _scan_lines

    rng = random.Random(0)
    pieces = [b'{"a": 1}', b"", b"\r", b" ", b'{"b": "x\\ny"}', b"\r\r", b"x\r"]
    for _ in range(2000):
        block = b"".join(rng.choice(pieces) + b"\n" for _ in range(rng.randint(1, 6)))
        expected = (block.count(b"\n"), b"\n\n" in block or block.startswith(b"\n") or b"\n\r\n" in block)
        assert _scan_lines(block) == expected, block


def test_may_change_flags_exactly_what_strip_or_the_cr_rule_changes():
    """The buffer-level mask equals the plain definition on random text, nulls and slices."""
    import random

    from pipelines.ingest.fast.normalise import PY_WHITESPACE, may_change

    rng = random.Random(1)
    alphabet = ["a", "Z", "é", "😀", "\r", "\n", " ", "”", "\u0301", *PY_WHITESPACE, "\u200b", "\ufeff"]
    values = [None if rng.random() < 0.05 else "".join(rng.choices(alphabet, k=rng.randint(0, 4))) for _ in range(5000)]
    expected = [v is not None and (v != v.strip() or "\r" in v) for v in values]
    arr = pa.array(values, pa.string())
    assert may_change(arr).tolist() == expected
    assert may_change(arr.slice(1234, 100)).tolist() == expected[1234:1334]
    assert may_change(pa.array([], pa.string())).tolist() == []


@pytest.mark.parametrize("tail", [b"\n", b""])  # the last line with and without its newline
def test_mapped_blocks_equal_read_blocks(tmp_path, tail):
    """Memory-mapped blocks have the same bytes as blocks read with copies, also past released pages."""
    import io
    import random

    from pipelines.ingest.sources import count_newlines, line_blocks, mapped_line_blocks

    rng = random.Random(1)
    lines = [b"x" * rng.choice([0, 1, 50, 700, 9000]) for _ in range(400)]  # some longer than a block
    data = b"\n".join(lines) + tail
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    for size in (7, 4096, 5000, 1 << 20):
        mapped = [bytes(v) for v in mapped_line_blocks(path, size, lag=1)]  # lag 1: pages released early
        assert mapped == list(line_blocks(io.BytesIO(data), size)), size
        assert sum(map(count_newlines, mapped)) == data.count(b"\n") + (not data.endswith(b"\n"))
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert list(mapped_line_blocks(tmp_path / "empty.jsonl", 4096)) == []
