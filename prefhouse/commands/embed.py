"""``prefhouse embed | neardup | retrieve | nearest``: embeddings and adaptive retrieval."""

from __future__ import annotations

import argparse
import dataclasses
import json

from lake.configargs import add_config_args, config_from_args, config_to_dict
from prefhouse.commands.common import add_json_flag, open_lake


def register(sub: argparse._SubParsersAction) -> None:
    from pipelines.retrieval.config import NeardupConfig, RetrieveConfig
    from pipelines.scale.cluster import EngineConfig

    p = sub.add_parser(
        "embed",
        help="embed every pair's (conversation, attributes) into the `embeddings` table (incremental)",
        description=(
            "Embed each pair's conversation plus its preference attributes (when annotated) with a "
            "sentence-transformers model; only new or changed pairs are embedded; builds a cosine ANN index "
            "once the table reaches --ann-min-rows. With --neardup, also cluster near-duplicate prompts. With "
            "--engine ray the pairs are encoded by a Ray Data job over their Lance fragments (the ray extra); "
            "docs/scale.md."
        ),
    )
    add_config_args(p, NeardupConfig)
    add_config_args(p, EngineConfig)
    p.add_argument("--neardup", action="store_true", help="also run `prefhouse neardup` afterwards")
    add_json_flag(p, "print the report as JSON")
    p.set_defaults(func=run_embed)

    p = sub.add_parser(
        "neardup",
        help="cluster near-duplicate prompts (cosine threshold) into the `neighbours` table",
        description=(
            "Embed each distinct prompt (conversation only) into `prompt_embeddings`, reusing pair vectors "
            "where the texts are identical, then group prompts within --threshold cosine of a cluster leader. "
            "Every pair gets a row: cluster_id is its representative's pair_id."
        ),
    )
    add_config_args(p, NeardupConfig)
    add_json_flag(p, "print the report as JSON")
    p.set_defaults(func=run_neardup)

    p = sub.add_parser(
        "retrieve",
        help="adaptive retrieval: queue each gold pair's k nearest unverified pairs for round N",
        description=(
            "k = k_max if the reward model's p on a gold pair is <= 0.5, else ceil(k_max (1 - p)). p comes from "
            "rm_scores of --run (default: the latest best/silver run) or from --gold-probs FILE (pair_id,p). "
            "Never queues gold, silver or pairs queued by another round; re-running a round replaces it."
        ),
    )
    p.add_argument("--round", type=int, required=True, metavar="N", help="curation round the queue is for")
    add_config_args(p, RetrieveConfig, skip=("round",))
    add_json_flag(p, "print the report as JSON")
    p.set_defaults(func=run_retrieve)

    p = sub.add_parser("nearest", help="the nearest pairs of a pair_id or of a text")
    p.add_argument("query", help="a pair_id from the embeddings table, or any text")
    p.add_argument("-k", type=int, default=8, help="how many (default: 8)")
    p.add_argument(
        "--filter", action="append", default=[], metavar="COL=VALUE",
        help="keep pairs whose column equals VALUE (category, source, task_category, objectivity, ...); repeatable",
    )  # fmt: skip
    add_json_flag(p, "print JSON lines")
    p.set_defaults(func=run_nearest)


def _print(report: object, as_json: bool) -> None:
    values = dataclasses.asdict(report)  # type: ignore[call-overload]
    if as_json:
        print(json.dumps(values, default=str))
    else:
        print("  ".join(f"{k}={v}" for k, v in values.items()))


def run_embed(args: argparse.Namespace) -> int:
    from pipelines.retrieval import embed_pairs
    from pipelines.retrieval.config import NeardupConfig
    from pipelines.scale.cluster import EngineConfig

    config = config_from_args(NeardupConfig, args)
    config.progress = config.progress and not args.json
    lake = open_lake(args, create=False)
    encoder = config.encoder()
    engine = config_from_args(EngineConfig, args)
    if engine.engine == "ray":
        from pipelines.scale.embed import embed_ray

        _print(embed_ray(lake, config, engine), args.json)
    else:
        _print(embed_pairs(lake, config, encoder), args.json)
    if args.neardup:
        from pipelines.retrieval import find_near_duplicates

        _print(find_near_duplicates(lake, config, encoder), args.json)
    return 0


def run_neardup(args: argparse.Namespace) -> int:
    from pipelines.retrieval import find_near_duplicates
    from pipelines.retrieval.config import NeardupConfig

    config = config_from_args(NeardupConfig, args)
    config.progress = config.progress and not args.json
    _print(find_near_duplicates(open_lake(args, create=False), config), args.json)
    return 0


def run_retrieve(args: argparse.Namespace) -> int:
    from pipelines.retrieval.retrieve import RetrieveConfig, retrieve

    config = config_from_args(RetrieveConfig, args)
    report = retrieve(open_lake(args, create=False), config)
    _print(report, args.json)
    if not args.json:
        print(f"config: {json.dumps(config_to_dict(config))}")
    return 0


def run_nearest(args: argparse.Namespace) -> int:
    from pipelines.retrieval.nearest import nearest

    filters: dict[str, list[str]] = {}
    for item in args.filter:
        column, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--filter {item!r}: expected COL=VALUE, e.g. task_category=coding")
        filters.setdefault(column, []).append(value)
    table = nearest(open_lake(args, create=False), args.query, args.k, filters or None)
    for row in table.to_pylist():
        if args.json:
            print(json.dumps(row))
        else:
            category = row["category"] or "-"
            print(f"{row['rank']:>3}  {row['similarity']:.3f}  {row['pair_id']}  [{category}]  {row['prompt'][:90]!r}")
    return 0
