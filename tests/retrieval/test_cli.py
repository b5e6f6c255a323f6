"""The commands end to end on a small lake: embed --neardup, retrieve --gold-probs, nearest."""

from __future__ import annotations

import argparse
import json

import pytest

from prefhouse.commands import embed


def _cli(lake, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="prefhouse")
    parser.add_argument("--lake")
    embed.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--lake", str(lake.root), *argv])
    return args.func(args)


def test_embed_neardup_retrieve_nearest(small_lake, tmp_path, capsys):
    lake, rows = small_lake
    assert _cli(lake, "embed", "--neardup", "--json", "--no-progress") == 0
    embedded, clustered = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert embedded["n_embedded"] == len(rows) and clustered["n_clusters"] == 3
    csv = tmp_path / "gold.csv"
    csv.write_text(f"{rows[0]['pair_id']},0.6\n")
    assert _cli(lake, "retrieve", "--round", "3", "--gold-probs", str(csv), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["round"], report["n_anchors"], report["k_total"], report["n_candidates"]) == (3, 1, 4, 4)
    assert _cli(lake, "nearest", rows[0]["pair_id"], "-k", "2", "--json") == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits[0]["similarity"] >= hits[1]["similarity"] > 0.9
    assert {h["pair_id"] for h in hits} == {rows[1]["pair_id"], rows[2]["pair_id"]}


def test_retrieve_requires_a_round(lake):
    with pytest.raises(SystemExit):
        _cli(lake, "retrieve")
