"""KnownIds is a set of 128-bit hex ids: it agrees with a Python set, op for op."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pyarrow as pa
import pytest

from pipelines.ingest import known
from pipelines.ingest.known import KnownIds, id_words


def _ids(n: int, seed: int) -> list[str]:
    out = [hashlib.sha256(f"{seed}-{i}".encode()).hexdigest()[:32] for i in range(n)]
    # ids sharing their first 64 bits (or their last): the two words must both be compared
    out += [out[0][:16] + out[i][16:] for i in range(1, n // 10)]
    out += [out[i][:16] + out[1][16:] for i in range(2, n // 10)]
    return out


def test_agrees_with_a_python_set(monkeypatch):
    monkeypatch.setattr(known, "FOLD_ROWS", 50)  # fold the row path's ids into levels often
    rng = random.Random(0)
    pool = _ids(3000, seed=1)
    in_lake = rng.sample(pool, 400)
    ref, got = set(in_lake), KnownIds([pa.array(in_lake[:200]), pa.array(in_lake[200:])])
    for _ in range(300):
        if rng.random() < 0.5:  # a column-wise block, with repeats inside it
            block = [rng.choice(pool) for _ in range(rng.randint(0, 40))]
            expected = []
            for pid in block:
                expected.append(pid not in ref)
                ref.add(pid)
            assert got.mark_new(pa.array(block, pa.string())).tolist() == expected
        else:  # the row path: one id at a time
            pid = rng.choice(pool)
            assert (pid in got) == (pid in ref)
            if pid not in ref:
                got.add(pid)
                ref.add(pid)
    assert len(got) == len(ref)
    assert [pid in got for pid in pool] == [pid in ref for pid in pool]
    assert len(got.levels) <= 12  # levels of similar size are merged


def test_sixteen_bytes_an_id_and_levels_sorted_by_the_first_word():
    ids = _ids(5000, seed=2)
    k = KnownIds()
    for i in range(0, len(ids), 97):
        k.mark_new(pa.array(ids[i : i + 97]))
    assert sum(h.nbytes + lo.nbytes for h, lo in k.levels) == 16 * len(set(ids))
    for h, _lo in k.levels:
        assert (np.diff(h.astype(np.float64)) >= 0).all() and (h[1:] >= h[:-1]).all()


def test_words_are_the_hex_digits():
    pid = "0123456789abcdef" + "fedcba9876543210"
    hi, lo = id_words(pa.array([pid, pid], pa.string()).slice(1))  # an array with an offset
    assert (int(hi[0]), int(lo[0])) == (0x0123456789ABCDEF, 0xFEDCBA9876543210)


@pytest.mark.parametrize("bad", ["abc", "0123456789ABCDEF0123456789abcdef", "g" * 32, None])
def test_malformed_ids_are_refused(bad):
    with pytest.raises(ValueError, match="hex"):
        id_words(pa.array(["0" * 32, bad], pa.string()))
