"""Preference attributes: the method's 5-tuple per pair, written by an LLM as validated JSON.

(task category, objectivity, controversiality, desired attributes, guideline), under the
fixed taxonomy of :mod:`pipelines.annotate.taxonomy`. An answer that is not valid under
the schema is asked again; if it stays invalid the row is written with ``status='failed'``
and the raw text, never a guess. Rows carry the model and the template version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pyarrow as pa

from lake import Lake
from lake.reports import Counted
from lake.schemas import ATTRIBUTES
from lake.sql import sql_string
from pipelines.annotate import data
from pipelines.annotate.calls import Call, Outcome
from pipelines.annotate.callwork import CallRunner, CallWork, Pairs, engine_note, run_local
from pipelines.annotate.config import AttributesConfig
from pipelines.annotate.llm.base import ChatBackend, ChatRequest, Sampling
from pipelines.annotate.prompts import clip, load_template, render_conversation
from pipelines.annotate.taxonomy import ATTRIBUTES_SCHEMA, taxonomy_text

log = logging.getLogger(__name__)


@dataclass
class AttributesReport(Counted):
    """One attributes run: pairs annotated (ok or failed), calls that reached the server, the version."""

    model: str
    template_version: str
    n_pairs: int = 0
    n_ok: int = 0
    n_failed: int = 0
    n_calls_paid: int = 0
    version: int | None = None


def select_pairs(lake: Lake, model: str, cfg: AttributesConfig) -> list[str]:
    """Pairs lacking an ok row for (model, template): gold first, then queued, then the rest."""
    done_filter = f"model = {sql_string(model)} AND template_version = {sql_string(cfg.template)}"
    if cfg.redo_failed:
        done_filter += " AND status = 'ok'"
    done = set(data.read(lake, "attributes", ["pair_id"], done_filter)["pair_id"].to_pylist())
    all_ids = data.read(lake, "pairs", ["pair_id"])["pair_id"].to_pylist()
    gold = set(data.gold_verdicts(lake))
    queued = {r["pair_id"] for r in data.queue_rows(lake, None)}
    todo = sorted((p for p in all_ids if p not in done), key=lambda p: (p not in gold, p not in queued, p))
    return todo[: cfg.limit] if cfg.limit is not None else todo


def build_call(pair: dict[str, Any], cfg: AttributesConfig) -> Call:
    template = load_template(cfg.template)
    # the attributes describe the task (x), never the answers: the responses are not shown
    messages = template.messages(
        taxonomy=taxonomy_text(), conversation=clip(render_conversation(pair["conversation"]), cfg.max_chars)
    )
    sampling = Sampling(temperature=cfg.temperature, max_tokens=cfg.max_tokens)
    return Call(pair["pair_id"], "attributes", template.version, ChatRequest(messages, sampling, ATTRIBUTES_SCHEMA))


def _calls(pairs: Pairs, cfg: AttributesConfig) -> list[Call]:
    return [build_call(p, cfg) for p in pairs.values()]


def _rows(outcomes: list[Outcome], model: str) -> list[dict[str, Any]]:
    return [outcome_row(o, model) for o in outcomes]


def attribute_work(cfg: AttributesConfig) -> CallWork:
    """The stage's calls and rows (for any runner)."""
    calls = partial(_calls, cfg=cfg)
    return CallWork(calls, _rows, ATTRIBUTES_SCHEMA, ATTRIBUTES, cfg.max_invalid_retries, "attributes")


def outcome_row(o: Outcome, model: str) -> dict[str, Any]:
    v = o.value or {}
    return {
        "pair_id": o.call.pair_id,
        "status": "ok" if o.value is not None else "failed",
        "task_category": v.get("task_category"),
        "objectivity": v.get("objectivity"),
        "controversiality": v.get("controversiality"),
        "desired_attributes": v.get("desired_attributes"),
        "guideline": v.get("guideline"),
        "raw_output": o.raw,
        "error": o.error,
        "model": model,
        "template_version": o.call.template_version,
        "annotated_at": datetime.now(UTC),
    }


def annotate_attributes(
    lake: Lake, backend: ChatBackend, cfg: AttributesConfig, runner: CallRunner = run_local
) -> AttributesReport:
    """Annotate the selected pairs (``runner``: where the calls are asked); counts, paid calls, lake version."""
    with lake.reading_at():  # the selection and the pairs the runner reads: one commit
        rows, paid = runner(lake, backend, select_pairs(lake, backend.model, cfg), attribute_work(cfg))
    version = None
    if rows:
        with lake.transaction(f"attributes: {len(rows)} pairs by {backend.model}{engine_note(runner)}") as txn:
            version, _ = txn.upsert(
                "attributes", pa.Table.from_pylist(rows, schema=ATTRIBUTES), ["pair_id", "model", "template_version"]
            )
    n_ok = sum(r["status"] == "ok" for r in rows)
    report = AttributesReport(backend.model, cfg.template, len(rows), n_ok, len(rows) - n_ok, paid, version)
    log.info("attributes: %s", report)
    return report
