"""A truncated, corrupt or empty file is reported for that file; the other files still ingest.

The reproductions of the hardening issue: a ``.jsonl.gz`` cut with ``head -c 300000``, a file
named ``.gz`` that is not gzip, an empty ``.jsonl`` and a binary file, in one folder with a good
file. The documented behaviour (docs/ingest.md): the complete rows read before a fault are kept;
the fault is one quarantine row of the file (at the row where reading stopped, the byte offset in
its detail) and an entry of ``IngestReport.faults``; ``prefhouse ingest`` then exits 3.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lake import Lake
from pipelines.ingest import ingest_paths, read_file
from pipelines.ingest.fast import FlatBlock, iter_flat
from prefhouse.cli import main
from tests.conftest import DATA
from tests.ingest.helpers import cut_copy, gzip_cut_at_line, write_jsonl

HH_TEST = DATA / "hh-rlhf/helpful-base/test.jsonl.gz"
FAULTS = ("truncated", "corrupt_file", "empty_file")
GOOD = [{"prompt": f"good {i}", "chosen": "yes", "rejected": "no"} for i in range(5)]


def _bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "good.jsonl", GOOD)
    cut_copy(HH_TEST, folder / "t.jsonl.gz", 300_000)
    (folder / "notgz.jsonl.gz").write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n')
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "x.jsonl").write_bytes(random.Random(6).randbytes(5000))
    return folder


def _decompressible(path: Path) -> bytes:
    """Every byte zlib gets out of a (cut) gzip file: what a reader can see before the fault."""
    return zlib.decompressobj(wbits=31).decompress(path.read_bytes())


def _hh_rows(n: int) -> list[dict]:
    with gzip.open(HH_TEST, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for _, line in zip(range(n), fh, strict=False)]


@pytest.mark.parametrize("fast", [True, False])
def test_folder_with_faulty_files_ingests_the_good_ones_and_reports_each_fault(lake, tmp_path, fast):
    folder = _bad_folder(tmp_path)
    seen = _decompressible(folder / "t.jsonl.gz")
    n_whole = seen.count(b"\n")  # the complete rows before the cut
    report = ingest_paths(lake, [folder], fast=fast)  # no exception escapes
    assert report.n_read == report.n_accepted + report.n_duplicate + report.n_quarantined
    faults = {Path(f["path"]).name: f for f in report.faults}
    assert {name: f["reason"] for name, f in faults.items()} == {
        "t.jsonl.gz": "truncated", "notgz.jsonl.gz": "corrupt_file", "empty.jsonl": "empty_file",
        "x.jsonl": "corrupt_file",
    }  # fmt: skip
    cut = faults["t.jsonl.gz"]
    assert (cut["row"], cut["byte"]) == (n_whole, len(seen))
    assert f"[at row {n_whole} (line {n_whole + 1}), byte {len(seen)}]" in cut["detail"]
    assert "cut short" in cut["detail"] and "300000 bytes" in cut["detail"]
    assert (faults["notgz.jsonl.gz"]["row"], faults["notgz.jsonl.gz"]["byte"]) == (0, 0)
    assert "not a gzip file" in faults["notgz.jsonl.gz"]["detail"]
    assert "binary" in faults["x.jsonl"]["detail"] and faults["x.jsonl"]["row"] == 0
    assert faults["empty.jsonl"]["detail"].startswith("the file is empty (0 bytes)")
    # the good file in full; the truncated one up to its cut; one fault row per faulty file
    assert report.reasons["truncated"] == 1 and report.reasons["empty_file"] == 1
    assert report.reasons["corrupt_file"] == 2
    files = {Path(f["path"]).name: f for f in report.files}
    assert files["good.jsonl"].get("fault") is None and files["t.jsonl.gz"]["format"] == "hh-rlhf"
    assert files["x.jsonl"]["format"] == "undetected"
    q = lake.dataset("quarantine").to_table().to_pylist()
    fault_rows = {Path(r["source_file"]).name: r for r in q if r["reason"] in FAULTS}
    assert set(fault_rows) == set(faults)
    assert fault_rows["t.jsonl.gz"]["source_row"] == n_whole
    assert fault_rows["t.jsonl.gz"]["detail"] == cut["detail"]
    assert seen.endswith(fault_rows["t.jsonl.gz"]["raw"].encode())  # the incomplete row, kept as raw text
    sightings = lake.dataset("pair_sources").to_table(columns=["source_file", "source_row"]).to_pylist()
    rows_of = {name: sorted(s["source_row"] for s in sightings if Path(s["source_file"]).name == name)
               for name in ("good.jsonl", "t.jsonl.gz")}  # fmt: skip
    assert rows_of["good.jsonl"] == list(range(len(GOOD)))
    other_q = sorted(
        r["source_row"] for r in q if r["source_file"].endswith("t.jsonl.gz") and r["reason"] not in FAULTS
    )
    assert sorted(rows_of["t.jsonl.gz"] + other_q) == list(range(n_whole))  # every complete row, each once


def test_rows_before_a_truncation_are_exactly_the_complete_rows_of_the_full_file(lake, tmp_path):
    cut = cut_copy(HH_TEST, tmp_path / "t.jsonl.gz", 300_000)
    n_whole = _decompressible(cut).count(b"\n")
    assert 0 < n_whole < 2354  # the shipped file has 2354 rows
    kept = list(read_file(cut))
    assert kept[-1].reason == "truncated" and kept[-1].source_row == n_whole
    assert [item.source_row for item in kept[:-1]] == list(range(n_whole))
    # the same rows as the first n_whole rows of the whole file, pair for pair
    full = write_jsonl(tmp_path / "head.jsonl", _hh_rows(n_whole))
    assert [_summary(i) for i in kept[:-1]] == [_summary(i) for i in read_file(full)]
    report = ingest_paths(lake, [cut])
    assert report.n_read == n_whole + 1 and report.reasons["truncated"] == 1
    again = ingest_paths(lake, [cut])  # re-ingest: nothing new, the same fault reported
    assert (again.n_accepted, again.n_new_sightings, again.n_new_quarantine) == (0, 0, 0)
    assert [f["row"] for f in again.faults] == [n_whole]


def _summary(item):
    return (item.source_row, getattr(item, "reason", None), getattr(item, "chosen", None))


@pytest.mark.parametrize("keep", [0, 1, 37, 40])
def test_truncation_at_a_line_boundary_keeps_every_row_on_both_paths(tmp_path, keep):
    rows = [json.dumps({"prompt": f"p{i}", "chosen": f"c{i}", "rejected": f"r{i}"}).encode() + b"\n" for i in range(40)]
    path = gzip_cut_at_line(tmp_path / "cut.jsonl.gz", rows, keep)
    results = []
    for fast in (True, False):
        lake = Lake(tmp_path / f"lake-{fast}")
        report = ingest_paths(lake, [path], fast=fast)
        (fault,) = report.faults
        assert (fault["reason"], fault["row"], fault["byte"]) == ("truncated", keep, sum(map(len, rows[:keep])))
        assert "incomplete" not in fault["detail"]  # the cut fell between rows: no row lost
        assert (report.n_read, report.n_accepted, report.n_quarantined) == (keep + 1, keep, 1)
        pairs = lake.dataset("pairs").to_table(columns=["pair_id", "source_row"]).to_pylist() if keep else []
        results.append(sorted((p["source_row"], p["pair_id"]) for p in pairs))
    assert results[0] == results[1] and [r for r, _ in results[0]] == list(range(keep))


def test_fast_path_over_many_blocks_ends_with_the_row_paths_fault(tmp_path):
    rows = [{"prompt": f"p{i}", "chosen": f"c{i}", "rejected": f"r{i}"} for i in range(3000)]
    packed = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
    path = tmp_path / "flat.jsonl.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    fast: list[tuple] = []
    for item in iter_flat(path, block_bytes=4096):  # many blocks, on the block threads
        if isinstance(item, FlatBlock):
            fast += [(r, None) for r in item.source_row.to_pylist()] + [(r.source_row, r.reason) for r in item.others]
        else:
            fast.append((item.source_row, getattr(item, "reason", None)))
    row = [(item.source_row, getattr(item, "reason", None)) for item in read_file(path, "flat")]
    assert sorted(fast) == row and row[-1][1] == "truncated"
    assert row[-1][0] == _decompressible(path).count(b"\n") > 1000


def _csv_gz(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, ["prompt", "chosen", "rejected"])
    writer.writeheader()
    writer.writerows(rows)
    return gzip.compress(buf.getvalue().encode())


def _faulty_files(tmp_path: Path) -> dict[str, tuple[Path, str, str]]:
    """name -> (file, --format, the expected reason): a fault of each container."""
    rows = [{"prompt": f"p{i}", "chosen": f"c{i}", "rejected": f"r{i}"} for i in range(500)]
    out: dict[str, tuple[Path, str, str]] = {}

    def put(name: str, data: bytes, fmt: str, reason: str) -> None:
        (tmp_path / name).write_bytes(data)
        out[name] = (tmp_path / name, fmt, reason)

    packed = _csv_gz(rows)
    put("cut.csv.gz", packed[: len(packed) // 2], "generic", "truncated")
    doc = json.dumps(rows).encode()
    put("cut.json", doc[: len(doc) // 2], "flat", "truncated")
    put("cut.json.gz", gzip.compress(doc)[:2000], "flat", "truncated")
    damaged = bytearray(gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in rows)))
    damaged[-6] ^= 0xFF  # the CRC / length trailer
    put("crc.jsonl.gz", bytes(damaged), "flat", "corrupt_file")
    put("fake.parquet", b"PAR1 not really", "flat", "corrupt_file")
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    put("cut.parquet", buf.getvalue()[:300], "flat", "corrupt_file")
    latin1 = '{"prompt": "caf\xe9", "chosen": "a", "rejected": "b"}\n'.encode("latin-1")
    put("latin1.jsonl", latin1, "auto", "corrupt_file")
    put("latin1.csv", "prompt,chosen,rejected\ncaf\xe9,a,b\n".encode("latin-1"), "generic", "corrupt_file")
    put("nul.jsonl", b'{"prompt": "p", "chosen": "a", "rejected": "b"}\n\x00\x01\x02\n', "flat", "corrupt_file")
    put("header.csv", b"prompt,chosen,rejected\n", "generic", "empty_file")
    put("empty.json", b"[]", "flat", "empty_file")
    put("blank.jsonl", b"\n \n\t\n", "flat", "empty_file")
    put("nothing.jsonl.gz", gzip.compress(b""), "auto", "empty_file")
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows).slice(0, 0), buf)
    put("none.parquet", buf.getvalue(), "flat", "empty_file")
    return out


def test_each_container_reports_its_fault_and_keeps_what_it_can(lake, tmp_path):
    cases = _faulty_files(tmp_path)
    mapping = "prompt=prompt,chosen=chosen,rejected=rejected"
    for name, (path, fmt, reason) in cases.items():
        kw = {"column_map": mapping} if fmt == "generic" else {}
        report = ingest_paths(lake, [path], format="auto" if fmt == "generic" else fmt, **kw)
        assert [f["reason"] for f in report.faults] == [reason], (name, report.faults)
        assert report.n_read == report.n_accepted + report.n_duplicate + report.n_quarantined, name
        fault = report.faults[0]
        assert f"[at row {fault['row']}" in fault["detail"], name
        if name == "cut.csv.gz":  # the records before the cut are read, the incomplete one is not
            seen = _decompressible(path).decode()
            complete = seen[: seen.rfind("\n") + 1].count("\n") - 1  # less the header
            assert fault["row"] == complete and report.n_accepted == complete > 100, (fault, report.n_accepted)
            assert "incomplete" in fault["detail"]
        elif name == "crc.jsonl.gz":  # the damage shows at the end: every row was read
            assert fault["row"] == 500 and report.n_read == 501 and "damaged" in fault["detail"]
        elif name == "nul.jsonl":
            assert "NUL byte on line 2" in fault["detail"] and report.n_read == 1
        elif name == "latin1.jsonl":
            assert "not UTF-8" in fault["detail"] and "--format" in fault["detail"]
        else:
            assert fault["row"] == 0 and report.n_accepted == 0, (name, fault)


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_names_each_faulty_file_and_exits_3_without_a_traceback(lake, tmp_path, capsys):
    folder = _bad_folder(tmp_path)
    code, out, err = _cli(["--lake", str(lake.root), "ingest", str(folder)], capsys)
    assert code == 3
    assert "Traceback" not in out + err and "EOFError" not in out + err
    for name, reason in (("t.jsonl.gz", "truncated"), ("notgz.jsonl.gz", "corrupt_file"),
                         ("empty.jsonl", "empty_file"), ("x.jsonl", "corrupt_file")):  # fmt: skip
        (line,) = [x for x in out.splitlines() if f"faulty file {folder / name}:" in x]
        assert f": {reason}: " in line and "[at row " in line
    assert "4 of 5 files truncated, corrupt or empty" in err and "exit code 3" in err
    first = next(x for x in out.splitlines() if x.startswith("read "))
    n_read, accepted, duplicate, quarantined = (int(first.split()[i]) for i in (1, 3, 5, 7))
    assert n_read == accepted + duplicate + quarantined and accepted > len(GOOD)
    code, out, _ = _cli(["--lake", str(lake.root), "ingest", str(folder), "--json"], capsys)
    report = json.loads(out)
    assert code == 3 and {Path(f["path"]).name for f in report["faults"]} == {
        "t.jsonl.gz", "notgz.jsonl.gz", "empty.jsonl", "x.jsonl"}  # fmt: skip
    assert report["accepted"] == 0 and report["new_quarantine_rows"] == 0  # a re-run adds nothing
    code, _, err = _cli(["--lake", str(lake.root), "ingest", str(folder / "good.jsonl")], capsys)
    assert code == 0 and "warning" not in err
