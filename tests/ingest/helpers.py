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
