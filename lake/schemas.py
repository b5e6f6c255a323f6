"""The record contract: Arrow schemas of every lake table.

Every module that reads or writes the lake imports its schema from here, so that
the ingest readers, the dbt sources, the reward model and the annotation tools
agree on one layout. Column names follow the house style: ``*_id`` keys,
``is_*`` booleans, ``*_at`` timestamps (UTC, microseconds).

A table that a later stage fills (attributes, labels, scores, ...) is created
empty from its schema on first use, so SQL over it works before it has rows.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

TURN = pa.struct([("role", pa.string()), ("content", pa.string())])
CONVERSATION = pa.list_(TURN)

# --------------------------------------------------------------------------- pairs
PAIRS = pa.schema(
    [
        pa.field("pair_id", pa.string(), nullable=False),  # hash(conversation, chosen, rejected)
        pa.field("prompt_id", pa.string(), nullable=False),  # hash(conversation)
        pa.field("pairset_id", pa.string(), nullable=False),  # hash(conversation, {a, b}): a pair and its flip share it
        pa.field("conversation", CONVERSATION, nullable=False),  # every turn before the final assistant turn
        pa.field("chosen", pa.string(), nullable=False),
        pa.field("rejected", pa.string(), nullable=False),
        pa.field("is_tie", pa.bool_(), nullable=False),
        pa.field("category", pa.string()),  # the source's own category/scenario/subset, if any
        pa.field("label_origin", pa.string()),  # who made the original label: human | model | unknown
        pa.field("label_details", pa.string()),  # JSON: per-annotator votes, scores, ids, as the format has them
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_row", pa.int64(), nullable=False),
        pa.field("ingest_batch_id", pa.string(), nullable=False),
        pa.field("ingested_at", TS, nullable=False),
    ]
)

# Every sighting of a pair (first or repeated, any source): the extra provenance.
PAIR_SOURCES = pa.schema(
    [
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_row", pa.int64(), nullable=False),
        pa.field("is_first_sighting", pa.bool_(), nullable=False),
        pa.field("label_details", pa.string()),
        pa.field("ingest_batch_id", pa.string(), nullable=False),
        pa.field("ingested_at", TS, nullable=False),
    ]
)

QUARANTINE = pa.schema(
    [
        pa.field("ingest_batch_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_row", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),  # a code from QUARANTINE_REASONS
        pa.field("detail", pa.string()),
        pa.field("raw", pa.string()),  # the input row as read (truncated to 64 KiB)
        pa.field("quarantined_at", TS, nullable=False),
    ]
)

QUARANTINE_REASONS = (
    "unparseable",  # the row is not valid JSON / CSV / the expected shape
    "missing_field",  # a required field is absent or null
    "empty_response",  # chosen or rejected is empty after normalisation
    "identical_responses",  # chosen == rejected after normalisation
    "unknown_label",  # the label value is not one the format defines
    "unsplittable_dialogue",  # an hh-rlhf style dialogue with no shared prefix ending in an assistant marker
    "bad_conversation",  # roles/turns that cannot form (conversation, final assistant turn)
    # whole-file faults: one row per faulty file, at the row where reading stopped (docs/ingest.md)
    "truncated",  # the file ends early (a gzip stream without its end marker, a JSON document cut short)
    "corrupt_file",  # not a gzip / Parquet file, bad compressed data or CRC, binary (NUL bytes) or non-UTF-8 text
    "empty_file",  # the file holds no rows (0 bytes, only whitespace, a CSV header alone, [])
)

INGEST_BATCHES = pa.schema(
    [
        pa.field("ingest_batch_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("format", pa.string(), nullable=False),
        pa.field("paths", pa.list_(pa.string()), nullable=False),
        pa.field("is_benchmark", pa.bool_(), nullable=False),
        pa.field("n_read", pa.int64(), nullable=False),
        pa.field("n_accepted", pa.int64(), nullable=False),
        pa.field("n_duplicate", pa.int64(), nullable=False),
        pa.field("n_quarantined", pa.int64(), nullable=False),
        pa.field("started_at", TS, nullable=False),
        pa.field("finished_at", TS, nullable=False),
    ]
)

# First-turn prompts of evaluation benchmarks, for 13-gram decontamination: one row per (benchmark, prompt).
BENCHMARK_PROMPTS = pa.schema(
    [
        pa.field("benchmark", pa.string(), nullable=False),
        pa.field("prompt_id", pa.string(), nullable=False),
        pa.field("prompt", pa.string(), nullable=False),
        # the benchmark item the prompt was first read in: the row's own id (id, pair_id, question_id, ...),
        # else its row index in source_file; null for rows written before these columns existed
        pa.field("item_id", pa.string()),
        pa.field("item_ids", pa.list_(pa.string())),  # every item of that ingest with this prompt, item_id first
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_row", pa.int64(), nullable=False),
        pa.field("ingest_batch_id", pa.string(), nullable=False),
        pa.field("ingested_at", TS, nullable=False),
    ]
)

# ------------------------------------------------------------------ annotation
ATTRIBUTES = pa.schema(
    [
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),  # ok | failed
        pa.field("task_category", pa.string()),
        pa.field("objectivity", pa.string()),  # objective | subjective
        pa.field("controversiality", pa.string()),  # low | medium | high
        pa.field("desired_attributes", pa.list_(pa.string())),
        pa.field("guideline", pa.string()),
        pa.field("raw_output", pa.string()),  # kept for failed rows: never guessed
        pa.field("error", pa.string()),
        pa.field("model", pa.string(), nullable=False),
        pa.field("template_version", pa.string(), nullable=False),
        pa.field("annotated_at", TS, nullable=False),
    ]
)

HUMAN_LABELS = pa.schema(
    [
        pa.field("label_id", pa.string(), nullable=False),
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("round", pa.int32(), nullable=False),
        pa.field("annotator", pa.string(), nullable=False),
        pa.field("verdict", pa.string(), nullable=False),  # chosen | rejected | discard (relative to the stored pair)
        pa.field("is_chosen_shown_first", pa.bool_()),  # the order the annotator saw
        pa.field("note", pa.string()),
        pa.field("tools", pa.list_(pa.string())),  # search, llm-assistant, code-runner, ...
        pa.field("origin", pa.string(), nullable=False),  # app | import:<name> | label-studio
        pa.field("labeled_at", TS, nullable=False),
    ]
)

JUDGE_LABELS = pa.schema(
    [
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("round", pa.int32(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("template_version", pa.string(), nullable=False),
        pa.field("sample", pa.int32(), nullable=False),
        pa.field("is_chosen_shown_first", pa.bool_(), nullable=False),
        pa.field("vote", pa.string(), nullable=False),  # chosen | rejected | invalid
        pa.field("rationale", pa.string()),
        pa.field("raw_output", pa.string()),
        pa.field("n_demonstrations", pa.int32(), nullable=False),
        pa.field("judged_at", TS, nullable=False),
    ]
)

# A judge model's accuracy on gold, measured in both orders before its votes count.
JUDGE_GATES = pa.schema(
    [
        pa.field("round", pa.int32(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("template_version", pa.string(), nullable=False),
        pa.field("n_gold", pa.int64(), nullable=False),
        pa.field("accuracy", pa.float64(), nullable=False),
        pa.field("accuracy_chosen_first", pa.float64(), nullable=False),
        pa.field("accuracy_chosen_second", pa.float64(), nullable=False),
        pa.field("position_bias", pa.float64(), nullable=False),  # share of votes for the first-shown candidate
        pa.field("threshold", pa.float64(), nullable=False),
        pa.field("is_trusted", pa.bool_(), nullable=False),
        pa.field("reason", pa.string()),  # why it is (not) trusted, in words the round report shows
        pa.field("measured_at", TS, nullable=False),
    ]
)

PRECHECKS = pa.schema(
    [
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("side", pa.string(), nullable=False),  # chosen | rejected
        pa.field("is_correct", pa.bool_()),  # null when the model could not say
        pa.field("rationale", pa.string()),
        pa.field("model", pa.string(), nullable=False),
        pa.field("template_version", pa.string(), nullable=False),
        pa.field("checked_at", TS, nullable=False),
    ]
)

# ------------------------------------------------------------------- retrieval
NEIGHBOURS = pa.schema(
    [
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("cluster_id", pa.string(), nullable=False),  # the representative's pair_id
        pa.field("is_representative", pa.bool_(), nullable=False),
        pa.field("similarity", pa.float32(), nullable=False),  # cosine similarity to the representative
        pa.field("threshold", pa.float32(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("computed_at", TS, nullable=False),
    ]
)

ANCHOR = pa.struct(
    [
        ("gold_pair_id", pa.string()),
        ("rank", pa.int32()),
        ("similarity", pa.float32()),
        ("p", pa.float64()),
        ("k", pa.int32()),
    ]
)

RETRIEVAL_QUEUE = pa.schema(
    [
        pa.field("round", pa.int32(), nullable=False),
        pa.field("pair_id", pa.string(), nullable=False),  # the retrieved (unverified) candidate
        pa.field("anchors", pa.list_(ANCHOR), nullable=False),  # gold pairs that retrieved it, best first, <= 8
        pa.field("best_similarity", pa.float32(), nullable=False),
        pa.field("route", pa.string(), nullable=False),  # judge | human
        pa.field("queued_at", TS, nullable=False),
    ]
)

# ---------------------------------------------------------------- reward model
RM_RUNS = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("run_dir", pa.string(), nullable=False),
        pa.field("role", pa.string()),  # silver | gold | best | adhoc
        pa.field("round", pa.int32()),
        pa.field("backbone", pa.string(), nullable=False),
        pa.field("train_table", pa.string(), nullable=False),
        pa.field("train_version", pa.int64(), nullable=False),
        pa.field("train_tag", pa.string()),
        pa.field("gold_accuracy", pa.float64()),  # on the gold split that selected its checkpoint (in sample)
        pa.field("label_basis", pa.string()),  # what its labels were: silver | gold | unverified original labels
        pa.field("created_at", TS, nullable=False),
    ]
)

RM_SCORES = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("reward_chosen", pa.float32(), nullable=False),
        pa.field("reward_rejected", pa.float32(), nullable=False),
        pa.field("margin", pa.float32(), nullable=False),
        pa.field("p", pa.float32(), nullable=False),  # sigmoid(margin)
        pa.field("scored_at", TS, nullable=False),
    ]
)

RM_EVAL = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("bench", pa.string(), nullable=False),
        pa.field("subset", pa.string(), nullable=False),  # category / subset / "all"
        pa.field("metric", pa.string(), nullable=False),  # accuracy, length_bias_accuracy, ...
        pa.field("n", pa.int64(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("evaluated_at", TS, nullable=False),
    ]
)

# ------------------------------------------------------------------- curation
# Published per round: the kept (or flipped) pairs in the layout reward trainers read.
CURATED = pa.schema(
    [
        pa.field("round", pa.int32(), nullable=False),
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("conversation", CONVERSATION, nullable=False),
        pa.field("chosen", pa.string(), nullable=False),
        pa.field("rejected", pa.string(), nullable=False),
        pa.field("margin", pa.float32()),
        pa.field("label_provenance", pa.string()),  # original | human | llm-judge | rm
        pa.field("source", pa.string(), nullable=False),
        pa.field("reasons", pa.list_(pa.string())),
    ]
)

# ---------------------------------------------------------------------- trust
# Every label source measured on gold pairs it never trained on and was not selected on, per
# round (pipelines/trust): reward-model runs, judges (model + template + sampling), human
# annotators (against the other annotators) and pre-check models. Whether a source may vote is
# the dbt rule over these numbers (macros/rules.sql, is_trusted_expr).
SOURCE_TRUST = pa.schema(
    [
        pa.field("round", pa.int32(), nullable=False),
        pa.field("source_kind", pa.string(), nullable=False),  # rm | judge | annotator | precheck
        pa.field("source_id", pa.string(), nullable=False),  # run_id | model|template|samples | annotator | model
        pa.field("role", pa.string()),  # RMs: silver | best | gold (the role it plays this round)
        pa.field("n", pa.int64(), nullable=False),  # gold pairs measured
        pa.field("n_correct", pa.int64(), nullable=False),
        pa.field("accuracy", pa.float64()),
        pa.field("ci_low", pa.float64()),  # 95% Wilson interval of the accuracy
        pa.field("ci_high", pa.float64()),
        pa.field("first_shown_share", pa.float64()),  # judges: share of valid votes for the first-shown side
        pa.field("both_orders_consistency", pa.float64()),  # judges: same verdict in both orders
        pa.field("accuracy_longer_rejected", pa.float64()),  # RMs: accuracy where the longer side is wrong
        pa.field("n_longer_rejected", pa.int64()),
        pa.field("longer_wins_agreement", pa.float64()),  # RMs: share of pairs where it prefers the longer side
        pa.field("measured_on", pa.string(), nullable=False),  # which gold pairs, in words
        pa.field("label_basis", pa.string()),  # RMs: what they were trained on
        pa.field("measured_at", TS, nullable=False),
    ]
)

# Agreement among human annotators on what each saw (the source's order, ties kept).
ANNOTATOR_AGREEMENT = pa.schema(
    [
        pa.field("round", pa.int32(), nullable=False),
        pa.field("scope", pa.string(), nullable=False),  # all | a task category
        # raw_agreement | cohen_kappa | fleiss_kappa | krippendorff_alpha
        pa.field("metric", pa.string(), nullable=False),
        pa.field("annotator_a", pa.string()),  # Cohen's kappa: the annotator pair
        pa.field("annotator_b", pa.string()),
        pa.field("n_pairs", pa.int64(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("ci_low", pa.float64()),  # 95% percentile bootstrap over pairs
        pa.field("ci_high", pa.float64()),
        pa.field("computed_at", TS, nullable=False),
    ]
)

ROUND_STEPS = pa.schema(
    [
        pa.field("round", pa.int32(), nullable=False),
        pa.field("stage", pa.int32(), nullable=False),
        pa.field("step", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),  # running | done | failed | skipped
        pa.field("inputs", pa.string()),  # JSON {table: version}
        pa.field("outputs", pa.string()),  # JSON {table: version}
        pa.field("counts", pa.string()),  # JSON
        pa.field("facts", pa.string()),  # JSON: values later steps read (run ids, kept fraction), restored on resume
        pa.field("message", pa.string()),
        pa.field("started_at", TS, nullable=False),
        pa.field("finished_at", TS, nullable=False),
    ]
)


def embeddings_schema(dim: int) -> pa.Schema:
    """The ``embeddings`` LanceDB table: one vector per pair, keyed by ``pair_id``."""
    return pa.schema(
        [
            pa.field("pair_id", pa.string(), nullable=False),
            pa.field("vector", pa.list_(pa.float32(), dim), nullable=False),
            pa.field("model", pa.string(), nullable=False),
            pa.field("text_hash", pa.string(), nullable=False),
            pa.field("embedded_at", TS, nullable=False),
        ]
    )


# Tables the lake creates empty on first use. ``embeddings`` is absent: its width
# depends on the model, so the embedding stage creates it.
TABLES: dict[str, pa.Schema] = {
    "pairs": PAIRS,
    "pair_sources": PAIR_SOURCES,
    "quarantine": QUARANTINE,
    "ingest_batches": INGEST_BATCHES,
    "benchmark_prompts": BENCHMARK_PROMPTS,
    "attributes": ATTRIBUTES,
    "human_labels": HUMAN_LABELS,
    "judge_labels": JUDGE_LABELS,
    "judge_gates": JUDGE_GATES,
    "prechecks": PRECHECKS,
    "neighbours": NEIGHBOURS,
    "retrieval_queue": RETRIEVAL_QUEUE,
    "rm_runs": RM_RUNS,
    "rm_scores": RM_SCORES,
    "rm_eval": RM_EVAL,
    "curated": CURATED,
    "flipped": CURATED,
    "round_steps": ROUND_STEPS,
    "source_trust": SOURCE_TRUST,
    "annotator_agreement": ANNOTATOR_AGREEMENT,
}
