"""Model names and templates are values in the stages' lake filters, quoted as SQL strings: a name
with a quote finds its own rows (and only those) instead of breaking the filter."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from lake.schemas import JUDGE_GATES

QUOTED = "o'brien/judge-8b"


def _gate(model: str, accuracy: float) -> dict:
    return {
        "round": 1, "model": model, "template_version": "judge.v1", "n_gold": 40, "accuracy": accuracy,
        "accuracy_chosen_first": accuracy, "accuracy_chosen_second": accuracy, "position_bias": 0.5,
        "threshold": 0.6, "is_trusted": accuracy >= 0.6, "reason": None, "measured_at": datetime.now(UTC),
    }  # fmt: skip


def test_a_judge_gate_is_found_by_a_model_name_with_a_quote(lake):
    from pipelines.annotate.gate import stored_gate

    rows = [_gate(QUOTED, 0.9), _gate("obrien/judge-8b", 0.3)]
    with lake.transaction("gates") as txn:
        txn.append("judge_gates", pa.Table.from_pylist(rows, schema=JUDGE_GATES))
    found = stored_gate(lake, 1, QUOTED, "judge.v1")
    assert found is not None and found["model"] == QUOTED and found["accuracy"] == 0.9
    assert stored_gate(lake, 1, "o''brien/judge-8b", "judge.v1") is None  # the doubled quote is not a wildcard
