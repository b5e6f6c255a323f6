"""The labelling app's JSON API over real HTTP, the token rule, and the label importers."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from lake.records import pair_row, pairs_table
from pipelines.labelapp import queue
from pipelines.labelapp.importers import export_label_studio, import_label_studio, import_original
from pipelines.labelapp.server import LabelApp


def _labels(lake):
    return lake.dataset("human_labels").to_table().to_pylist()


def test_queue_order_answers_and_no_label_leak(app_server, client):
    _, lake = app_server
    by_id = {r["pair_id"]: i for i, r in enumerate(lake.rows)}
    seen, shown_first = [], {}
    while True:
        item = client.next("ann").json()
        if item.get("done"):
            break
        assert "chosen" not in json.dumps(item).lower().replace("chosen answer", "")  # no label field
        assert set(item["responses"]) == {"A", "B"} and item["round"] == 2
        seen.append(by_id[item["pair_id"]])
        if by_id[item["pair_id"]] == 2:
            assert "PRECHECK-OK" in json.dumps(item["precheck"])
        chosen_letter = "A" if item["responses"]["A"].startswith("CHOSEN") else "B"
        shown_first[item["pair_id"]] = chosen_letter == "A"
        resp = client.label(
            {
                "annotator": "ann",
                "pair_id": item["pair_id"],
                "answer": chosen_letter,
                "note": "n",
                "tools": ["search", "x", "search"],
            }
        )
        assert resp.status_code == 200
    assert seen == [2, 1, 3, 0]  # objective first, then low controversy; the judge-routed pair is not here
    labels = _labels(lake)
    assert {r["verdict"] for r in labels} == {"chosen"} and all(r["round"] == 2 for r in labels)
    assert all(r["tools"] == ["search"] and r["annotator"] == "ann" and r["origin"] == "app" for r in labels)
    assert {r["pair_id"]: r["is_chosen_shown_first"] for r in labels} == shown_first  # the order the page showed
    bad = client.label({"annotator": "ann", "pair_id": "nope", "answer": "A"})
    assert bad.status_code == 400 and "unknown pair_id" in bad.json()["error"]


def test_token_is_required_beyond_loopback(queued_lake, serve, page_client):
    with pytest.raises(ValueError, match="PREFHOUSE_LABEL_TOKEN or pass --token-file"):
        LabelApp(queued_lake).make_server("0.0.0.0", 0)
    with pytest.raises(ValueError, match="at least 16"):
        LabelApp(queued_lake, token="s3cret")  # a guessable token is no protection
    token = "s3cret-s3cret-s3cret"
    url = serve(queued_lake, token=token)
    assert httpx.get(f"{url}/api/next", params={"annotator": "a"}).status_code == 401
    wrong = httpx.get(f"{url}/api/next", params={"annotator": "a"}, headers={"Authorization": "Bearer s3cret"})
    assert wrong.status_code == 401 and "token" in wrong.json()["error"]
    ok = httpx.get(f"{url}/api/next", params={"annotator": "a"}, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.json()["pair_id"]
    assert httpx.get(f"{url}/").status_code == 200  # the page itself loads; its API calls carry the token
    body = {"annotator": "a", "pair_id": ok.json()["pair_id"], "answer": "A"}
    assert page_client(url).label(body).status_code == 401  # the page's CSRF token alone is not enough
    assert page_client(url, token).label(body).status_code == 200


def test_label_studio_round_trip(queued_lake, tmp_path):
    out = tmp_path / "tasks.json"
    assert export_label_studio(queued_lake, out) == 4
    tasks = json.loads(out.read_text())
    assert (tmp_path / "tasks.config.xml").exists()
    assert all("CHOSEN" in (t["data"]["answer_a"] + t["data"]["answer_b"]) for t in tasks)
    for i, t in enumerate(tasks):
        choice = "A" if t["data"]["answer_a"].startswith("CHOSEN") else "B"
        t["annotations"] = [
            {
                "completed_by": {"email": "x@y"},
                "created_at": "2026-01-01T00:00:00Z",
                "result": [
                    {"from_name": "preference", "value": {"choices": [choice if i else "Cannot tell"]}},
                    {"from_name": "note", "value": {"text": ["checked"]}},
                ],
            }
        ]
    out.write_text(json.dumps(tasks))
    (queued_lake.root / queue.SECRET_FILE).unlink()  # the order secret changes between export and import:
    counts = import_label_studio(queued_lake, out, round=2)  # the task's own texts say which side was A
    assert counts["imported"] == 4
    labels = _labels(queued_lake)
    assert sorted(r["verdict"] for r in labels) == ["chosen", "chosen", "chosen", "discard"]
    shown = {t["data"]["pair_id"]: t["data"]["answer_a"].startswith("CHOSEN") for t in tasks}
    assert all(r["is_chosen_shown_first"] == shown[r["pair_id"]] for r in labels)
    assert all(r["annotator"] == "label-studio:x@y" and r["note"] == "checked" for r in labels)


def test_import_original_pandalm_votes(lake):
    details = [
        {"votes": [1, 1, 2], "majority": 1},
        {"votes": [2, 0, 2], "majority": 2},
        {"votes": [1, 2, 0], "majority": 0},
    ]
    rows = [
        pair_row(
            f"q{i}",
            f"c{i}",
            f"r{i}",
            source="pandalm:pandalm/testset-v1",
            label_details=d,
            is_tie=d["majority"] == 0,
            source_row=i,
        )
        for i, d in enumerate(details)
    ]
    lake.append("pairs", pairs_table(rows))
    counts = import_original(lake, "pandalm")
    assert counts["imported"] == 6 and counts["skipped_tie_or_no_votes"] == 1
    got = {(r["pair_id"], r["annotator"]): r["verdict"] for r in _labels(lake)}
    assert got[(rows[0]["pair_id"], "pandalm:annotator3")] == "rejected"  # voted against the majority
    assert got[(rows[1]["pair_id"], "pandalm:annotator2")] == "discard"  # a tie vote: could not tell
    assert got[(rows[1]["pair_id"], "pandalm:annotator1")] == "chosen"
    assert {r["origin"] for r in _labels(lake)} == {"import:pandalm"}
    assert import_original(lake, "pandalm")["imported"] == 0  # a re-import adds nothing


def test_concurrent_answers_all_land(app_server, client):
    _, lake = app_server
    ids = [r["pair_id"] for r in lake.rows[:4]]

    def post(annotator: str, pid: str) -> int:
        return client.label({"annotator": annotator, "pair_id": pid, "answer": "A"}).status_code

    threads, codes = [], []
    for annotator in ("u1", "u2", "u3"):
        for pid in ids:
            threads.append(threading.Thread(target=lambda a=annotator, p=pid: codes.append(post(a, p))))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 12
    labels = _labels(lake)
    assert len(labels) == 12 and len({(r["annotator"], r["pair_id"]) for r in labels}) == 12
