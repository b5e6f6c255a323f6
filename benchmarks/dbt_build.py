"""Wall time of one curation round: `dbt build` vs the same curation as one hand-written DuckDB script.

Generates N synthetic pairs with pyarrow (vectorised, seconds for 1M) with planted exact
duplicates (1%), conflicts (1%), contaminated prompts (0.1%), near-duplicate clusters,
attributes, human labels, trusted judge votes and gold/best RM scores for every pair; writes
them to a fresh lake; then times, in the same process and on the same lake:

- ``dbt build`` of round 1 in Stage 2 (all models, data tests and unit tests), and
- ``hand``: one DuckDB script computing the same ``curated_pairs`` decisions directly from the
  Lance datasets, which is checked to agree with dbt's decision counts.

Usage: ``python benchmarks/dbt_build.py --sizes 100000 1000000 --threads 2 [--out results.json]``
"""

# ruff: noqa: E501  (the hand-written SQL keeps its long lines)
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lake import Lake
from lake.schemas import (
    ATTRIBUTES,
    BENCHMARK_PROMPTS,
    HUMAN_LABELS,
    JUDGE_GATES,
    JUDGE_LABELS,
    NEIGHBOURS,
    PAIRS,
    RM_RUNS,
    RM_SCORES,
)
from pipelines import dbt_runner

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BENCH_PROMPT = "describe in detail how the ancient roman aqueducts carried fresh water across long valleys to the city"


# ============================================================================ synthetic lake
def _words(rng: np.random.Generator, vocab: pa.Array, n: int, k: int) -> pa.Array:
    cols = [pc.take(vocab, pa.array(rng.integers(0, len(vocab), n))) for _ in range(k)]
    return pc.binary_join_element_wise(*cols, " ")


def _ids(prefix: str, n: int, start: int = 0) -> pa.Array:
    return pa.array(np.char.add(prefix, np.arange(start, start + n).astype(str)))


def synth_pairs(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    vocab = pa.array([f"w{i}" for i in range(5000)])
    base = n - 2 * (n // 100)
    prompt = _words(rng, vocab, base, 30)
    n_contam = max(1, base // 1000)  # plant the benchmark's 13+ words in 0.1% of prompts
    prompt = pa.concat_arrays([pa.array([BENCH_PROMPT + " please"] * n_contam), prompt[n_contam:]])
    chosen = pc.binary_join_element_wise(_words(rng, vocab, base, 40), pa.array(["."] * base), "")
    rejected = pc.binary_join_element_wise(_words(rng, vocab, base, 25), pa.array(["."] * base), "")
    ids = _ids("p", base)
    dup = np.arange(n // 100)
    flip = np.arange(n // 100, 2 * (n // 100))
    # exact duplicates differ in case only (a new pair_id); conflicts swap the two responses
    prompt = pa.concat_arrays([prompt, pc.utf8_upper(prompt.take(dup)), prompt.take(flip)])
    chosen, rejected = (
        pa.concat_arrays([chosen, chosen.take(dup), rejected.take(flip)]),
        pa.concat_arrays([rejected, rejected.take(dup), chosen.take(flip)]),
    )
    pairset = pa.concat_arrays([ids, _ids("d", len(dup)), ids.take(flip)])
    total = len(prompt)
    conversation = pa.ListArray.from_arrays(
        pa.array(np.arange(total + 1, dtype=np.int32)),
        pa.StructArray.from_arrays([pa.array(["user"] * total), prompt], names=["role", "content"]),
    )
    columns = {
        "pair_id": pa.concat_arrays([ids, _ids("d", len(dup)), _ids("f", len(flip))]),
        "prompt_id": _ids("q", total),
        "pairset_id": pairset,
        "conversation": conversation,
        "chosen": chosen,
        "rejected": rejected,
        "is_tie": pa.array(np.zeros(total, dtype=bool)),
        "category": pa.array(np.array(["coding", "math", "chat", "advice"])[rng.integers(0, 4, total)]),
        "label_origin": pa.array(["human"] * total),
        "label_details": pa.nulls(total, pa.string()),
        "source": pa.array(np.array(["synth-a", "synth-b"])[rng.integers(0, 2, total)]),
        "source_file": pa.array(["synth.jsonl"] * total),
        "source_row": pa.array(np.arange(total, dtype=np.int64)),
        "ingest_batch_id": pa.array(["synth"] * total),
        "ingested_at": pa.array(np.full(total, np.datetime64("2026-01-01T00:00:00", "us")) + np.arange(total)),
    }
    return pa.table(columns).cast(PAIRS)


def synth_signals(pairs: pa.Table, seed: int = 1) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    n = pairs.num_rows
    ids = pairs["pair_id"].combine_chunks()

    def sample(share: float) -> pa.Array:
        return ids.take(pa.array(rng.choice(n, max(1, int(n * share)), replace=False)))

    def const(value: object, k: int, typ: pa.DataType | None = None) -> pa.Array:
        return pa.array([value] * k, typ)

    gold = sample(0.02)
    k = len(gold)
    human = pa.table(
        {
            "label_id": _ids("l", k), "pair_id": gold, "round": const(1, k, pa.int32()),
            "annotator": pa.array(np.array(["ann0", "ann1", "ann2"])[rng.integers(0, 3, k)]),
            "verdict": pa.array(np.where(rng.random(k) < 0.85, "chosen", "rejected")),
            "is_chosen_shown_first": const(True, k), "note": pa.nulls(k, pa.string()),
            "tools": pa.nulls(k, pa.list_(pa.string())), "origin": const("app", k), "labeled_at": const(T0, k),
        }
    )  # fmt: skip
    judged = sample(0.05).take(pa.array(np.repeat(np.arange(int(n * 0.05) or 1), 3)))
    k = len(judged)
    judge = pa.table(
        {
            "pair_id": judged, "round": const(1, k, pa.int32()), "model": const("judge-a", k),
            "template_version": const("v1", k), "sample": pa.array(np.tile([0, 1, 2], k // 3), pa.int32()),
            "is_chosen_shown_first": const(True, k),
            "vote": pa.array(np.where(rng.random(k) < 0.8, "chosen", "rejected")),
            "rationale": pa.nulls(k, pa.string()), "raw_output": pa.nulls(k, pa.string()),
            "n_demonstrations": const(4, k, pa.int32()), "judged_at": const(T0, k),
        }
    )  # fmt: skip
    gates = [{"round": 1, "model": "judge-a", "template_version": "v1", "n_gold": 100, "accuracy": 0.9,
              "accuracy_chosen_first": 0.9, "accuracy_chosen_second": 0.9, "position_bias": 0.5, "threshold": 0.7,
              "is_trusted": True, "measured_at": T0}]  # fmt: skip
    runs = [{"run_id": f"rm-{r}", "run_dir": r, "role": r, "round": 1, "backbone": "synth", "train_table": "pairs",
             "train_version": 1, "train_tag": None, "gold_accuracy": 0.7, "created_at": T0}
            for r in ("gold", "best")]  # fmt: skip
    margins = {r: rng.normal(0.8, 1.5, n).astype(np.float32) for r in ("gold", "best")}
    scores = pa.concat_tables(
        [
            pa.table(
                {
                    "run_id": const(f"rm-{r}", n), "pair_id": ids, "reward_chosen": m, "reward_rejected": np.zeros_like(m),
                    "margin": m, "p": (1 / (1 + np.exp(-m))).astype(np.float32), "scored_at": const(T0, n),
                }
            ).cast(RM_SCORES)
            for r, m in margins.items()
        ]
    )  # fmt: skip
    clustered = sample(0.1)
    k = len(clustered)
    reps = clustered.take(pa.array((np.arange(k) // 5) * 5))  # clusters of 5, the first is the representative
    neighbours = pa.table(
        {
            "pair_id": clustered, "cluster_id": reps, "is_representative": pc.equal(clustered, reps),
            "similarity": const(0.95, k, pa.float32()), "threshold": const(0.9, k, pa.float32()),
            "model": const("minilm", k), "computed_at": const(T0, k),
        }
    )  # fmt: skip
    annotated = sample(0.2)
    k = len(annotated)
    attributes = pa.table(
        {
            "pair_id": annotated, "status": const("ok", k),
            "task_category": pa.array(np.array(["coding", "math", "safety-sensitive"])[rng.integers(0, 3, k)]),
            "objectivity": const("objective", k), "controversiality": const("low", k),
            "desired_attributes": pa.nulls(k, pa.list_(pa.string())), "guideline": pa.nulls(k, pa.string()),
            "raw_output": pa.nulls(k, pa.string()), "error": pa.nulls(k, pa.string()), "model": const("m", k),
            "template_version": const("v1", k), "annotated_at": const(T0, k),
        }
    )  # fmt: skip
    bench = [{"benchmark": "aqueducts", "prompt_id": "b0", "prompt": BENCH_PROMPT, "source_file": "b",
              "source_row": 0, "ingest_batch_id": "b", "ingested_at": T0}]  # fmt: skip
    return {
        "human_labels": human.cast(HUMAN_LABELS),
        "judge_labels": judge.cast(JUDGE_LABELS),
        "judge_gates": pa.Table.from_pylist(gates, schema=JUDGE_GATES),
        "rm_runs": pa.Table.from_pylist(runs, schema=RM_RUNS),
        "rm_scores": scores,
        "neighbours": neighbours.cast(NEIGHBOURS),
        "attributes": attributes.cast(ATTRIBUTES),
        "benchmark_prompts": pa.Table.from_pylist(bench, schema=BENCHMARK_PROMPTS),
    }


# ============================================================================ the hand-written curation
HAND_SQL = r"""
create or replace table hand_curated as
with
p as (
    select pair_id, prompt_id, source, category, is_tie, ingested_at,
        hash(regexp_replace(lower(trim(array_to_string(list_transform(conversation, t -> t.role || ': ' || t.content), chr(10)))), '\s+', ' ', 'g')) as ch_conv,
        hash(regexp_replace(lower(trim(chosen)), '\s+', ' ', 'g')) as ch_c,
        hash(regexp_replace(lower(trim(rejected)), '\s+', ' ', 'g')) as ch_r,
        length(trim(chosen)) as lc, length(trim(rejected)) as lr, right(rtrim(chosen), 1) as last_c,
        regexp_extract_all(lower(list_filter(conversation, t -> t.role = 'user')[1].content), '[\pL\pN]+') as words
    from pairs
),
k as (
    select *, hash(ch_conv, ch_c, ch_r) as dkey, hash(ch_conv, least(ch_c, ch_r), greatest(ch_c, ch_r)) as skey,
        ch_c < ch_r as orient,
        row_number() over (partition by hash(ch_conv, ch_c, ch_r) order by ingested_at, pair_id) as dup_rank
    from p
),
conflicts as (select skey from k where not is_tie group by skey having count(distinct orient) > 1),
bw as (select regexp_extract_all(lower(prompt), '[\pL\pN]+') as words from benchmark_prompts),
b7 as (select distinct hash(words[i:i + 6]) as g from (select words, unnest(range(1, len(words) - 5)) as i from bw where len(words) >= 13)),
b13 as (select distinct hash(words[i:i + 12]) as g from (select words, unnest(range(1, len(words) - 11)) as i from bw where len(words) >= 13)),
cand as (
    select distinct prompt_id, words from (
        select prompt_id, words, hash(words[i:i + 6]) as g
        from (select prompt_id, words, unnest(range(1, len(words) - 5, 7)) as i from k where len(words) >= 13)
    ) semi join b7 using (g)
),
contam as (
    select distinct prompt_id from (
        select prompt_id, hash(words[i:i + 12]) as g from (select prompt_id, words, unnest(range(1, len(words) - 11)) as i from cand)
    ) semi join b13 using (g)
),
nd as (
    select pair_id, not is_representative and cluster_id <> pair_id as is_nd from neighbours
    qualify row_number() over (partition by pair_id order by computed_at desc, cluster_id) = 1
),
attr as (
    select pair_id, lower(trim(task_category)) as task_category from attributes where status = 'ok'
    qualify row_number() over (partition by pair_id order by annotated_at desc, model) = 1
),
hl as (
    select pair_id, count(*) filter (where verdict = 'chosen') as nc, count(*) filter (where verdict = 'rejected') as nr
    from (select * from human_labels where round <= 1
          qualify row_number() over (partition by pair_id, annotator order by labeled_at desc, label_id desc) = 1)
    group by pair_id
),
trusted as (
    select model, template_version from judge_gates where round <= 1
    qualify row_number() over (partition by model, template_version order by round desc, measured_at desc) = 1 and is_trusted
),
jv as (
    select pair_id, count(*) as nv, count(*) filter (where vote = 'chosen') as nc, count(*) filter (where vote = 'rejected') as nr
    from judge_labels join trusted using (model, template_version)
    where round <= 1 and vote in ('chosen', 'rejected')
    group by pair_id
),
runs as (
    select role, run_id from rm_runs where role in ('gold', 'best') and coalesce(round, 0) <= 1
    qualify row_number() over (partition by role order by created_at desc, run_id desc) = 1
),
rm as (
    select s.pair_id, arg_max(s.margin, s.scored_at) filter (where runs.role = 'gold') as gm,
        arg_max(s.margin, s.scored_at) filter (where runs.role = 'best') as bm
    from rm_scores s join runs using (run_id)
    group by s.pair_id
),
sig as (
    select k.pair_id, k.source, coalesce(attr.task_category, lower(k.category), 'unknown') as task_category,
        list_filter([
            case when k.is_tie then 'tie' end,
            case when k.dup_rank > 1 then 'exact_duplicate' end,
            case when c.skey is not null then 'conflict' end,
            case when k.lc = 0 or k.lr = 0 then 'empty_side' end,
            case when k.lc > 0 and k.ch_c = k.ch_r then 'identical_responses' end,
            case when k.lc >= 200 and not contains('.!?)]}"''`*:;>|…。！？', k.last_c) then 'truncated_response' end,
            case when least(k.lc, k.lr) > 0 and greatest(k.lc, k.lr) >= 20
                 and greatest(k.lc, k.lr) / least(k.lc, k.lr) > 20.0 then 'extreme_length_ratio' end,
            case when ct.prompt_id is not null then 'contaminated' end,
            case when nd.is_nd then 'near_duplicate' end,
            case when attr.task_category = 'safety-sensitive' then 'task_category_filtered' end,
            case when hl.nc + hl.nr = 0 then 'human_discarded' end
        ], r -> r is not null) as filters,
        case when hl.pair_id is null or hl.nc + hl.nr = 0 then 'missing'
             when hl.nc / (hl.nc + hl.nr) > 0.5 then 'agree' when hl.nr / (hl.nc + hl.nr) > 0.5 then 'disagree'
             else 'uncertain' end as hs,
        case when jv.pair_id is null then 'missing' when jv.nv < 1 then 'uncertain' when jv.nc / jv.nv > 0.5 then 'agree'
             when jv.nr / jv.nv > 0.5 then 'disagree' else 'uncertain' end as js,
        case when rm.gm is null then 'missing' when rm.gm > 0 then 'agree' when rm.gm < 0 then 'disagree' else 'uncertain' end as gs,
        case when rm.bm is null then 'missing' when rm.bm > 0 then 'agree' when rm.bm < 0 then 'disagree' else 'uncertain' end as bs
    from k
    left join conflicts c using (skey)
    left join contam ct using (prompt_id)
    left join nd using (pair_id)
    left join attr using (pair_id)
    left join hl using (pair_id)
    left join jv using (pair_id)
    left join rm using (pair_id)
)
select pair_id, source, task_category,
    case when len(filters) > 0 then 'drop'
         when hs = 'agree' then 'keep' when hs = 'disagree' then 'flip' when hs = 'uncertain' then 'drop'
         when gs = 'missing' then 'drop'
         when gs = 'agree' and 'agree' in (js, bs) then 'keep'
         else 'flip' end as decision,
    filters as reasons
from sig;

create or replace table hand_summary as
select source, task_category, decision, count(*) as n_pairs from hand_curated group by all;
"""

TABLES = ("pairs", "benchmark_prompts", "neighbours", "attributes", "human_labels", "judge_gates", "judge_labels",
          "rm_runs", "rm_scores")  # fmt: skip


def run_hand(lake: Lake, db: Path, threads: int) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    con = duckdb.connect(str(db), config={"threads": threads, "autoinstall_known_extensions": False})
    con.execute("set preserve_insertion_order = false")
    for table in TABLES:
        con.register(table, lake.dataset(table))
    con.execute(HAND_SQL)
    counts = dict(con.execute("select decision, count(*) from hand_curated group by 1").fetchall())
    con.close()
    return time.perf_counter() - start, counts


def run_dbt(lake: Lake, threads: int) -> tuple[float, dict[str, int], dbt_runner.BuildResult]:
    start = time.perf_counter()
    result = dbt_runner.run_dbt(
        lake, "build", round=1, stage=2, vars={"dropped_task_categories": ["safety-sensitive"]}, duckdb_threads=threads
    )
    wall = time.perf_counter() - start
    if not result.success:
        raise SystemExit("dbt build failed: " + "; ".join(result.failures))
    con = duckdb.connect(result.duckdb_path, read_only=True)
    counts = dict(con.execute("select decision, count(*) from curated_pairs group by 1").fetchall())
    con.close()
    return wall, counts, result


def bench(n: int, threads: int, workdir: Path) -> dict[str, object]:
    root = workdir / f"lake-{n}"
    shutil.rmtree(root, ignore_errors=True)
    lake = Lake(root)
    t = time.perf_counter()
    pairs = synth_pairs(n)
    signals = synth_signals(pairs)
    with lake.transaction(f"synthetic {n}") as txn:
        txn.append("pairs", pairs)
        for table, rows in signals.items():
            txn.append(table, rows)
    setup = time.perf_counter() - t
    dbt_wall, dbt_counts, result = run_dbt(lake, threads)
    hand_wall, hand_counts = run_hand(lake, workdir / f"hand-{n}.duckdb", threads)
    if dbt_counts != hand_counts:
        raise SystemExit(f"dbt and the hand SQL disagree: {dbt_counts} vs {hand_counts}")
    return {
        "pairs": pairs.num_rows,
        "threads": threads,
        "setup_s": round(setup, 2),
        "dbt_build_s": round(dbt_wall, 2),
        "dbt_nodes_s": round(
            json.loads((Path(result.target_path) / "run_results.json").read_text())["elapsed_time"], 2
        ),
        "hand_sql_s": round(hand_wall, 2),
        "ratio": round(dbt_wall / hand_wall, 2),
        "decisions": dbt_counts,
        "dbt_nodes": result.counts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="pairs per run")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (the target is 2 cores)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the lakes go (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="prefhouse-dbt-bench-"))
    results = []
    for n in args.sizes:
        row = bench(n, args.threads, workdir)
        row["loadavg_1m"] = round(os.getloadavg()[0], 1)
        print(json.dumps(row), flush=True)
        results.append(row)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
