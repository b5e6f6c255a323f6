"""Writers for small test files in the exact layout of the real (unshipped) datasets."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any


def write_jsonl(path: Path, rows: list[Any], gz: bool = False) -> Path:
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_arena_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    fields = ["id", "model_a", "model_b", "prompt", "response_a", "response_b",
              "winner_model_a", "winner_model_b", "winner_tie"]  # fmt: skip
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()})
    return path


def hh(prompt: str, chosen: str, rejected: str) -> dict[str, str]:
    return {
        "chosen": f"\n\nHuman: {prompt}\n\nAssistant: {chosen}",
        "rejected": f"\n\nHuman: {prompt}\n\nAssistant: {rejected}",
    }


def cut_copy(src: Path, dst: Path, n_bytes: int) -> Path:
    """The first ``n_bytes`` of ``src`` written to ``dst`` (``head -c N src > dst``)."""
    with open(src, "rb") as fh:
        dst.write_bytes(fh.read(n_bytes))
    return dst


def gzip_cut_at_line(path: Path, lines: list[bytes], keep: int) -> Path:
    """A gzip of ``lines`` cut exactly after the first ``keep`` of them (a full flush there, then nothing)."""
    import zlib

    z = zlib.compressobj(wbits=31)
    head = z.compress(b"".join(lines[:keep])) + z.flush(zlib.Z_FULL_FLUSH)
    path.write_bytes(head)
    return path
