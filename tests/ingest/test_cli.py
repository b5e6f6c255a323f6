"""``prefhouse ingest`` end to end through the CLI."""

from __future__ import annotations

import json

from prefhouse.cli import main
from tests.conftest import DATA
from tests.ingest.helpers import write_jsonl


def test_ingest_json_report_and_text_counts(lake, capsys):
    root = str(lake.root)
    assert main(["--lake", root, "ingest", str(DATA / "llmbar/Processed"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["read"] == 466 == out["accepted"] + out["duplicate"] + out["quarantined"]
    assert out["quarantine_reasons"] == {"empty_response": 1, "identical_responses": 1}
    assert {f["format"] for f in out["files"]} == {"llmbar"} and len(out["files"]) == 3
    assert main(["--lake", root, "ingest", str(DATA / "llmbar/Processed")]) == 0
    text = capsys.readouterr().out
    assert "read 466  accepted 0  duplicate 464  quarantined 2" in text


def test_ingest_generic_map_source_and_label_origin(lake, tmp_path, capsys):
    path = write_jsonl(tmp_path / "mine.jsonl", [{"question": "Q", "good": "yes", "bad": "no"}])
    argv = ["--lake", str(lake.root), "ingest", str(path), "--format", "generic", "--source", "mine",
            "--map", "prompt=question,chosen=good,rejected=bad", "--label-origin", "model", "--json"]  # fmt: skip
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 1
    (row,) = lake.dataset("pairs").to_table(columns=["source", "label_origin", "chosen"]).to_pylist()
    assert row == {"source": "mine", "label_origin": "model", "chosen": "yes"}


def test_ingest_errors_say_what_to_do(lake, tmp_path, capsys):
    path = write_jsonl(tmp_path / "odd.jsonl", [{"a": 1}])
    assert main(["--lake", str(lake.root), "ingest", str(path)]) == 2
    assert "--format generic --map" in capsys.readouterr().err
    assert main(["--lake", str(lake.root), "ingest", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
