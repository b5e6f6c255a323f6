"""Fixtures for the annotation tests: a lake with a few pairs and a fake OpenAI server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def small_lake(lake):
    """A lake with 6 factual pairs whose chosen side contains GOOD."""
    from lake.records import pair_row, pairs_table

    rows = [
        pair_row(f"What is {i} + {i}?", f"GOOD: it is {2 * i}.", f"It is {2 * i + 1}.", source_row=i) for i in range(6)
    ]
    lake.append("pairs", pairs_table(rows))
    return lake
