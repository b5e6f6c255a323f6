"""``prefhouse validate``: exit code, the failing expectation named, results written."""

from __future__ import annotations

from lake.records import pair_row, pairs_table
from prefhouse.cli import main


def test_validate_names_the_failure_and_exits_1(lake, capsys):
    good = [pair_row(f"q{i}", f"answer {i}", f"other {i}") for i in range(10)]
    bad = pair_row("q-bad", "same", "same")
    lake.append("pairs", pairs_table([*good, bad]))
    assert main(["--lake", str(lake.root), "validate"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "expect_column_values_to_be_in_set(column=is_identical" in out and bad["pair_id"] in out
    assert (lake.root / "_quality" / "validate" / "index.html").exists()


def test_validate_passes_on_a_clean_lake(lake, capsys):
    lake.append("pairs", pairs_table([pair_row(f"q{i}", f"answer {i}", f"other {i}") for i in range(10)]))
    assert main(["--lake", str(lake.root), "validate", "--name", "clean"]) == 0
    assert "PASSED" in capsys.readouterr().out
