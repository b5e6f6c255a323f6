"""Which values of a string array need the NFC check at all, read from the UTF-8 bytes.

A text is already NFC when it contains none of the code points of :func:`unsafe_codepoints`
(those with a non-zero combining class, those that NFC changes on their own, those that can
compose with the character before them, and the Hangul vowel and trailing jamo): each other
character is its own NFC and nothing can compose across it. So only the values that contain
one of them go through ``unicodedata.is_normalized`` in Python.

The scan pays when non-ASCII characters are sparse: English with a curly quote per 140 bytes,
0.006 s against 0.027 s for 50k values. On dense text it loses (CJK 2.5-10x slower, Cyrillic
3x, English with three curly quotes and dashes per 25 bytes 1.75x), since every character
becomes a few integers in numpy, so there every non-ASCII value goes to Python as before
(:func:`nfc_suspects` picks per array, at one non-ASCII character per 16 bytes; German, one
per 8 bytes, where the scan still won 0.018 s against 0.034 s, stays on the Python side).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# unsafe_codepoints() for Unicode 14.0.0 (Python 3.11), as hex ranges; a test pins it
UNSAFE_RANGES = {
    "14.0.0": """
    300-34E 350-36F 374 37E 387 483-487 591-5BD 5BF 5C1-5C2 5C4-5C5 5C7 610-61A 64B-65F 670 6D6-6DC
    6DF-6E4 6E7-6E8 6EA-6ED 711 730-74A 7EB-7F3 7FD 816-819 81B-823 825-827 829-82D 859-85B 898-89F
    8CA-8E1 8E3-8FF 93C 94D 951-954 958-95F 9BC 9BE 9CD 9D7 9DC-9DD 9DF 9FE A33 A36 A3C A4D A59-A5B
    A5E ABC ACD B3C B3E B4D B56-B57 B5C-B5D BBE BCD BD7 C3C C4D C55-C56 CBC CC2 CCD CD5-CD6 D3B-D3C
    D3E D4D D57 DCA DCF DDF E38-E3A E48-E4B EB8-EBA EC8-ECB F18-F19 F35 F37 F39 F43 F4D F52 F57 F5C
    F69 F71-F76 F78 F7A-F7D F80-F84 F86-F87 F93 F9D FA2 FA7 FAC FB5 FB7 FB9 FC6 102E 1037 1039-103A
    108D 1161-1175 11A8-11C2 135D-135F 1714-1715 1734 17D2 17DD 18A9 1939-193B 1A17-1A18 1A60
    1A75-1A7C 1A7F 1AB0-1ABD 1ABF-1ACE 1B34-1B35 1B44 1B6B-1B73 1BAA-1BAB 1BE6 1BF2-1BF3 1C37
    1CD0-1CD2 1CD4-1CE0 1CE2-1CE8 1CED 1CF4 1CF8-1CF9 1DC0-1DFF 1F71 1F73 1F75 1F77 1F79 1F7B 1F7D
    1FBB 1FBE 1FC9 1FCB 1FD3 1FDB 1FE3 1FEB 1FEE-1FEF 1FF9 1FFB 1FFD 2000-2001 20D0-20DC 20E1
    20E5-20F0 2126 212A-212B 2329-232A 2ADC 2CEF-2CF1 2D7F 2DE0-2DFF 302A-302F 3099-309A A66F
    A674-A67D A69E-A69F A6F0-A6F1 A806 A82C A8C4 A8E0-A8F1 A92B-A92D A953 A9B3 A9C0 AAB0 AAB2-AAB4
    AAB7-AAB8 AABE-AABF AAC1 AAF6 ABED F900-FA0D FA10 FA12 FA15-FA1E FA20 FA22 FA25-FA26 FA2A-FA6D
    FA70-FAD9 FB1D-FB1F FB2A-FB36 FB38-FB3C FB3E FB40-FB41 FB43-FB44 FB46-FB4E FE20-FE2F 101FD 102E0
    10376-1037A 10A0D 10A0F 10A38-10A3A 10A3F 10AE5-10AE6 10D24-10D27 10EAB-10EAC 10F46-10F50
    10F82-10F85 11046 11070 1107F 110B9-110BA 11100-11102 11127 11133-11134 11173 111C0 111CA
    11235-11236 112E9-112EA 1133B-1133C 1133E 1134D 11357 11366-1136C 11370-11374 11442 11446 1145E
    114B0 114BA 114BD 114C2-114C3 115AF 115BF-115C0 1163F 116B6-116B7 1172B 11839-1183A 11930
    1193D-1193E 11943 119E0 11A34 11A47 11A99 11C3F 11D42 11D44-11D45 11D97 16AF0-16AF4 16B30-16B36
    16FF0-16FF1 1BC9E 1D15E-1D169 1D16D-1D172 1D17B-1D182 1D185-1D18B 1D1AA-1D1AD 1D1BB-1D1C0
    1D242-1D244 1E000-1E006 1E008-1E018 1E01B-1E021 1E023-1E024 1E026-1E02A 1E130-1E136 1E2AE
    1E2EC-1E2EF 1E8D0-1E8D6 1E944-1E94A 2F800-2FA1D
""",
}
# numpy scans an array when its non-ASCII values hold fewer than one character start per this
# many bytes: the scan costs about 20-35 ns per character, decoding in Python 2.5-3.5 ns per byte
DENSE_BYTES_PER_CHAR = 16


def unsafe_codepoints() -> set[int]:
    """Code points whose presence means a text may not be NFC (derived from :mod:`unicodedata`)."""
    out = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul V and T jamo compose
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if unicodedata.combining(ch) or unicodedata.normalize("NFC", ch) != ch:
            out.add(cp)
        decomposition = unicodedata.decomposition(ch)
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                out.add(int(parts[1], 16))  # composes with the character before it
    return out


def parse_ranges(text: str) -> set[int]:
    out: set[int] = set()
    for item in text.split():
        lo, _, hi = item.partition("-")
        out.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return out


@lru_cache(maxsize=1)
def _unsafe_table() -> np.ndarray:
    text = UNSAFE_RANGES.get(unicodedata.unidata_version)
    codes = parse_ranges(text) if text is not None else unsafe_codepoints()  # another Python: derive (0.3 s)
    table = np.zeros(0x110000, dtype=bool)
    table[np.fromiter(codes, dtype=np.int64)] = True
    return table


def _unsafe_rows(offsets: np.ndarray, data: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """Indices (sorted) of the rows holding a character of the unsafe set, from its lead bytes."""
    last = len(data) - 1
    b0 = data[leads].astype(np.int32)
    b1 = (data[np.minimum(leads + 1, last)] & 0x3F).astype(np.int32)
    b2 = (data[np.minimum(leads + 2, last)] & 0x3F).astype(np.int32)
    cp = np.where(b0 < 0xE0, ((b0 & 0x1F) << 6) | b1, ((b0 & 0x0F) << 12) | (b1 << 6) | b2)
    four = np.flatnonzero(b0 >= 0xF0)
    if len(four):
        b3 = (data[np.minimum(leads[four] + 3, last)] & 0x3F).astype(np.int32)
        cp[four] = ((b0[four] & 0x07) << 18) | (b1[four] << 12) | (b2[four] << 6) | b3
    hits = leads[_unsafe_table()[cp]]
    return np.unique(np.searchsorted(offsets, hits, side="right") - 1)


def nfc_suspects(arr: pa.Array) -> np.ndarray:
    """Row indices of the values that may not be NFC (a superset; nulls and ASCII never are)."""
    non_ascii = pc.invert(pc.string_is_ascii(arr)).fill_null(False).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(non_ascii)
    if not len(rows):
        return rows
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8)
    span = data[offsets[0] : offsets[-1]]
    is_lead = span >= 0xC2  # UTF-8 lead bytes of 2-4 byte characters (pyarrow strings are valid UTF-8)
    n_chars = int(np.count_nonzero(is_lead))
    non_ascii_bytes = int((offsets[rows + 1] - offsets[rows]).sum())
    if n_chars * DENSE_BYTES_PER_CHAR > non_ascii_bytes:
        return rows  # dense: decoding each value in Python is cheaper
    leads = np.flatnonzero(is_lead) + offsets[0]
    return _unsafe_rows(offsets, data, leads)
