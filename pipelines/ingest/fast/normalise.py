"""Text normalisation over string columns: :func:`lake.ids.normalize_text`, done in Python only where it can change.

Only values with Python whitespace at an end, a ``\\r``, or non-ASCII text that is not NFC go
through ``normalize_text``; the first two are read straight from the Arrow string buffers with
numpy (each value's first and last bytes, one scan for ``\\r``), the NFC candidates are narrowed
by :func:`pipelines.ingest.fast.nfcscan.nfc_suspects`. The result is put back with a mask.
"""

from __future__ import annotations

from collections.abc import Callable
from unicodedata import is_normalized

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lake.ids import normalize_text
from pipelines.ingest.fast.nfcscan import nfc_suspects

_ASCII_WS = "\t\n\x0b\x0c\r \x1c\x1d\x1e\x1f"  # the ASCII characters for which str.isspace() is true
# every character for which str.isspace() is true (tested against Python)
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def _patch(arr: pa.Array, mask: pa.Array, fn: Callable[[str], str]) -> pa.Array:
    """``arr`` with ``fn`` applied (in Python) to the rows where ``mask`` is true."""
    if not pc.any(mask).as_py():
        return arr
    values = [fn(s) for s in arr.filter(mask).to_pylist()]
    return pc.replace_with_mask(arr, mask, pa.array(values, pa.string()))


_IS_ASCII_WS = np.zeros(256, dtype=bool)
_IS_ASCII_WS[[ord(c) for c in _ASCII_WS]] = True
# the UTF-8 codes (2 or 3 bytes, read big-endian) of the non-ASCII characters in PY_WHITESPACE
_WS_CODES = {
    n: np.array([int.from_bytes(e, "big") for c in PY_WHITESPACE if len(e := c.encode()) == n], dtype=np.int64)
    for n in (2, 3)
}
assert sum(len(v) for v in _WS_CODES.values()) == sum(ord(c) >= 128 for c in PY_WHITESPACE)


def _utf8_codes(data: np.ndarray, at: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` bytes of ``data`` from each position in ``at``, as one big-endian integer."""
    out = np.zeros(len(at), dtype=np.int64)
    for k in range(n):
        out = (out << 8) | data[np.minimum(at + k, len(data) - 1)]
    return out


def may_change(arr: pa.Array) -> np.ndarray:
    """Rows whose text ``str.strip`` or the ``\\r`` rule may change (bool; nulls are False).

    Read straight from the string buffers: a Python whitespace character at either end, or a
    ``\\r`` anywhere. Only each value's first and last bytes and one scan for ``\\r`` are read.
    """
    arr = arr.cast(pa.string()) if not pa.types.is_string(arr.type) else arr
    out = np.zeros(len(arr), dtype=bool)
    _, offsets_buf, data_buf = arr.buffers()
    if data_buf is None or not len(arr):
        return out
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8)
    rows = np.flatnonzero(offsets[1:] > offsets[:-1])
    starts, ends = offsets[rows], offsets[rows + 1]
    first, last = data[starts], data[ends - 1]
    flag = _IS_ASCII_WS[first] | _IS_ASCII_WS[last]
    for at_start, high in ((True, first >= 0x80), (False, last >= 0x80)):
        sub = np.flatnonzero(high)  # a multi-byte character at this end: is it whitespace?
        for n, codes in _WS_CODES.items():
            pos = starts[sub] if at_start else ends[sub] - n
            fits = ends[sub] - starts[sub] >= n
            flag[sub] |= fits & np.isin(_utf8_codes(data, pos, n), codes)
    out[rows] = flag
    carriage = np.flatnonzero(data[offsets[0] : offsets[-1]] == 13) + offsets[0]
    if len(carriage):
        out[np.searchsorted(offsets, carriage, side="right") - 1] = True
    if arr.null_count:
        out &= arr.is_valid().to_numpy(zero_copy_only=False)
    return out


def normalise(arr: pa.Array, fn: Callable[[str], str] = normalize_text) -> pa.Array:
    """normalize_text over a string array; nulls stay null.

    Only values that ``fn`` may change go through it: those with Python whitespace
    (``str.isspace``: Unicode's White_Space plus ``\\x1c``-``\\x1f``) at an end, a ``\\r``
    (:func:`may_change`), or non-ASCII text that is not already NFC (``unicodedata.is_normalized``,
    asked only of the values :func:`nfcscan.nfc_suspects` cannot clear from their bytes).
    """
    changes = may_change(arr)
    suspects = nfc_suspects(arr)
    if len(suspects):
        values = arr.take(pa.array(suspects)).to_pylist()
        changes[suspects[[not is_normalized("NFC", v) for v in values]]] = True
    return _patch(arr, pa.array(changes), fn)
