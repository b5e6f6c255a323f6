"""The byte scan that clears values from the NFC check never clears a value that is not NFC."""

from __future__ import annotations

import random
import unicodedata

import numpy as np
import pyarrow as pa
import pytest

from pipelines.ingest.fast import nfcscan


def _not_nfc(values: list[str]) -> set[int]:
    return {i for i, v in enumerate(values) if not unicodedata.is_normalized("NFC", v)}


def test_shipped_ranges_are_the_derived_set():
    text = nfcscan.UNSAFE_RANGES.get(unicodedata.unidata_version)
    if text is None:
        pytest.skip(f"no ranges shipped for Unicode {unicodedata.unidata_version}: they are derived at run time")
    assert nfcscan.parse_ranges(text) == nfcscan.unsafe_codepoints()


@pytest.fixture(params=["scan", "dense"])
def mode(request, monkeypatch):
    """Force the numpy scan (sparse) or the every-non-ASCII-value fallback (dense)."""
    monkeypatch.setattr(nfcscan, "DENSE_BYTES_PER_CHAR", 0 if request.param == "scan" else 10**9)
    return request.param


def test_every_single_code_point(mode):
    """Each code point alone, after a letter, and before a combining mark."""
    cps = [cp for cp in range(0x80, 0x110000) if not 0xD800 <= cp <= 0xDFFF]
    values = [s for cp in cps for s in (chr(cp), "e" + chr(cp), chr(cp) + "\u0301x")]
    suspects = set(nfcscan.nfc_suspects(pa.array(values, pa.string())).tolist())
    assert _not_nfc(values) <= suspects


def test_random_mixes_of_composing_characters(mode):
    """Strings of characters that have or take part in canonical decompositions, Hangul and CJK."""
    pool = {
        c for c in map(chr, range(0x80, 0x30000)) if unicodedata.decomposition(c) and not 0xD800 <= ord(c) <= 0xDFFF
    }
    pool |= {chr(int(p, 16)) for c in list(pool) for p in unicodedata.decomposition(c).split() if not p.startswith("<")}
    pool |= set(map(chr, range(0x1100, 0x1200))) | {"\uac00", "\uac01", "\u4e00", "\U0001f600", "a", "e", " ", "\n"}
    pool_list = sorted(pool)
    rng = random.Random(0)
    values = ["".join(rng.choice(pool_list) for _ in range(rng.randint(1, 5))) for _ in range(200_000)]
    values += [f"plain {v} text" for v in values[:50_000]]
    arr = pa.array(values, pa.string())
    assert _not_nfc(values) <= set(nfcscan.nfc_suspects(arr).tolist())
    sliced = arr.slice(1000, 5000)  # an array with an offset into its buffers
    got = set(nfcscan.nfc_suspects(sliced).tolist())
    assert {i for i, v in enumerate(values[1000:6000]) if not unicodedata.is_normalized("NFC", v)} <= got


def test_sparse_text_is_scanned_and_cleared():
    """English with curly quotes and dashes: no value is sent to Python; one real case is."""
    text = "The quick brown fox said \u201chi\u201d to the lazy dog, who didn\u2019t answer \u2014 twice. " * 3
    values = [text] * 1000 + ["Cafe\u0301 au lait, " + "plain words " * 30, None, "ascii only"]
    suspects = nfcscan.nfc_suspects(pa.array(values, pa.string()))
    assert suspects.tolist() == [1000]


def test_dense_text_falls_back_to_every_non_ascii_value():
    values = ["\u4e2d\u6587\u6587\u672c" * 30] * 10 + ["ascii"]
    assert nfcscan.nfc_suspects(pa.array(values, pa.string())).tolist() == list(range(10))


def test_empty_and_null_arrays():
    assert nfcscan.nfc_suspects(pa.array([], pa.string())).tolist() == []
    assert nfcscan.nfc_suspects(pa.array([None, None], pa.string())).tolist() == []
    assert isinstance(nfcscan.nfc_suspects(pa.array(["x"], pa.string())), np.ndarray)
