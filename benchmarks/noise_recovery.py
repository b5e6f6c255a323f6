"""Does curation recover label noise? Issue 7's proof: controlled pools and real ones (benchmarks/noise_sources.py).

A pool whose true preference is checkable by construction (``pipelines.synth.checkable``:
a real prompt plus a verifiable instruction; chosen satisfies it, rejected is the same real
response edited to break it) gets a known share of flipped labels (seeded). Gold comes from
the truth for a few pairs. The script runs Stage-1 rounds and one Stage-2 round through the
real round runner (RMs, embeddings, retrieval, dbt, gate, publish) and measures

- precision / recall of the Stage-2 drop-or-flip decisions against the injected flips;
- the peer, in the same run on the same pool and the same RM scores: cleanlab's confident
  learning (``cleanlab.filter.find_label_issues``) on the gold RM's probabilities for the pool
  pairs (out of sample: the gold RM trains on gold only), each pair given a seeded random
  orientation so that both classes occur;
- the bound: the flip precision and recall that the rule's measured source accuracies imply
  (flip iff the gold RM and the best RM both disagree, errors assumed independent), and the
  chance check: with no trusted RM the rule must flip nothing on RM grounds;
- held-out accuracy (clean test pairs) of RMs trained with the same budget and seed on the
  raw pool, the kept set, kept + flipped, and the clean pool.

Usage (CPU-sized defaults; the lead reruns the full grid; docs/noise_recovery.md has results):
    .venv/bin/python benchmarks/noise_recovery.py --parts controlled ultrafeedback hh-rlhf \\
        --shares 0.1 0.2 0.4 --hh-shares 0.1 0.2 0.4 --seeds 0 1 2 --out bench-noise.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]


def _gold_rows(pool, ids: list[str], n_gold: int, seed: int):
    """Human labels from the truth for ``n_gold`` seeded pool pairs (a stream independent of the flips)."""
    import random

    import pyarrow as pa

    from lake.schemas import HUMAN_LABELS

    now = datetime.now(UTC)
    picks = random.Random(f"gold:{seed}").sample(range(len(pool.noisy)), n_gold)
    rows = [
        dict(label_id=f"truth-{ids[i]}", pair_id=ids[i], round=0, annotator="truth",
             verdict="rejected" if i in pool.flipped else "chosen", is_chosen_shown_first=None, note=None,
             tools=[], origin="import:truth", labeled_at=now)
        for i in picks
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=HUMAN_LABELS), {ids[i] for i in picks}


def _examples(rows):
    from rm.data import Example

    return [Example(r["conversation"], r["chosen"], r["rejected"], r.get("pair_id", "")) for r in rows]


def _held_out_accuracy(cfg, name: str, train, test, out: Path) -> float:
    """Train with the shared budget (no checkpoint selection) and score the clean test pairs."""
    from rm import train_config
    from rm.data import encode
    from rm.inference import load_run, pair_metrics, score_encoded
    from rm.train import train_examples

    if not train:
        return float("nan")
    tc = train_config(
        "cpu", out=out / f"rm-{name}", run_id=f"rm-{name}", max_steps=cfg.rm_steps, max_length=cfg.max_length,
        batch_size=16, seed=cfg.seed_rm, eval_every=10**9, val_fraction=0.0, lr=cfg.rm_lr,
        **({"backbone": cfg.rm_backbone} if cfg.rm_backbone else {}),
    )  # fmt: skip
    train_examples(tc, train, [], {"table": name})
    model, tok, _ = load_run(out / f"rm-{name}", device="cpu")
    rc, rr = score_encoded(model, encode(tok, test, cfg.max_length), tok.pad_token_id, 64)
    return pair_metrics(rc, rr)["accuracy"]


def _run_rounds(cfg, lake, workdir: Path, seed: int) -> int:
    from lake.configargs import config_from_options
    from pipelines.rounds.config import RoundConfig
    from pipelines.rounds.plan import run_configured_round

    rounds = [(r, 1) for r in range(1, cfg.stage1_rounds + 1)] + [(cfg.stage1_rounds + 1, 2)]
    for rnd, stage in rounds:
        t = time.perf_counter()
        rc = config_from_options(
            RoundConfig, round=rnd, stage=stage, rm_max_steps=cfg.rm_steps, rm_limit=cfg.n,
            rm_max_length=cfg.max_length, runs_dir=workdir / "runs", seed=seed, rm_lr=cfg.rm_lr,
            rm_backbone=cfg.rm_backbone, gold_rm_folds=cfg.gold_rm_folds, rm_precision=cfg.rm_precision,
            rm_gold_limit=cfg.n_gold, kept_tolerance=cfg.kept_tolerance, neardup=cfg.neardup,
        )  # fmt: skip
        outcome = run_configured_round(lake, rc, log=lambda m: print("   ", m, flush=True))
        if outcome.status != "done":
            raise RuntimeError(f"round {rnd} {outcome.status}: {outcome.message}")
        print(f"    round {rnd} (stage {stage}) took {time.perf_counter() - t:.0f} s", flush=True)
    return rounds[-1][0]


def _decisions(pool, ids: list[str], gold: set[str], kept_ids: set[str], flip_ids: set[str]) -> dict:
    """Precision / recall of drop-or-flip (and of flip alone) against the injected flips, gold pairs left out."""
    judged = [i for i in range(len(pool.noisy)) if ids[i] not in gold]  # gold pairs are decided by the truth
    caught = {i for i in judged if ids[i] not in kept_ids}
    flips = {i for i in judged if ids[i] in flip_ids}
    injected = {i for i in judged if i in pool.flipped}
    ratio = _ratio

    return {
        "n_judged": len(judged), "n_injected": len(injected), "n_dropped_or_flipped": len(caught),
        "n_flip_decisions": len(flips),
        "precision": ratio(len(caught & injected), len(caught)),
        "recall": ratio(len(caught & injected), len(injected)),
        "flip_precision": ratio(len(flips & injected), len(flips)),
        "flip_recall": ratio(len(flips & injected), len(injected)),
    }  # fmt: skip


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def _cleanlab(lake, pool, ids: list[str], gold: set[str], run_id: str, seed: int) -> dict:
    """Confident learning on the gold RM's out-of-sample p of the pool pairs (cleanlab is a benchmark dependency)."""
    import random

    import numpy as np
    from cleanlab.filter import find_label_issues

    from pipelines.trust.measure import run_scores

    judged = [i for i in range(len(pool.noisy)) if ids[i] not in gold]
    p_of = run_scores(lake, run_id, [ids[i] for i in judged])
    judged = [i for i in judged if ids[i] in p_of]
    rng = random.Random(f"cleanlab:{seed}")
    labels, probs = [], []
    for i in judged:  # label 1: the stored chosen side is the better one; swap half so both classes occur
        p = p_of[ids[i]]
        keep = rng.random() < 0.5
        labels.append(1 if keep else 0)
        probs.append([1 - p, p] if keep else [p, 1 - p])
    issues = find_label_issues(np.asarray(labels), np.asarray(probs))
    flagged = {judged[k] for k in np.flatnonzero(issues)}
    injected = {i for i in judged if i in pool.flipped}
    return {"cleanlab_n_flagged": len(flagged),
            "cleanlab_precision": _ratio(len(flagged & injected), len(flagged)),
            "cleanlab_recall": _ratio(len(flagged & injected), len(injected))}  # fmt: skip


def _bound(lake, last: int, pool, ids: list[str], gold: set[str], flip_rows: list[dict]) -> dict:
    """Trust of the round's RMs, the flip precision / recall their measured accuracies imply, and RM flips."""
    import pyarrow as pa

    from lake.rules import TrustRule
    from lake.schemas import SOURCE_TRUST
    from pipelines.trust.roles import trust_rows

    rows = {r["role"]: r for r in trust_rows(lake, last).to_pylist() if r["source_kind"] == "rm"}
    out: dict = {}
    for role in ("gold", "best"):
        r = rows.get(role)
        out[f"{role}_rm_acc"] = r["accuracy"] if r else float("nan")
        out[f"{role}_rm_ci"] = [r["ci_low"], r["ci_high"]] if r else None
        ok = bool(r) and TrustRule.default().apply(pa.Table.from_pylist([r], schema=SOURCE_TRUST))[0]
        out[f"{role}_rm_trusted"] = ok
    q = len([i for i in pool.flipped if ids[i] not in gold]) / max(1, len([i for i in ids if i not in gold]))
    ag, ab = out["gold_rm_acc"], out["best_rm_acc"]
    hit, false = ag * ab, (1 - ag) * (1 - ab)
    out["bound_flip_recall"] = hit
    out["bound_flip_precision"] = _ratio(q * hit, q * hit + (1 - q) * false) if hit == hit else float("nan")
    out["n_rm_flips"] = sum(r["label_provenance"] == "rm" for r in flip_rows)
    both = out["gold_rm_trusted"] and out["best_rm_trusted"]
    out["chance_check"] = "ok" if both or out["n_rm_flips"] == 0 else "FAIL"  # untrusted RMs may flip nothing
    return out


def run_one(cfg, pool, seed: int, workdir: Path) -> dict:
    from benchmarks.noise_sources import pairs_table
    from lake import Lake

    t0 = time.perf_counter()
    lake = Lake(workdir / "lake")
    table = pairs_table(pool)
    ids = table.column("pair_id").to_pylist()
    if len(set(ids)) != len(ids):
        raise ValueError(f"{pool.name}: duplicate pair ids in the pool; the benchmark needs one row per pair")
    lake.append("pairs", table, "noise-recovery pool")
    gold_table, gold = _gold_rows(pool, ids, cfg.n_gold, seed)
    lake.append("human_labels", gold_table, "gold from the truth")
    last = _run_rounds(cfg, lake, workdir, seed)
    kept_rows = lake.dataset("curated", f"round-{last}").to_table().to_pylist()
    flip_rows = lake.dataset("flipped", f"round-{last}").to_table().to_pylist()
    result = {"pool": pool.name, "seed": seed, "n_pool": len(pool.noisy), "n_gold": len(gold),
              "n_test": len(pool.test), "n_kept": len(kept_rows), "n_flipped": len(flip_rows)}  # fmt: skip
    result.update(_decisions(pool, ids, gold, {r["pair_id"] for r in kept_rows}, {r["pair_id"] for r in flip_rows}))
    result.update(_bound(lake, last, pool, ids, gold, flip_rows))
    result.update(_cleanlab(lake, pool, ids, gold, f"round-{last}-gold", seed))
    result["rounds_seconds"] = round(time.perf_counter() - t0, 1)
    test_ex = _examples(pool.test)
    sets = {"raw": pool.noisy, "kept": kept_rows, "kept+flipped": kept_rows + flip_rows, "clean": pool.clean}
    for name, train in sets.items():
        acc = float("nan") if cfg.skip_accuracy else _held_out_accuracy(cfg, name, _examples(train), test_ex, workdir)
        result[f"acc_{name}"] = acc
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def _spread(values: list[float]) -> str:
    vals = [v for v in values if v == v]
    if not vals:
        return "n/a"
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{statistics.mean(vals):.3f} ± {sd:.3f}"


COLS = ["precision", "recall", "flip_precision", "flip_recall", "cleanlab_precision", "cleanlab_recall",
        "bound_flip_precision", "bound_flip_recall", "gold_rm_acc", "best_rm_acc", "n_rm_flips",
        "acc_raw", "acc_kept", "acc_kept+flipped", "acc_clean"]  # fmt: skip
HEADS = ["drop/flip precision", "drop/flip recall", "flip precision", "flip recall", "cleanlab precision",
         "cleanlab recall", "bound flip precision", "bound flip recall", "gold RM acc (oof)",
         "best RM acc (trust half)", "RM flips", "acc raw", "acc kept", "acc kept+flipped", "acc clean"]  # fmt: skip


def markdown(results: list[dict]) -> str:
    """One row per pool: mean ± sd over the seeds (n/a where a ratio had no denominator), and the chance check.

    Columns no run measured (the accuracies under --skip-accuracy) are left out."""
    pairs = [(c, h) for c, h in zip(COLS, HEADS, strict=True)
             if not c.startswith("acc_") or any(r.get(c) == r.get(c) for r in results)]  # fmt: skip
    cols = [c for c, _ in pairs]
    head = "| pool | seeds | " + " | ".join(h for _, h in pairs)
    head += " | trusted RMs (gold, best) per seed | chance check |"
    lines = [head, "|" + " --- |" * (len(cols) + 4)]
    for name in dict.fromkeys(r["pool"] for r in results):
        rs = [r for r in results if r["pool"] == name]
        trusted = " ".join(f"({'y' if r['gold_rm_trusted'] else 'n'},{'y' if r['best_rm_trusted'] else 'n'})"
                           for r in rs)  # fmt: skip
        checks = "ok" if all(r["chance_check"] == "ok" for r in rs) else "FAIL"
        lines.append(f"| {name} | {len(rs)} | " + " | ".join(_spread([r[c] for r in rs]) for c in cols)
                     + f" | {trusted} | {checks} |")  # fmt: skip
    return "\n".join(lines)


def _pools(cfg):
    """(pool builder, seed) for every run the flags ask for, controlled first, in that order."""
    from benchmarks import noise_sources as ns

    jobs = []
    if "controlled" in cfg.parts:
        jobs += [  # seed-major: a run cut short still has every share
            (lambda s=s, d=d: ns.controlled(cfg.n, cfg.n_test, s, d, cfg.data, cfg.kinds), d)
            for d in cfg.seeds
            for s in cfg.shares
        ]
    if "ultrafeedback" in cfg.parts:
        if cfg.ultrafeedback is None or not cfg.ultrafeedback.exists():
            print(f"ultrafeedback: {cfg.ultrafeedback} not found; pass --ultrafeedback DIR (skipped)", flush=True)
        else:
            jobs += [(lambda d=d: ns.ultrafeedback(cfg.n, cfg.n_test, d, cfg.ultrafeedback), d) for d in cfg.seeds]
    if "hh-rlhf" in cfg.parts:
        jobs += [
            (lambda s=s, d=d: ns.hh_rlhf(cfg.n, cfg.n_test, s, d, cfg.data), d)
            for s in cfg.hh_shares
            for d in cfg.seeds
        ]
    return jobs  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    from pipelines.synth.checkable import KINDS

    uf = REPO.parent / "shared" / "data" / "ultrafeedback-binarized-sample"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", nargs="+", default=["controlled"], choices=["controlled", "ultrafeedback", "hh-rlhf"])
    ap.add_argument("--shares", type=float, nargs="+", default=[0.2], help="controlled: injected flip shares")
    ap.add_argument("--hh-shares", type=float, nargs="+", default=[0.2], help="hh-rlhf: injected flip shares")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (pool, flips, gold pick, rounds)")
    ap.add_argument("--n", type=int, default=400, help="pool pairs")
    ap.add_argument("--n-test", type=int, default=200, help="clean held-out test pairs")
    ap.add_argument("--n-gold", type=int, default=60, help="pool pairs with gold labels from the truth")
    ap.add_argument("--stage1-rounds", type=int, default=1, help="Stage-1 rounds before Stage 2")
    ap.add_argument("--rm-steps", type=int, default=60, help="optimizer steps per RM (the shared budget)")
    ap.add_argument("--rm-lr", type=float, default=1e-4, help="learning rate of every RM (rounds and comparisons)")
    ap.add_argument(
        "--rm-backbone",
        default=None,
        help="local Hugging Face model folder for every RM (default: MiniLM; a GPU is used when present)",
    )
    ap.add_argument(
        "--kinds",
        nargs="+",
        default=None,
        choices=list(KINDS),
        help="controlled: the checkable instruction kinds of the pool (default: all five)",
    )
    ap.add_argument(
        "--rm-precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="precision of the rounds' RM training (bf16 autocast also on CPU)",
    )
    ap.add_argument("--seed-rm", type=int, default=0, help="seed of the comparison RMs")
    ap.add_argument("--gold-rm-folds", type=int, default=3, help="folds of the gold RM's cross-fitting")
    ap.add_argument(
        "--kept-tolerance",
        type=float,
        default=0.5,
        help="the gate's bound on the kept fraction's change: a pool with 40%% injected noise rightly "
        "keeps far less in Stage 2 than the pre-filters alone would (the product default is 0.25)",
    )
    ap.add_argument(
        "--neardup",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="run the rounds' near-duplicate step (off: a near-duplicate drop is curation, not the label noise "
        "measured here, and the runs recorded before the step existed ran without it)",
    )
    ap.add_argument(
        "--skip-accuracy",
        action="store_true",
        help="skip the four comparison RMs (held-out accuracy of raw / kept / kept+flipped / clean)",
    )
    ap.add_argument("--max-length", type=int, default=128, help="RM tokens per side")
    ap.add_argument("--data", type=Path, default=REPO / "data", help="the repo's sample data")
    ap.add_argument("--ultrafeedback", type=Path, default=uf if uf.exists() else None,
                    help="folder with label_flip_20.jsonl, train_clean.jsonl, eval_clean.jsonl")  # fmt: skip
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/noise-recovery"), help="scratch folder")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here (rewritten after each run)")
    return ap


def main(argv: list[str] | None = None) -> int:
    import os
    import shutil

    cfg = _parser().parse_args(argv)
    try:  # the peer, checked before the first run rather than after it
        import cleanlab  # noqa: F401
    except ImportError:
        print("noise_recovery needs cleanlab, the peer it compares with: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(2)
    results, t0, load0 = [], time.perf_counter(), os.getloadavg()
    for k, (build, seed) in enumerate(_pools(cfg)):
        pool = build()
        work = cfg.workdir / f"run{k}"
        shutil.rmtree(work, ignore_errors=True)
        print(f"== {pool.name} seed {seed}: {len(pool.noisy)} pairs, {len(pool.flipped)} flipped", flush=True)
        results.append(run_one(cfg, pool, seed, work))
        print(json.dumps(results[-1]), flush=True)
        if cfg.out:  # after each run, so a cut-off run keeps what it measured
            meta = {"argv": sys.argv, "seconds": round(time.perf_counter() - t0, 1), "load_start": load0,
                    "load_now": os.getloadavg(), "cpus": os.cpu_count()}  # fmt: skip
            cfg.out.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print("\n" + markdown(results))
    print(f"\nwall {time.perf_counter() - t0:.0f} s; load average at start {load0}, at end {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
