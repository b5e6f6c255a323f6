"""``prefhouse demo``: the whole loop on the repo's sample data, on CPU, in one command.

1. Ingest a sample of each hh-rlhf test split and the PandaLM test set as pairs, and the
   LLMBar and EvalBiasBench prompts as benchmark prompts (for 13-gram decontamination).
2. Seed gold with PandaLM's real per-annotator labels.
3. Run Stage-1 rounds and one Stage-2 round (each recorded, gated, published, reported); each
   round evaluates its reward models on the same LLMBar and EvalBiasBench files (``rm_eval``),
   a few items per file spread over the file's categories.
4. Print every source's trust and each round's benchmark accuracy beside its gold accuracy,
   run a few SQL queries and print where the curated snapshot, the report and SQL are.

Safe to re-run on the same lake: ingest adds nothing twice and finished rounds are kept.
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from lake import Lake

HH_SPLITS = ("helpful-base", "harmless-base", "helpful-online", "helpful-rejection-sampled")
QUERIES = (
    ("pairs per source", "select source, count(*) as pairs from pairs group by 1 order by 2 desc"),
    ("rounds and their steps", "select round, stage, count(*) filter (where status = 'done') as done, "
     "count(*) filter (where status = 'skipped') as skipped from round_steps group by all order by 1"),
    ("published kept set by provenance (latest round)",
     "select label_provenance, count(*) as pairs from curated group by 1 order by 2 desc"),
)  # fmt: skip


@dataclass
class DemoConfig:
    """The demo's knobs (defaults fit 2 CPU cores in well under 15 minutes)."""

    data: Path = field(default=Path("data"), metadata={"help": "the sample data folder of the repo"})
    per_split: int = field(default=250, metadata={"help": "hh-rlhf rows taken from each test split"})
    stage1_rounds: int = field(default=2, metadata={"help": "Stage-1 rounds before the Stage-2 round"})
    rm_max_steps: int = field(default=20, metadata={"help": "optimizer steps per reward model"})
    rm_gold_limit: int = field(default=200, metadata={"help": "gold pairs each reward model is validated on"})
    rm_limit: int = field(default=1000, metadata={"help": "training pairs read per reward model"})
    local_llm: bool = field(
        default=True,
        metadata={
            "help": "serve SmolLM2-135M with llama.cpp (the llm-cpu extra) as the LLM backend, to show the "
            "attribute path and the judge gate on a real model; without the extra, LLM steps are skipped"
        },
    )
    bench_limit: int = field(
        default=20,
        metadata={
            "help": "LLMBar and EvalBiasBench items per file (spread over its categories) each round's reward "
            "models are evaluated on; 0: no benchmark eval"
        },
    )
    llm_attributes: int = field(default=4, metadata={"help": "pairs annotated with attributes per round (LLM cost)"})
    llm_gate_gold: int = field(default=12, metadata={"help": "gold pairs each judge is measured on (both orders)"})
    llm_demos: int = field(
        default=1, metadata={"help": "gold demonstrations per judge prompt (the method's 8 cost SmolLM2 minutes)"}
    )


def _say(out: TextIO, text: str) -> None:
    out.write(text + "\n")
    out.flush()


def sample_hh(data: Path, work: Path, n: int) -> list[Path]:
    """The first ``n`` rows of each hh-rlhf test split, written under ``work`` (same layout)."""
    files = []
    for split in HH_SPLITS:
        src = data / "hh-rlhf" / split / "test.jsonl.gz"
        dst = work / "hh-rlhf" / split / "test.jsonl.gz"
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(src, "rt", encoding="utf-8") as fin, gzip.open(dst, "wt", encoding="utf-8") as fout:
                for i, line in enumerate(fin):
                    if i >= n:
                        break
                    fout.write(line)
        files.append(dst)
    return files


def ingest_samples(lake: Lake, cfg: DemoConfig, out: TextIO) -> None:
    from pipelines.ingest import ingest_paths

    data = cfg.data
    if not (data / "hh-rlhf").exists():
        raise FileNotFoundError(f"no sample data at {data.resolve()}: run the demo from the repo root or pass --data")
    jobs = [
        (p, "hh-rlhf", f"hh-rlhf:{p.parent.name}", False)
        for p in sample_hh(data, lake.root / "_demo_inputs", cfg.per_split)
    ]
    jobs += [
        (data / "pandalm" / "testset-v1.json", "pandalm", "pandalm", False),
        (data / "llmbar", "auto", "llmbar", True),
        (data / "evalbiasbench" / "biasbench.json", "auto", "evalbiasbench", True),
    ]
    for path, fmt, source, bench in jobs:
        rep = ingest_paths(lake, [path], format=fmt, source=source, as_benchmark=bench)
        kind = "benchmark prompts" if bench else "pairs"
        _say(out, f"  ingest {source:<36} read {rep.n_read:>5}  new {kind} {rep.n_accepted:>5}  "
                  f"duplicate {rep.n_duplicate:>4}  quarantined {rep.n_quarantined:>3}")  # fmt: skip


def start_llm(cfg: DemoConfig, out: TextIO) -> tuple[str | None, Callable[[], None]]:
    """Start the local SmolLM2 server when asked and installed; (base_url or None, stop)."""
    if not cfg.local_llm or os.environ.get("OPENAI_BASE_URL"):
        return None, lambda: None
    from pipelines.annotate.local import local_llm_available, start_local_llm

    reason = local_llm_available()
    if reason:
        _say(out, f"  no local LLM ({reason}): attribute and judge steps will be skipped")
        return None, lambda: None
    base_url, stop = start_local_llm()
    _say(out, f"  local LLM: SmolLM2-135M-Instruct via llama.cpp at {base_url} (a real model, and a useless judge:")
    _say(out, "  the judge gate on gold must reject it, and then no LLM votes are used)")
    return base_url, stop


def eval_benchmarks(data: Path) -> list[Path]:
    """The shipped benchmarks the rounds evaluate on (as NAME=PATH): LLMBar proper (Natural and the
    four Adversarial sets; its Processed copies of other benchmarks are left out) and EvalBiasBench."""
    return [
        Path(f"LLMBar={data / 'llmbar' / 'LLMBar'}"),
        Path(f"EvalBiasBench={data / 'evalbiasbench' / 'biasbench.json'}"),
    ]


def run_rounds(lake: Lake, cfg: DemoConfig, out: TextIO, llm_url: str | None = None) -> dict[int, str]:
    from lake.configargs import config_from_options
    from pipelines.rounds.config import RoundConfig
    from pipelines.rounds.plan import run_configured_round

    status = {}
    plan = [(r, 1) for r in range(1, cfg.stage1_rounds + 1)] + [(cfg.stage1_rounds + 1, 2)]
    for rnd, stage in plan:
        t0 = time.perf_counter()
        _say(out, f"\n== round {rnd} (stage {stage}) ==")
        rc = config_from_options(
            RoundConfig,
            round=rnd,
            stage=stage,
            rm_max_steps=cfg.rm_max_steps,
            rm_limit=cfg.rm_limit,
            rm_gold_limit=cfg.rm_gold_limit,
            judge_base_url=llm_url,
            judge_samples=1,
            judge_gold=cfg.llm_gate_gold,
            judge_max_demos=cfg.llm_demos,
            attributes_limit=cfg.llm_attributes,
            eval_benchmarks=eval_benchmarks(cfg.data) if cfg.bench_limit > 0 else [],
            eval_limit=cfg.bench_limit,
        )
        outcome = run_configured_round(lake, rc, log=lambda m: _say(out, "  " + m))
        status[rnd] = outcome.status
        _say(out, f"  round {rnd}: {outcome.status} in {time.perf_counter() - t0:.0f} s")
        if outcome.status != "done":
            _say(out, "  " + outcome.message.replace("\n", "\n  "))
            break
    return status


def show_trust(lake: Lake, out: TextIO) -> None:
    """Every label source measured on gold, per round, and whether the trust rule let it vote."""
    from lake.rules import TrustRule
    from pipelines.trust.roles import trust_rows, why, with_trust

    rule = TrustRule.default()
    rows = sorted(with_trust(trust_rows(lake), rule), key=lambda r: (r["round"], r["source_kind"], r["source_id"]))
    if not rows:
        return
    _say(out, f"\n== trust of every label source (rule: {rule.describe()}) ==")
    for r in rows:
        basis = f"; trained on {r['label_basis']}" if r.get("label_basis") else ""
        _say(out, f"  round {r['round']} {why(r, rule)}{basis}")


def show_benchmarks(lake: Lake, out: TextIO) -> None:
    """Each round's reward models on the benchmarks, beside their accuracy on gold they never saw."""
    from pipelines.report.benchmarks import benchmark_rows
    from pipelines.trust.roles import trust_rows

    rows = benchmark_rows(lake)
    if not rows:
        return
    measured = sorted(
        (r for r in trust_rows(lake).to_pylist() if r["source_kind"] == "rm"), key=lambda r: r["measured_at"]
    )
    gold = {(r["round"], r["role"]): r for r in measured}  # the latest measurement of each round's role
    _say(out, "\n== benchmark accuracy per round (rm_eval) beside out-of-sample gold accuracy (source_trust) ==")
    by: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault((r["round"], r["role"], r["run_id"]), []).append(r)
    for (rnd, role, run_id), benches in sorted(by.items()):
        g = gold.get((rnd, role))
        said = []
        if g and g["n"]:
            said.append(f"gold {g['accuracy']:.3f} [{g['ci_low']:.3f}, {g['ci_high']:.3f}] on {g['n']} (out of sample)")
        for b in benches:
            acc, bias = b["accuracy"], b["length_bias_accuracy"]
            probe = f", length-bias {bias:.3f}" if bias is not None else ""
            said.append(f"{b['bench']} {'-' if acc is None else f'{acc:.3f}'} (n {b['n']}{probe})")
        _say(out, f"  round {rnd} {role} RM {run_id}: " + "; ".join(said))


def show_decisions(lake: Lake, round: int, out: TextIO) -> None:
    """What the last round changed and on whose evidence, in words."""
    from lake.sql import query

    tag = f"round-{round}"
    if tag not in lake.tags("curated"):
        return
    kept = query(lake, f'select label_provenance, count(*) as n from "curated@{tag}" group by 1').to_pylist()
    flipped = query(lake, f'select label_provenance, count(*) as n from "flipped@{tag}" group by 1').to_pylist()
    by_rm = sum(r["n"] for r in flipped if r["label_provenance"] == "rm")
    _say(out, f"\n== what round {round} decided ==")
    _say(out, "  kept by provenance   : " + ", ".join(f"{r['label_provenance']} {r['n']}" for r in kept))
    _say(out, "  flipped by provenance: " + (", ".join(f"{r['label_provenance']} {r['n']}" for r in flipped) or "none"))
    _say(out, f"  {by_rm} pairs flipped on reward-model grounds. " + _why_rms(lake, round))


def _why_rms(lake: Lake, round: int) -> str:
    """Why the round's reward models could (not) decide, in words."""
    from lake.rules import TrustRule
    from pipelines.trust.roles import trust_rows, with_trust

    rms = {r["role"]: r for r in with_trust(trust_rows(lake, round), TrustRule.default()) if r["source_kind"] == "rm"}
    said = []
    for role in ("gold", "best", "silver"):
        r = rms.get(role)
        if r:
            ci = f"{r['accuracy']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] on {r['n']} gold pairs"
            said.append(f"the {role} RM {'was' if r['is_trusted'] else 'was NOT'} trusted ({ci})")
    if not said:
        return "No reward model was measured this round."
    text = "; ".join(said) + "."
    text = text[0].upper() + text[1:]
    if not all(r["is_trusted"] for role, r in rms.items() if role in ("gold", "best")):
        text += (" A pair is only verified or flipped when the gold RM and a second trusted source (the best RM"
                 " or trusted judges) agree; without both, untrusted votes stay evidence only and every unverified"
                 " pair keeps its original label (provenance 'original').")  # fmt: skip
    return text + _unmeasured_sources(lake)


def _unmeasured_sources(lake: Lake) -> str:
    """Data sources with no gold pair: every trust figure was measured on other data."""
    from lake.labels import gold_verdicts
    from lake.sql import query

    gold = set(gold_verdicts(lake))
    rows = query(lake, "select pair_id, split_part(source, ':', 1) as src from pairs").to_pylist()
    by: dict[str, list[int]] = {}
    for r in rows:
        by.setdefault(r["src"], [0, 0])[r["pair_id"] in gold] += 1
    blind = {src: n[0] for src, n in by.items() if n[1] == 0}
    if not blind:
        return ""
    named = ", ".join(f"{src} ({n} pairs)" for src, n in sorted(blind.items()))
    return (
        f" Note: gold holds no pair of {named}; every trust figure above was measured on the other"
        " sources' gold, so it says nothing certain about these pairs."
    )


def published_join(round: int) -> tuple[str, str]:
    """The round's published sets, its marts and ``pairs`` in one query (the analyst file answers it too)."""
    return (
        f"what round {round} published, by rule and source (tags, the round's marts and pairs in one query)",
        f"select m.decision, m.decision_rule, p.source, count(*) as pairs, "
        f"round(avg(length(p.chosen))) as chosen_chars, round(avg(length(p.rejected))) as rejected_chars "
        f'from (select pair_id from "curated@round-{round}" union all select pair_id from "flipped@round-{round}") t '
        f"join marts_round_{round}.curated_pairs m using (pair_id) join pairs p using (pair_id) "
        f"group by all order by 4 desc",
    )


def show_sql(lake: Lake, out: TextIO, round: int) -> None:
    from lake.sql import query

    queries = list(QUERIES)
    if f"round-{round}" in lake.tags("curated") and f"round-{round}" in lake.tags("flipped"):
        queries.append(published_join(round))
    for title, sql in queries:
        _say(out, f"\n-- {title}\n{sql}")
        table = query(lake, sql)
        for row in table.to_pylist()[:12]:
            _say(out, "   " + "  ".join(f"{v}" for v in row.values()))


def run_demo(lake: Lake, cfg: DemoConfig, out: TextIO) -> int:
    """The demo; returns the exit code (0 when every round published)."""
    t0 = time.perf_counter()
    _say(out, f"prefhouse demo: lake at {lake.root}")
    _say(out, "\n== ingest the sample data ==")
    ingest_samples(lake, cfg, out)
    from pipelines.labelapp.importers import import_original

    seeded = import_original(lake, "pandalm", round=0)
    _say(out, f"  gold seed: {seeded.get('imported', 0)} PandaLM annotator labels imported "
              f"({seeded.get('already_imported', 0)} already there)")  # fmt: skip
    _say(out, "\n== LLM backend ==")
    llm_url, stop_llm = start_llm(cfg, out)
    try:
        status = run_rounds(lake, cfg, out, llm_url)
    finally:
        stop_llm()
    last = max(status)
    show_trust(lake, out)
    show_benchmarks(lake, out)
    show_decisions(lake, last, out)
    show_sql(lake, out, last)
    from pipelines.report.collect import report_dir

    _say(out, f"\n== done in {time.perf_counter() - t0:.0f} s ==")
    tag = f"round-{last}"
    if tag in lake.tags("curated"):
        n_kept = lake.dataset("curated", tag).count_rows()
        _say(out, f"curated snapshot : {lake.path('curated')} @ tag {tag} ({n_kept} pairs)")
        _say(out, f"flipped set      : {lake.path('flipped')} @ tag {tag}")
        _say(out, f"  train on it    : prefhouse --lake {lake.root} train --table curated --tag {tag}")
    _say(out, f"report           : {report_dir(lake, last) / 'report.html'}")
    _say(out, f"quality gate     : {lake.root / '_quality' / tag / 'index.html'}")
    _say(out, f'SQL entry point  : prefhouse --lake {lake.root} sql "select * from marts.round_summary"')
    _say(out, f"analyst file     : {lake.root / 'lake.duckdb'} (the same tables, tags and marts_round_N.* for any "
              "DuckDB client)")  # fmt: skip
    return 0 if all(s == "done" for s in status.values()) else 1
