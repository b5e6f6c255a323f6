"""CLI of the reward-model area: ``prefhouse train``, ``prefhouse score``, ``prefhouse eval``.

Flags are generated from the typed configs in :mod:`rm.config`; handlers are thin (open the
lake, build the config, run, print a JSON summary). torch/transformers load inside handlers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lake.configargs import add_config_args, config_from_args, config_to_dict
from prefhouse.commands.common import open_lake

if TYPE_CHECKING:
    from lake import Lake
    from lake.benchmarks import BenchItem
    from rm.config import EvalConfig

TRAIN_EPILOG = """examples:
  prefhouse train --table curated --tag round-1 --out runs/round-1-silver --role silver --round 1
  prefhouse train --table pairs --version 3 --out runs/try --max-steps 50 --gold-source table --gold-table gold_pairs
  prefhouse train --table curated --tag round-2 --out runs/r2 --preset dev --backbone /models/Qwen3-0.6B
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add train, score and eval to the root parser."""
    from pipelines.scale.cluster import EngineConfig
    from rm.config import EvalConfig, ScoreConfig, TrainConfig

    p = sub.add_parser(
        "train", help="train a Bradley-Terry reward model on a lake snapshot",
        description="Train a reward model (loss -log sigmoid(r_chosen - r_rejected)) on a lake table at a tag or "
        "version. The run folder gets the resolved config, the snapshot read, metrics.jsonl and the best "
        "checkpoint by gold accuracy; the run is registered in rm_runs.",
        epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add_config_args(p, TrainConfig)
    p.add_argument("--gold-tag", dest="gold_at", default=argparse.SUPPRESS, help="alias of --gold-at for a tag")
    p.add_argument(
        "--gold-pair-ids", type=Path, default=None, metavar="FILE",
        help="validate on these pairs (one pair_id per line) of --gold-table instead of the human-labelled gold",
    )  # fmt: skip
    p.add_argument(
        "--nproc-per-node", type=int, default=1, metavar="N",
        help="train on N local processes with FSDP2 under torchrun (one per GPU over nccl; gloo on CPU); "
        "--batch-size stays the global micro-batch, so the loss curve does not depend on N (docs/rm.md)",
    )  # fmt: skip
    p.set_defaults(func=_train)

    p = sub.add_parser(
        "score", help="score lake pairs with a trained run and write the rewards back",
        description="Write reward_chosen/reward_rejected/margin/p for every pair of a table to rm_scores (resumable, "
        "chunk by chunk) and as rm_<run>_* columns on the table (a new table version). With --engine ray the "
        "pairs are scored by a Ray Data job over the table's Lance fragments (the ray extra) and land in one "
        "lake commit; docs/scale.md.",
    )  # fmt: skip
    add_config_args(p, ScoreConfig)
    add_config_args(p, EngineConfig)
    p.set_defaults(func=_score)

    p = sub.add_parser(
        "eval", help="evaluate a run on benchmark files (pairwise, RM-Bench, best-of-N, bias probes)",
        description="Accuracy per category for benchmark files in any layout of the benchmark registry "
        "(RewardBench v1 and 2, RM-Bench, JudgeBench, RMB pairwise and best-of-N, PPE preference and correctness, "
        "LLMBar, EvalBiasBench, best-of-N sets, ingest's pair formats; docs/benchmarks.md), length-bias probes, "
        "and --gold accuracy; rows go to rm_eval and a JSON file. Example: prefhouse eval --run runs/r1 --bench "
        "data/llmbar",
    )  # fmt: skip
    add_config_args(p, EvalConfig)
    p.set_defaults(func=_eval)


def _train(args: argparse.Namespace) -> int:
    from rm.config import TrainConfig, train_config
    from rm.train import train

    names = {f for f in TrainConfig.__dataclass_fields__}
    explicit = {k: v for k, v in vars(args).items() if k in names}
    preset = explicit.pop("preset", "cpu")
    if args.nproc_per_node > 1:
        from rm.distributed import launch

        return launch(args.nproc_per_node, _forwarded(args, {"preset": preset, **explicit}))
    config = train_config(preset, **explicit)
    ids = None
    if args.gold_pair_ids is not None:
        ids = [ln.strip() for ln in Path(args.gold_pair_ids).read_text().splitlines() if ln.strip()]
    result = train(config, open_lake(args, create=False), val_pair_ids=ids)
    print(json.dumps(config_to_dict(result), indent=1, default=str))
    return 0


def _forwarded(args: argparse.Namespace, fields: dict[str, Any]) -> list[str]:
    """The flags of ``prefhouse train`` again, for ``python -m rm.distributed`` (which takes the same ones)."""
    argv = ["--lake", str(open_lake(args, create=False).root)]
    if args.gold_pair_ids is not None:
        argv += ["--gold-pair-ids", str(args.gold_pair_ids)]
    for name, value in fields.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            argv.append(flag if value else flag.replace("--", "--no-", 1))
        elif value is not None:
            argv += [flag, str(value)]
    return argv


def _score(args: argparse.Namespace) -> int:
    from pipelines.scale.cluster import EngineConfig
    from rm.config import ScoreConfig
    from rm.score import score

    config = config_from_args(ScoreConfig, args)
    engine = config_from_args(EngineConfig, args)
    lake = open_lake(args, create=False)
    if engine.engine == "ray":
        from pipelines.scale import score_ray

        report = score_ray(lake, config.run, config, engine)
    else:
        report = score(lake, config.run, config.table, config=config, progress=True)
    print(json.dumps({"run": str(config.run), **dataclasses.asdict(report)}))
    return 0


def evaluate(lake: Lake, config: EvalConfig) -> dict[str, list[dict[str, Any]]]:
    """``prefhouse eval``: each ``--bench`` file or folder read by the layout registry and scored by the
    evaluator (:func:`rm.evaluate.evaluate_benches`, which reads no file), then gold with ``--gold``.

    A bench is read as it is scored; its rows that do not parse are counted on stderr.
    """
    from pipelines.ingest.model import Rejected
    from pipelines.ingest.registry import read_bench
    from rm.evaluate import bench_name, evaluate_benches

    skipped: dict[str, list[Rejected]] = {}

    def benches() -> Iterator[tuple[str, Iterator[BenchItem]]]:
        for path in config.bench:
            name = bench_name(path, config.name)
            skipped[name] = []
            yield name, read_bench(path, config.format, config.limit, rejected=skipped[name])

    def said(name: str, n: int, rows: list[dict[str, Any]]) -> None:
        bad = skipped.pop(name, [])
        if bad:
            reasons = Counter(r.reason for r in bad)
            print(f"prefhouse eval: {name}: {len(bad)} rows skipped (not parsed: {dict(reasons)}; "
                  f"first: row {bad[0].source_row}, {bad[0].detail})", file=sys.stderr)  # fmt: skip

    return evaluate_benches(lake, config.run, benches(), config.device, config.torch_threads, config.batch_size,
                            said, config.max_length, config.out_json, config.gold)  # fmt: skip


def _eval(args: argparse.Namespace) -> int:
    from rm.config import EvalConfig

    config = config_from_args(EvalConfig, args)
    if not config.bench and not config.gold:
        raise ValueError("nothing to evaluate: pass --bench PATH (file or folder) and/or --gold")
    results = evaluate(open_lake(args, create=False), config)
    for bench, rows in results.items():
        for r in rows:
            if r["subset"] == "all" or r["metric"] == "accuracy":
                print(f"{bench:<16} {r['subset']:<28} {r['metric']:<24} n={r['n']:<6} {r['value']:.4f}")
    return 0
