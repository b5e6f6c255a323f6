"""Real `dbt build` runs over a crafted lake: each planted pair must land in its reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest

from lake import Lake
from pipelines import dbt_runner
from pipelines.publish import publish

ROUND1_VARS = {"dropped_task_categories": ["safety-sensitive"]}


def _decisions(result: dbt_runner.BuildResult, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    names = {v: k for k, v in ids.items()}
    con = duckdb.connect(result.duckdb_path, read_only=True)
    try:
        rel = con.sql("select * from curated_pairs")
        rows = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()
    return {names[r["pair_id"]]: r for r in rows}


def _mart(result: dbt_runner.BuildResult, sql: str) -> list[dict[str, Any]]:
    con = duckdb.connect(result.duckdb_path, read_only=True)
    try:
        rel = con.sql(sql)
        return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def round1(crafted: tuple[Lake, dict[str, str]]) -> tuple[Lake, dict[str, str], dbt_runner.BuildResult, dict]:
    lake, ids = crafted
    result = dbt_runner.build(lake, round=1, stage=1, vars=ROUND1_VARS)
    assert result.success, result.failures
    return lake, ids, result, _decisions(result, ids)


@pytest.fixture(scope="module")
def round2(round1: tuple) -> tuple[Lake, dict[str, str], dbt_runner.BuildResult, dict]:
    lake, ids, _, _ = round1
    report = publish(lake, 1)
    assert report.tag == "round-1"
    result = dbt_runner.build(lake, round=2, stage=2, vars=ROUND1_VARS)
    assert result.success, result.failures
    return lake, ids, result, _decisions(result, ids)


def test_conflicting_orientations_are_both_flagged_and_dropped(round1: tuple) -> None:
    rows = round1[3]
    for name in ("conflict_a", "conflict_b"):
        assert rows[name]["decision"] == "drop"
        assert rows[name]["reasons"] == ["conflict"]
        assert rows[name]["is_conflict"]


def test_exact_duplicate_after_normalisation_keeps_the_first(round1: tuple) -> None:
    _, ids, _, rows = round1
    assert ids["dup_first"] != ids["dup_second"]  # different pair_ids: they differ in case and spacing
    assert rows["dup_second"]["reasons"] == ["exact_duplicate"]
    assert rows["dup_second"]["duplicate_of"] == ids["dup_first"]
    assert rows["dup_first"]["decision"] == "keep"


def test_13gram_decontamination(round1: tuple) -> None:
    rows = round1[3]
    hit = rows["contaminated"]
    assert hit["reasons"] == ["contaminated"]
    assert (hit["contaminated_by"], hit["contaminated_item"], hit["contamination_rule"]) == (
        "storybench", "story-1", "ngram")  # fmt: skip
    assert hit["contamination_match"] == "a lighthouse keeper who discovers a message in a bottle washed up on"
    # 12 shared consecutive words are not enough
    assert rows["near_miss"]["decision"] == "keep"
    assert "contaminated" not in rows["near_miss"]["reasons"]


def test_a_short_prompt_equal_to_a_benchmark_prompt_is_contaminated(round1: tuple) -> None:
    """Issue 15: a prompt shorter than the n-gram has no n-gram, yet equals a benchmark prompt."""
    rows = round1[3]
    hit = rows["short_exact"]
    assert hit["reasons"] == ["contaminated"] and hit["decision"] == "drop"
    assert (hit["contaminated_by"], hit["contaminated_item"], hit["contamination_rule"]) == (
        "quizbench", "q-7", "exact")  # fmt: skip
    assert hit["contamination_match"] == "what is gremolata"  # case, spacing and punctuation normalised away
    assert "contaminated" not in rows["short_common"]["reasons"]  # shares "what is", equals nothing


def test_decontam_explain_names_the_benchmark_item_rule_and_words(round1: tuple, capsys) -> None:
    from prefhouse.cli import main

    lake, ids, _, _ = round1
    assert main(["--lake", str(lake.root), "decontam", "explain", ids["short_exact"]]) == 0
    out = capsys.readouterr().out
    assert "benchmark 'quizbench', item q-7" in out and "rule exact" in out and "'what is gremolata'" in out
    assert "benchmark prompt: 'what is GREMOLATA ?'" in out
    assert main(["--lake", str(lake.root), "decontam", "explain", ids["contaminated"]]) == 0
    out = capsys.readouterr().out
    assert "item story-1" in out and "share 13 consecutive words" in out
    assert main(["--lake", str(lake.root), "decontam", "explain", ids["short_common"]]) == 0
    assert "not contaminated" in capsys.readouterr().out
    assert main(["--lake", str(lake.root), "decontam", "summary"]) == 0
    out = capsys.readouterr().out
    assert "quizbench" in out and "storybench" in out and "exact" in out


def test_round_summary_counts_decontamination_hits_per_benchmark_and_rule(round1: tuple) -> None:
    hits = _mart(round1[2], "select step_kind, step, sum(n_pairs)::int n from round_summary "
                 "where step_kind like 'contamina%' group by all order by all")  # fmt: skip
    assert [(h["step_kind"], h["step"], h["n"]) for h in hits] == [
        ("contaminated_by", "quizbench", 1), ("contaminated_by", "storybench", 1),
        ("contamination_rule", "exact", 1), ("contamination_rule", "ngram", 1)]  # fmt: skip


def test_filters_by_attributes_neighbours_and_degeneracy(round1: tuple) -> None:
    rows = round1[3]
    assert rows["attr_filtered"]["reasons"] == ["task_category_filtered"]
    assert rows["near_member"]["reasons"] == ["near_duplicate"]
    assert rows["near_rep"]["decision"] == "keep"
    assert rows["near_sibling"]["decision"] == "keep"  # the leader prompt's other pair: not a near-duplicate
    assert rows["empty"]["reasons"] == ["empty_side"]
    assert rows["identical"]["reasons"] == ["identical_responses"]
    assert rows["truncated"]["reasons"] == ["truncated_response"]
    assert rows["ratio"]["reasons"] == ["extreme_length_ratio"]


def test_stage1_label_consistency(round1: tuple) -> None:
    rows = round1[3]
    assert (rows["human_keep"]["decision"], rows["human_keep"]["label_provenance"]) == ("keep", "human")
    assert (rows["human_flip"]["decision"], rows["human_flip"]["label_provenance"]) == ("flip", "human")
    assert rows["human_discard"]["reasons"] == ["human_discarded"]
    assert rows["judge_no"]["decision"] == "drop"
    assert rows["judge_no"]["reasons"] == ["judges_disagree"]
    # an untrusted judge's votes do not count: they stay visible as evidence only
    assert rows["untrusted_no"]["decision"] == "keep"
    assert rows["untrusted_no"]["judge_status"] == "untrusted"
    assert "judges_untrusted_disagree" in rows["untrusted_no"]["reasons"]
    # an LLM pre-check found the chosen answer wrong and the rejected one right
    assert (rows["precheck_no"]["decision"], rows["precheck_no"]["reasons"]) == ("drop", ["precheck_disagree"])
    # Stage 1: the gold RM disagreeing is enough to hold a pair back
    assert rows["s2_flip"]["decision"] == "drop"
    assert "gold_rm_disagree" in rows["s2_flip"]["reasons"]


def test_round_summary_reconciles(round1: tuple) -> None:
    result = round1[2]
    steps = _mart(result, "select step_kind, step, sum(n_pairs) n from round_summary group by all")
    by = {(s["step_kind"], s["step"]): s["n"] for s in steps}
    assert by[("in", "in")] == len(round1[3])
    assert by[("decision", "keep")] + by[("decision", "drop")] + by[("decision", "flip")] == by[("in", "in")]
    assert by[("reason", "conflict")] == 2


def test_agreement_marts(round1: tuple) -> None:
    result = round1[2]
    kappa = _mart(result, "select * from annotator_agreement where metric = 'cohen_kappa' and scope = 'all'")
    assert [(k["annotator_a"], k["annotator_b"], k["n_pairs"], k["value"]) for k in kappa] == [("ann0", "ann1", 2, 1.0)]
    evals = {r["run_id"]: r for r in _mart(result, "select * from rm_eval where task_category = 'all'")}
    assert evals["rm-best"]["accuracy"] == 1.0  # right on both gold pairs
    assert evals["rm-gold"]["accuracy"] == 0.5  # wrong on the pair humans flipped
    gold = _mart(result, "select majority_verdict, label_provenance from gold_set order by 1")
    assert [g["majority_verdict"] for g in gold] == ["chosen", "rejected"]
    assert {g["label_provenance"] for g in gold} == {"human"}


def test_publish_writes_kept_and_swapped_flipped_pairs(round2: tuple) -> None:
    lake, ids, _, _ = round2
    kept = lake.dataset("curated", "round-1").to_table().to_pylist()
    assert {r["pair_id"] for r in kept} == {
        ids[n]
        for n in (
            "keep",
            "dup_first",
            "near_miss",
            "near_rep",
            "near_sibling",
            "human_keep",
            "untrusted_no",
            "s2_keep",
            "short_common",
        )
    } | {ids["s2_missing"]}
    flipped = lake.dataset("flipped", "round-1").to_table().to_pylist()
    assert [(r["pair_id"], r["chosen"], r["rejected"], r["label_provenance"]) for r in flipped] == [
        (ids["human_flip"], "6", "7", "human")
    ]
    assert all(r["round"] == 1 for r in kept)


def test_stage2_rule(round2: tuple) -> None:
    rows = round2[3]
    assert (rows["s2_keep"]["decision"], rows["s2_keep"]["label_provenance"]) == ("keep", "rm")
    assert (rows["s2_keep_judge"]["decision"], rows["s2_keep_judge"]["label_provenance"]) == ("keep", "llm-judge")
    # the trusted gold RM disagrees, the trusted best RM agrees: a conflict, dropped (var stage2_on_mixed)
    assert (rows["s2_flip"]["decision"], rows["s2_flip"]["decision_rule"]) == ("drop", "mixed")
    assert rows["s2_missing"]["decision"] == "drop"
    assert rows["s2_missing"]["reasons"] == ["gold_rm_missing"]


def test_round_diff_against_the_published_previous_round(round2: tuple) -> None:
    _, ids, result, _ = round2
    names = {v: k for k, v in ids.items()}
    diff = {names[r["pair_id"]]: r for r in _mart(result, "select * from round_diff")}
    assert diff["s2_keep_judge"]["change"] == "entered"
    assert diff["s2_missing"]["change"] == "left"
    assert diff["s2_missing"]["reasons"] == ["gold_rm_missing"]
    assert "s2_keep" not in diff  # kept in both rounds


def test_docs_generate_offline(round2: tuple) -> None:
    path = dbt_runner.docs_generate(round2[0])
    html = path.read_text()
    assert "curated_pairs" in html and "int_prompts_decontaminated" in html


def test_a_benchmark_table_from_before_item_ids_still_builds(tmp_path) -> None:
    """A lake whose benchmark_prompts predates the item columns: its hits have no item, the build passes."""
    import pyarrow as pa

    from lake.records import pair_row, pairs_table
    from lake.schemas import BENCHMARK_PROMPTS

    lake = Lake(tmp_path / "old")
    old = pa.schema([f for f in BENCHMARK_PROMPTS if f.name not in ("item_id", "item_ids")])
    row = {"benchmark": "quiz", "prompt_id": "b1", "prompt": "What is Gremolata?", "source_file": "q.jsonl",
           "source_row": 0, "ingest_batch_id": "b", "ingested_at": datetime(2026, 1, 1, tzinfo=UTC)}  # fmt: skip
    bench = pa.Table.from_pylist([row], schema=old)
    with lake.transaction("an old lake") as txn:
        txn.append("pairs", pairs_table([pair_row("what is gremolata", "A condiment.", "A pasta.")]))
        txn.append("benchmark_prompts", bench, schema=old)
    result = dbt_runner.build(lake, round=1, stage=1, quiet=True)
    assert result.success, result.failures
    (row,) = _mart(result, "select contaminated_by, contaminated_item, contamination_rule from curated_pairs")
    assert row == {"contaminated_by": "quiz", "contaminated_item": None, "contamination_rule": "exact"}
