"""Labels in and out: Label Studio JSON export/import, and the original human votes of a source.

- Export writes the human queue as Label Studio tasks (responses as A / B in the same fixed
  order the app uses for the annotator ``label-studio``, so the label never leaks into a task).
- Import reads a Label Studio export back into ``human_labels`` (origin ``label-studio``).
  The order a task showed is read off its own ``answer_a`` / ``answer_b`` texts when they
  match the stored pair, so an export made before the lake's order secret changed (or
  before the order was keyed at all) still maps A / B to the right side.
- ``import_original`` turns the per-annotator votes that ingest keeps in
  ``pairs.label_details`` (PandaLM: ``votes`` 0 tie / 1 / 2 over response1 / response2) into
  ``human_labels`` rows (``pandalm:annotator1``, origin ``import:pandalm``), so real human
  labels can seed gold. Re-imports add nothing: existing (annotator, pair, origin) are skipped.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from lake import Lake
from lake.sql import sql_string
from pipelines.annotate import data
from pipelines.labelapp import queue
from pipelines.labelapp.store import append_labels, label_row

LS_ANNOTATOR = "label-studio"
LS_CHOICES = {"A": "A", "B": "B", "Cannot tell": "discard", "cannot tell": "discard", "discard": "discard"}
LABEL_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <Text name="guideline" value="$guideline"/>
  <Text name="answer_a" value="$answer_a"/>
  <Text name="answer_b" value="$answer_b"/>
  <Choices name="preference" toName="prompt" choice="single" required="true">
    <Choice value="A"/><Choice value="B"/><Choice value="Cannot tell"/>
  </Choices>
  <TextArea name="note" toName="prompt" required="false"/>
</View>
"""


def export_label_studio(lake: Lake, path: Path, round: int | None = None) -> int:
    """Write the human queue (or unlabelled pairs) as Label Studio tasks; returns the task count."""
    from pipelines.annotate.prompts import render_conversation

    ids = queue.candidate_ids(lake, round)
    attrs = data.load_attributes(lake, ids)
    tasks = []
    for i, pid in enumerate(ids):
        item = queue.item_for(lake, LS_ANNOTATOR, pid)
        a = attrs.get(pid) or {}
        tasks.append({"id": i + 1, "data": {
            "pair_id": pid, "prompt": render_conversation(item["conversation"]),
            "answer_a": item["responses"]["A"], "answer_b": item["responses"]["B"],
            "guideline": a.get("guideline") or "", "desired_attributes": "; ".join(a.get("desired_attributes") or []),
        }})  # fmt: skip
    path.write_text(json.dumps(tasks, indent=1, ensure_ascii=False))
    path.with_suffix(".config.xml").write_text(LABEL_CONFIG)
    return len(tasks)


def _annotator(annotation: dict[str, Any]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return f"{LS_ANNOTATOR}:{who if who is not None else 'unknown'}"


def _when(annotation: dict[str, Any]) -> datetime | None:
    raw = annotation.get("created_at")
    return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def _shown_first(task_data: dict[str, Any], pair: dict[str, Any] | None) -> bool | None:
    """Whether the task showed the chosen response as A, read off its texts (None: they do not tell)."""
    if pair is None or pair["chosen"] == pair["rejected"]:
        return None
    shown = (task_data.get("answer_a"), task_data.get("answer_b"))
    if shown == (pair["chosen"], pair["rejected"]):
        return True
    if shown == (pair["rejected"], pair["chosen"]):
        return False
    return None


def import_label_studio(lake: Lake, path: Path, round: int = 0) -> dict[str, int]:
    """Read a Label Studio JSON export into ``human_labels``; returns counts by outcome."""
    tasks = json.loads(path.read_text())
    pairs = data.load_pairs(lake, [str(t.get("data", {}).get("pair_id")) for t in tasks])
    rows, counts = [], Counter()
    for task in tasks:
        pid = task.get("data", {}).get("pair_id")
        for ann in task.get("annotations", []):
            if ann.get("was_cancelled"):
                counts["cancelled"] += 1
                continue
            results = {r.get("from_name"): r.get("value", {}) for r in ann.get("result", [])}
            choice = (results.get("preference", {}).get("choices") or [None])[0]
            if not pid or choice not in LS_CHOICES:
                counts["unreadable"] += 1
                continue
            shown = _shown_first(task["data"], pairs.get(pid))
            if shown is None:
                verdict, first = queue.verdict_for(lake, LS_ANNOTATOR, pid, LS_CHOICES[choice])
            else:
                verdict, first = queue.verdict_given(shown, LS_CHOICES[choice])
            note = " ".join(results.get("note", {}).get("text") or []) or None
            rows.append(
                label_row(
                    pid,
                    _annotator(ann),
                    verdict,
                    round=round,
                    is_chosen_shown_first=first,
                    note=note,
                    origin="label-studio",
                    labeled_at=_when(ann),
                )
            )
    known = set(data.load_pairs(lake, [r["pair_id"] for r in rows]))
    counts["unknown_pair"] = sum(r["pair_id"] not in known for r in rows)
    rows = [r for r in rows if r["pair_id"] in known]
    append_labels(lake, rows, f"label-studio import: {len(rows)} labels from {path.name}")
    counts["imported"] = len(rows)
    return dict(counts)


def _vote_verdict(vote: int, majority: int) -> str:
    if vote == 0:
        return "discard"  # the annotator called it a tie: they could not tell
    return "chosen" if vote == majority else "rejected"


def import_original(lake: Lake, source: str = "pandalm", round: int = 0) -> dict[str, int]:
    """Turn the kept per-annotator votes of ``source`` into ``human_labels`` rows."""
    if source != "pandalm":
        raise ValueError(f"no original-vote importer for {source!r}: only pandalm keeps per-annotator votes")
    filt = f"source = {sql_string(source)} OR source LIKE {sql_string(source + ':%')}"
    pairs = data.read(lake, "pairs", ["pair_id", "is_tie", "label_details"], filt).to_pylist()
    origin = f"import:{source}"
    done = {
        (r["pair_id"], r["annotator"])
        for r in data.read(lake, "human_labels", ["pair_id", "annotator"], f"origin = {sql_string(origin)}").to_pylist()
    }
    rows, counts = [], Counter()
    for p in pairs:
        details = json.loads(p["label_details"] or "{}")
        votes, majority = details.get("votes"), details.get("majority")
        if p["is_tie"] or majority not in (1, 2) or not isinstance(votes, list):
            counts["skipped_tie_or_no_votes"] += 1  # a tie has no chosen side to agree with
            continue
        for k, vote in enumerate(votes, 1):
            annotator = f"{source}:annotator{k}"
            if (p["pair_id"], annotator) in done:
                counts["already_imported"] += 1
                continue
            rows.append(
                label_row(p["pair_id"], annotator, _vote_verdict(int(vote), int(majority)), round=round, origin=origin)
            )
    append_labels(lake, rows, f"import {len(rows)} original {source} votes")
    counts["imported"] = len(rows)
    counts["n_pairs"] = len(pairs)
    return dict(counts)
