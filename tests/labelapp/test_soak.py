"""A bounded soak (issue 16): concurrent ingests in two processes, a loop of SQL queries, and label
posts from two annotators through the app, all at once for a fixed time on loopback; then every
count reconciles and nothing is lost."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from lake.sql import query

SOAK_SECONDS = 8
REPO = Path(__file__).resolve().parents[2]

INGESTER = """
import json, sys, time
from pathlib import Path
from lake import Lake
from pipelines.ingest.writer import ingest_paths

root, name, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
folder = Path(sys.argv[4])
deadline, done = time.monotonic() + seconds, []
while time.monotonic() < deadline or not done:
    path = folder / f"{name}-{len(done)}.jsonl"
    rows = [{"prompt": f"{name} file {len(done)} row {i}", "chosen": "yes", "rejected": "no"} for i in range(150)]
    path.write_text("".join(json.dumps(r) + "\\n" for r in rows))
    report = ingest_paths(Lake(root), [path])
    done.append(report.n_accepted)
print(json.dumps(done))
"""

SNAPSHOT = """
select (select count(*) from pairs) as pairs,
       (select count(*) from pair_sources) as sightings,
       (select coalesce(sum(n_accepted), 0) from ingest_batches) as accepted,
       (select count(*) from human_labels) as labels
"""


def test_ingests_queries_and_labels_at_once_lose_nothing(queued_lake, serve, page_client, tmp_path):
    lake = queued_lake
    seeded = lake.dataset("pairs").count_rows()  # the queued pairs, written without sightings
    client = page_client(serve(lake))
    ingesters = [
        subprocess.Popen(
            [sys.executable, "-c", INGESTER, str(lake.root), name, str(SOAK_SECONDS), str(tmp_path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("ingest-a", "ingest-b")
    ]
    stop = threading.Event()
    posted: dict[str, int] = {"ann-1": 0, "ann-2": 0}
    refused: list[str] = []
    snapshots: list[dict] = []
    errors: list[BaseException] = []

    def annotate(annotator: str) -> None:
        ids = [r["pair_id"] for r in lake.rows[:4]]  # the human-routed pairs; relabels are allowed
        i = 0
        while not stop.is_set():
            resp = client.label({"annotator": annotator, "pair_id": ids[i % len(ids)], "answer": "AB"[i % 2]})
            if resp.status_code == 200:
                posted[annotator] += 1
            else:
                refused.append(f"{resp.status_code} {resp.text[:200]}")
            i += 1

    def ask() -> None:
        while not stop.is_set():
            snapshots.append(query(lake, SNAPSHOT).to_pylist()[0])

    def guarded(fn, *args):
        def run():
            try:
                fn(*args)
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)

        return threading.Thread(target=run)

    threads = [guarded(annotate, "ann-1"), guarded(annotate, "ann-2"), guarded(ask)]
    for t in threads:
        t.start()
    outs = [p.communicate(timeout=300) for p in ingesters]
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(timeout=120)

    assert not errors and not refused, (errors, refused[:3])
    assert all(p.returncode == 0 for p in ingesters), [err[-2000:] for _, err in outs]
    accepted = [n for out, _ in outs for n in json.loads(out)]
    assert len(accepted) >= 2 and all(n == 150 for n in accepted)
    assert len(snapshots) > 3 and all(v > 0 for v in posted.values())
    for snap in snapshots:  # every query saw one commit: pairs, sightings and batches agree
        assert snap["sightings"] == snap["accepted"] == snap["pairs"] - seeded, snap
    for earlier, later in itertools.pairwise(snapshots):  # and the lake only grows
        assert all(later[k] >= earlier[k] for k in earlier), (earlier, later)
    final = query(lake, SNAPSHOT).to_pylist()[0]
    assert final["accepted"] == sum(accepted) and final["pairs"] == seeded + sum(accepted)
    labels = lake.dataset("human_labels").to_table(columns=["annotator"]).column("annotator").to_pylist()
    assert {a: labels.count(a) for a in posted} == posted  # every label the app acknowledged is stored
