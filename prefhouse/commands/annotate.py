"""CLI of the annotation area: attributes, pre-checks, judges and their gate, the labelling app.

``prefhouse annotate attributes``, ``prefhouse precheck``, ``prefhouse judge [gate]`` and
``prefhouse label serve|export|import|import-original``. LLM options (``--base-url``,
``--model``, ...) come from :class:`pipelines.annotate.llm.LLMConfig`; ``--local-llm`` starts
the bundled SmolLM2 server (``llm-cpu`` extra) for the command's duration.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lake.configargs import add_config_args, config_from_args
from prefhouse.commands.common import add_group, open_lake


def _print(report: Any) -> None:
    """A stage's report (a dataclass) or a plain dict, as indented JSON."""
    values = dataclasses.asdict(report) if dataclasses.is_dataclass(report) else report
    print(json.dumps(values, indent=1, default=str))


def _llm_args(p: argparse.ArgumentParser) -> None:
    from pipelines.annotate.llm.base import LLMConfig

    add_config_args(p, LLMConfig)
    p.add_argument(
        "--local-llm",
        action="store_true",
        help="start the bundled SmolLM2-135M llama.cpp server and use it (needs the llm-cpu extra)",
    )


@contextlib.contextmanager
def _backends(args: argparse.Namespace, models: list[str] | None = None) -> Iterator[list[Any]]:
    from pipelines.annotate.llm.base import LLMConfig, make_backend

    stop = None
    overrides: dict[str, Any] = {}
    if getattr(args, "local_llm", False):
        from pipelines.annotate.local import start_local_llm

        overrides["base_url"], stop = start_local_llm()
    try:
        names = models or [None]
        yield [make_backend(config_from_args(LLMConfig, args, **overrides, model=m)) for m in names]
    finally:
        if stop:
            stop()


@contextlib.contextmanager
def _runner(args: argparse.Namespace) -> Iterator[Any]:
    """Where an LLM stage's calls are asked: this process, or Ray actors (one cluster for the command)."""
    from pipelines.annotate.callwork import run_local
    from pipelines.scale.cluster import EngineConfig

    engine = config_from_args(EngineConfig, args)
    if engine.engine != "ray":
        yield run_local
        return
    from pipelines.scale import RayRunner, ray_cluster

    with ray_cluster(engine):
        yield RayRunner(engine)


def _attributes(args: argparse.Namespace) -> int:
    from pipelines.annotate.attributes import annotate_attributes
    from pipelines.annotate.config import AttributesConfig

    lake = open_lake(args, create=False)
    with _backends(args) as (backend,), _runner(args) as runner:
        _print(annotate_attributes(lake, backend, config_from_args(AttributesConfig, args), runner))
    return 0


def _precheck(args: argparse.Namespace) -> int:
    from pipelines.annotate.config import PrecheckConfig
    from pipelines.annotate.precheck import precheck

    lake = open_lake(args, create=False)
    with _backends(args) as (backend,), _runner(args) as runner:
        _print(precheck(lake, backend, config_from_args(PrecheckConfig, args), runner))
    return 0


def _judge(args: argparse.Namespace) -> int:
    from pipelines.annotate.config import GateConfig, JudgeConfig
    from pipelines.annotate.judge_run import judge_queue

    lake = open_lake(args, create=False)
    with _backends(args, args.models) as backends, _runner(args) as runner:
        judge_cfg, gate_cfg = config_from_args(JudgeConfig, args), config_from_args(GateConfig, args)
        report = judge_queue(lake, backends, judge_cfg, gate_cfg, runner)
    _print(report)
    return 0


def _gate(args: argparse.Namespace) -> int:
    from pipelines.annotate import data
    from pipelines.annotate.config import GateConfig, JudgeConfig
    from pipelines.annotate.gate import measure

    lake = open_lake(args, create=False)
    judge_cfg = config_from_args(JudgeConfig, args)
    rnd = judge_cfg.round if judge_cfg.round is not None else (data.latest_round(lake) or 0)
    with _backends(args, args.models) as backends:
        rows = [measure(lake, b, rnd, judge_cfg, config_from_args(GateConfig, args)) for b in backends]
    _print({"round": rnd, "gates": rows})
    return 0


def _judge_parser(sub: argparse._SubParsersAction) -> None:
    from pipelines.annotate.config import GateConfig, JudgeConfig
    from pipelines.scale.cluster import EngineConfig

    def options(p: argparse.ArgumentParser) -> None:
        add_config_args(p, JudgeConfig)
        add_config_args(p, GateConfig)
        _llm_args(p)
        p.add_argument(
            "--models",
            nargs="+",
            default=None,
            metavar="NAME",
            help="judge models on the endpoint (default: --model, or the endpoint's first model)",
        )

    judge = sub.add_parser(
        "judge",
        help="LLM judges vote on the round's queue (gated on gold first)",
        description="Measure each judge on gold (both orders) unless already measured for the "
        "round, then let the trusted ones vote on the queued pairs; untrusted judges are skipped "
        "and the report says why. With --engine ray the votes are asked from Ray actors over the pairs' Lance "
        "fragments (the ray extra; the gate stays local); docs/scale.md.",
    )
    options(judge)
    add_config_args(judge, EngineConfig)
    judge.set_defaults(func=_judge)
    judge_sub = judge.add_subparsers(dest="judge_command", metavar="{gate}")
    gate = judge_sub.add_parser("gate", help="(re)measure judge accuracy and position bias on gold, both orders")
    options(gate)
    gate.set_defaults(func=_gate)


def _label_token(args: argparse.Namespace) -> str | None:
    """The access token: from --token-file, else $PREFHOUSE_LABEL_TOKEN; never from the command line."""
    import os

    from pipelines.labelapp.server import TOKEN_ENV

    if args.token is not None:
        raise ValueError(
            "--token is refused: a token on the command line shows in the process list (ps). "
            f"Put it in a file and pass --token-file PATH, or set ${TOKEN_ENV}"
        )
    if args.token_file:
        token = Path(args.token_file).read_text().strip()
        if not token:
            raise ValueError(f"the token file {args.token_file} is empty")
        return token
    return os.environ.get(TOKEN_ENV, "").strip() or None


def _serve(args: argparse.Namespace) -> int:
    import socket

    from pipelines.labelapp.server import WILDCARD, LabelApp, url_host

    token = _label_token(args)
    app = LabelApp(open_lake(args, create=False), round=args.round, token=token)
    server = app.make_server(args.host, args.port, args.allowed_host or ())
    host, port = server.server_address[:2]
    shown = socket.gethostname() if host in WILDCARD else host
    url = f"http://{url_host(shown)}:{port}/"
    # the token is never printed whole: the log of a shared terminal or a service is no place for it
    hint = f" (access token {token[:4]}…: open {url}#token=<your token>)" if token else ""
    print(f"labelling app on {url}{hint}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped: every answer given so far is in human_labels")
    finally:
        server.server_close()
    return 0


def _export(args: argparse.Namespace) -> int:
    from pipelines.labelapp.importers import export_label_studio

    n = export_label_studio(open_lake(args, create=False), Path(args.output), args.round)
    config = Path(args.output).with_suffix(".config.xml")
    print(f"wrote {n} Label Studio tasks to {args.output} (labeling config: {config})")
    return 0


def _import(args: argparse.Namespace) -> int:
    from pipelines.labelapp.importers import import_label_studio

    _print(import_label_studio(open_lake(args, create=False), Path(args.input), args.round or 0))
    return 0


def _import_original(args: argparse.Namespace) -> int:
    from pipelines.labelapp.importers import import_original

    _print(import_original(open_lake(args, create=False), args.source, args.round or 0))
    return 0


def _label_parser(sub: argparse._SubParsersAction) -> None:
    lsub = add_group(sub, "label", "human verification: the labelling web app, Label Studio export/import")
    serve = lsub.add_parser(
        "serve",
        help="serve the labelling web app (answers append to human_labels at once)",
        description="Serve the labelling web app. A label is taken only from the app's own page (Host and "
        "Origin checked, JSON only, an anti-forgery token in the page); an access token, required beyond "
        "loopback, is read from --token-file or $PREFHOUSE_LABEL_TOKEN and the page gets it from the "
        "URL: http://HOST:PORT/#token=TOKEN. See docs/annotation.md.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (beyond loopback an access token is required)"
    )
    serve.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    serve.add_argument(
        "--token-file",
        metavar="PATH",
        default=None,
        help="file holding the access token the page must send (default: $PREFHOUSE_LABEL_TOKEN; "
        "at least 16 characters; open the page as http://HOST:PORT/#token=TOKEN)",
    )
    serve.add_argument(
        "--token", default=None, metavar="T", help="refused: it would show in the process list; use --token-file"
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME[:PORT]",
        default=None,
        help="a further Host name the app answers to, e.g. the address annotators type when bound to "
        "0.0.0.0 (repeatable; the bound host, and localhost/127.0.0.1/[::1] on loopback, always are)",
    )
    serve.add_argument("--round", type=int, default=None, help="queue round to serve (default: the latest)")
    serve.set_defaults(func=_serve)
    exp = lsub.add_parser("export", help="write the human queue as Label Studio JSON tasks")
    exp.add_argument("output", help="tasks JSON file to write (a .config.xml labeling config goes beside it)")
    exp.add_argument("--round", type=int, default=None, help="queue round (default: the latest)")
    exp.set_defaults(func=_export)
    imp = lsub.add_parser("import", help="read a Label Studio JSON export into human_labels")
    imp.add_argument("input", help="Label Studio export (JSON)")
    imp.add_argument("--round", type=int, default=0, help="round the labels belong to")
    imp.set_defaults(func=_import)
    orig = lsub.add_parser("import-original", help="turn a source's kept per-annotator votes into human labels")
    orig.add_argument("--source", default="pandalm", choices=["pandalm"], help="source whose votes to import")
    orig.add_argument("--round", type=int, default=0, help="round the labels belong to")
    orig.set_defaults(func=_import_original)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's sub-commands to the root parser."""
    from pipelines.annotate.config import AttributesConfig, PrecheckConfig
    from pipelines.scale.cluster import EngineConfig

    ray_note = (
        " With --engine ray the calls are asked from Ray actors over the pairs' Lance fragments (the ray extra); "
        "docs/scale.md."
    )
    asub = add_group(sub, "annotate", "LLM annotation of pairs")
    attrs = asub.add_parser(
        "attributes",
        help="write the preference attributes (5-tuple) of pairs with an LLM",
        description="Write the preference attributes of the pairs that lack them (gold first, then queued), "
        "one lake commit." + ray_note,
    )
    add_config_args(attrs, AttributesConfig)
    _llm_args(attrs)
    add_config_args(attrs, EngineConfig)
    attrs.set_defaults(func=_attributes)
    pre = sub.add_parser(
        "precheck",
        help="LLM pre-check of objective pairs: is each response correct? (a hint)",
        description="Check each side of the selected objective pairs on its own; one lake commit." + ray_note,
    )
    add_config_args(pre, PrecheckConfig)
    _llm_args(pre)
    add_config_args(pre, EngineConfig)
    pre.set_defaults(func=_precheck)
    _judge_parser(sub)
    _label_parser(sub)
