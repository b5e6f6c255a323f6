"""Scale benchmark (issue 19): each stage at growing pool sizes, local engine and Ray, with fitted exponents.

Stages and what is timed (the lake each starts from is prepared first, outside the timing):

- ``ingest``: ``ingest_paths`` of a JSONL file of N unique pairs (real prompts and responses of
  the shipped data, a row number making each prompt unique; ``benchmarks/ingest.py`` builds it).
- ``dbt``: one Stage-2 ``dbt build`` of round 1 on a synthetic lake of N pairs with every
  signal (``benchmarks/dbt_build.py`` builds it).
- ``embed``: ``prefhouse embed`` of N pairs' prompts with all-MiniLM-L6-v2 (local) or
  ``embed_ray`` (Ray).
- ``score``: reward-model scoring of N pairs (rm_scores rows and score columns) with a
  MiniLM-L6 reward model (the packaged backbone with a fresh one-logit head: the cost of a
  forward pass does not depend on the weights), ``--max-length`` tokens.
- ``judge``: the judge stage on a queue of N pairs against an OpenAI-compatible server on
  127.0.0.1 in its own process (the test suite's ``FakeOpenAI``: real HTTP, an answer in no
  time, so what is timed is prefhouse's side of each call: prompt building, the client, the
  call cache, the votes' commit), one sample per pair, gate on 32 gold pairs included.
- ``retrieve``: adaptive retrieval for 500 gold anchors over N stored vectors (synthetic:
  real-like clusters of unit vectors; the IVF_PQ index, built at 50k vectors and more, is built
  in the preparation and its time reported beside).

Each measurement runs in a fresh child process (so imports, model loads and a Ray cluster's
start are in it, as in a command); the parent samples the resident memory of the child and
every process under it (Ray's raylet, object store and workers included) every 0.2 s and
reports the peak of the sum (shared pages, such as Ray's object store, counted once per
process that maps them: an upper bound). Both engines get the same 2 CPUs: local torch uses 2
threads, the judge client 8 requests in flight; Ray runs a local 2-CPU cluster with 2 actors
(1 torch thread each, 8 requests in flight each). Ray's time includes starting the cluster.

The exponent is the slope of log(time) against log(N) over the sizes measured (least squares);
1 is linear. Run (about 45 min on 2 cores):
``.venv/bin/python benchmarks/scale.py --out scale.json``; a quick look:
``.venv/bin/python benchmarks/scale.py --sizes 10000 --model-sizes 500 --stages ingest score``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# Ray hands the driver's sys.path to its workers: this folder on it would make benchmarks/rm.py shadow `rm`
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks"]
sys.path.insert(0, str(REPO))
from lake.offline import use_offline_env  # noqa: E402

use_offline_env()

STAGES = ("ingest", "dbt", "embed", "score", "judge", "retrieve")
RAY_STAGES = ("embed", "score", "judge")  # the stages with a Ray engine
MODEL_STAGES = ("embed", "score", "judge")  # bound by a model or a server: measured at --model-sizes
N_GOLD_JUDGE = 32
N_GOLD_RETRIEVE = 500
THREADS = 2


# ============================================================================ preparation
def bench(name: str) -> Any:
    """A sibling benchmark script as a module (by path: ``benchmarks/rm.py`` must not shadow ``rm``)."""
    import importlib.util

    if f"bench_{name}" not in sys.modules:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "benchmarks" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"bench_{name}"] = module
        spec.loader.exec_module(module)
    return sys.modules[f"bench_{name}"]


def _seeds() -> list[Any]:
    return bench("ingest").seed_pairs()


def jsonl_file(work: Path, n: int) -> Path:
    """N unique real pairs as JSONL (cached in the work folder)."""
    path = work / f"pairs-{n}.jsonl"
    if not path.exists():
        bench("ingest").synthesise(path, n, "flat", _seeds())
    return path


def pairs_lake(work: Path, n: int) -> Path:
    """A lake holding the N pairs of :func:`jsonl_file` (cached)."""
    from lake import Lake
    from pipelines.ingest import ingest_paths

    root = work / f"pairs-lake-{n}"
    if not (root / ".ready").exists():
        shutil.rmtree(root, ignore_errors=True)
        ingest_paths(Lake(root), [jsonl_file(work, n)])
        (root / ".ready").touch()
    return root


def dbt_lake(work: Path, n: int) -> Path:
    from lake import Lake

    synth_pairs, synth_signals = bench("dbt_build").synth_pairs, bench("dbt_build").synth_signals
    root = work / f"dbt-lake-{n}"
    if not (root / ".ready").exists():
        shutil.rmtree(root, ignore_errors=True)
        lake = Lake(root)
        pairs = synth_pairs(n)
        with lake.transaction(f"synthetic {n}") as txn:
            txn.append("pairs", pairs)
            for table, rows in synth_signals(pairs).items():
                txn.append(table, rows)
        (root / ".ready").touch()
    return root


def judge_lake(work: Path, n: int) -> Path:
    """N real pairs (the chosen side marked GOOD, which the server prefers) queued for the judge, 32 gold."""
    from lake import Lake
    from lake.records import pair_row, pairs_table

    root = work / f"judge-lake-{n}"
    if (root / ".ready").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    seeds = _seeds()
    lake = Lake(root)

    def row(i: int, tag: str) -> dict:
        p = seeds[i % len(seeds)]
        return pair_row(f"{p.conversation[0]['content']} [{tag}{i}]", p.chosen + " GOOD", p.rejected, source_row=i)

    sys.path.insert(0, str(REPO / "tests" / "scale"))
    from scale_helpers import seed_judge_queue  # the Ray judge test's seeding: the same lake layout

    pool = pairs_table([row(i, "#") for i in range(n)])
    seed_judge_queue(lake, pool, [row(i, "gold ") for i in range(N_GOLD_JUDGE)])
    (root / ".ready").touch()
    return root


def vector_lake(work: Path, n: int) -> tuple[Path, float]:
    """N unit vectors of 384 dims around 2,000 random centres, and the index build's seconds (cached)."""
    import numpy as np

    from lake import Lake
    from pipelines.retrieval import IndexSettings

    root = work / f"vector-lake-{n}"
    ready = root / ".ready"
    if ready.exists():
        return root, float(ready.read_text())
    shutil.rmtree(root, ignore_errors=True)
    lake = Lake(root)
    centres = np.random.default_rng(7).normal(size=(2000, 384)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    write_vectors, perturbed = bench("embed_retrieve").write_vectors, bench("embed_retrieve").perturbed
    write_vectors(lake, perturbed(centres, n))
    index_s = 0.0
    settings = IndexSettings()
    if n >= settings.ann_min_rows:
        index_s = bench("embed_retrieve").build_index(lake, settings)
    ready.write_text(f"{index_s:.3f}")
    return root, index_s


def reward_run(work: Path, max_length: int) -> Path:
    """A run folder with the packaged MiniLM backbone and a fresh one-logit head (seeded)."""
    import torch

    from rm.config import default_backbone
    from rm.model import load_reward_model, load_tokenizer

    folder = work / f"run-minilm-{max_length}"
    if not (folder / "config.json").exists():
        torch.manual_seed(0)
        tok = load_tokenizer(default_backbone(), "left")
        model = load_reward_model(default_backbone(), tok)
        model.save_pretrained(folder / "checkpoint")
        tok.save_pretrained(folder / "checkpoint")
        config = {"run_id": "bench-minilm", "out": str(folder), "max_length": max_length, "truncation_side": "left"}
        (folder / "config.json").write_text(json.dumps(config))
    return folder


def prepare(stage: str, n: int, work: Path, max_length: int) -> dict[str, Any]:
    """Build (or find) what ``stage`` at ``n`` starts from; returns facts for the child."""
    if stage == "ingest":
        return {"file": str(jsonl_file(work, n))}
    if stage == "dbt":
        return {"lake": str(dbt_lake(work, n))}
    if stage in ("embed", "score"):
        facts: dict[str, Any] = {"lake": str(pairs_lake(work, n))}
        if stage == "score":
            facts["run"] = str(reward_run(work, max_length))
        return facts
    if stage == "judge":
        return {"lake": str(judge_lake(work, n))}
    root, index_s = vector_lake(work, n)
    return {"lake": str(root), "index_s": index_s}


# ============================================================================ one measurement (child)
def _engine(engine: str) -> Any:
    from pipelines.scale import EngineConfig

    if engine == "local":
        return None
    return EngineConfig(engine="ray", ray_cpus=THREADS, ray_actors=THREADS, ray_actor_cpus=0.75, ray_batch_rows=512)


def _copy(src: str, tmp: Path) -> Any:
    from lake import Lake

    dst = tmp / "lake"
    shutil.copytree(src, dst, symlinks=True)
    return Lake(dst)


def _serve(port_file: Path) -> None:
    """The judge server's process: FakeOpenAI with the oracle judge, until terminated."""
    sys.path.insert(0, str(REPO / "tests" / "annotate"))
    from fake_openai import FakeOpenAI, oracle_judge

    with FakeOpenAI(oracle_judge(), model="oracle") as server:
        port_file.write_text(server.base_url)
        signal.sigwait({signal.SIGTERM, signal.SIGINT})


def _start_server(tmp: Path) -> tuple[str, subprocess.Popen]:
    port_file = tmp / "server-url"
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
    deadline = time.monotonic() + 60
    while not port_file.exists() or not port_file.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the judge server did not start")
        time.sleep(0.1)
    return port_file.read_text(), proc


def measure(stage: str, engine: str, facts: dict[str, Any], max_length: int) -> dict[str, Any]:
    """Run ``stage`` once on a copy of its prepared lake; returns seconds and counts."""
    with tempfile.TemporaryDirectory(prefix="prefhouse-scale-") as tmp_name:
        tmp = Path(tmp_name)
        out: dict[str, Any] = {}
        if stage == "ingest":
            from lake import Lake
            from pipelines.ingest import ingest_paths

            start = time.perf_counter()
            report = ingest_paths(Lake(tmp / "lake"), [facts["file"]])
            out["n_accepted"] = report.n_accepted
        elif stage == "dbt":
            run_dbt = bench("dbt_build").run_dbt
            lake = _copy(facts["lake"], tmp)
            start = time.perf_counter()
            _, counts, _ = run_dbt(lake, THREADS)
            out["decisions"] = counts
        elif stage == "embed":
            from pipelines.retrieval import EmbedConfig, embed_pairs

            lake = _copy(facts["lake"], tmp)
            config = EmbedConfig(threads=THREADS, progress=False)
            start = time.perf_counter()
            if engine == "ray":
                from pipelines.scale.embed import embed_ray

                report = embed_ray(lake, config, _engine(engine))
            else:
                report = embed_pairs(lake, config)
            out["n_vectors"] = lake.dataset("embeddings").count_rows()
        elif stage == "score":
            from pipelines.scale import score_ray
            from rm.config import ScoreConfig
            from rm.score import score

            lake = _copy(facts["lake"], tmp)
            config = ScoreConfig(run=Path(facts["run"]), torch_threads=THREADS, precision="auto")
            start = time.perf_counter()
            if engine == "ray":
                score_ray(lake, facts["run"], config, _engine(engine))
            else:
                score(lake, facts["run"], config=config)
            out["n_scores"] = lake.dataset("rm_scores").count_rows()
        elif stage == "judge":
            from pipelines.annotate import GateConfig, JudgeConfig, judge_queue, make_backend
            from pipelines.annotate.callwork import run_local
            from pipelines.annotate.llm import LLMConfig
            from pipelines.scale import RayRunner

            lake = _copy(facts["lake"], tmp)
            url, server = _start_server(tmp)
            try:
                start = time.perf_counter()
                backend = make_backend(LLMConfig(base_url=url, concurrency=8))
                runner = RayRunner(_engine(engine)) if engine == "ray" else run_local
                report = judge_queue(lake, [backend], JudgeConfig(samples=1), GateConfig(), runner)
                out["n_votes"] = report.models["oracle"].n_votes
                out["trusted"] = report.trusted_models
            finally:
                elapsed_before_stop = time.perf_counter() - start
                server.terminate()
                server.wait()
            out["seconds"] = elapsed_before_stop
            return out
        else:  # retrieve
            from pipelines.retrieval import IndexSettings

            retrieval_end_to_end = bench("embed_retrieve").retrieval_end_to_end
            lake = _copy(facts["lake"], tmp)
            start = time.perf_counter()
            rows = retrieval_end_to_end(lake, N_GOLD_RETRIEVE, IndexSettings(), tmp)
            out["queued"] = rows[1][1]
            out["index_s"] = facts["index_s"]
        out["seconds"] = time.perf_counter() - start
        return out


# ============================================================================ tokens per pair
def token_counts(n_judged: int = 200) -> dict[str, Any]:
    """Tokens of each per-pair request, on the shipped pairs, with SmolLM2's tokenizer (the llm-cpu extra).

    Scoring: conversation + response, once per side. Judge: one vote's prompt as prefhouse builds it
    with 8 gold demonstrations (other shipped pairs) and both texts cut at the judge's 3,000
    characters; attributes: the conversation alone; pre-check: one side with its conversation.
    """
    import random
    import statistics

    from llama_cpp import Llama

    from pipelines.annotate import attributes, judge
    from pipelines.annotate.local import gguf_path
    from pipelines.annotate.precheck import PrecheckConfig, precheck_work
    from pipelines.annotate.prompts import render_conversation

    tok = Llama(model_path=str(gguf_path()), vocab_only=True, verbose=False)

    def n(text: str) -> int:
        return len(tok.tokenize(text.encode(), add_bos=False, special=False))

    def n_messages(call: Any) -> int:
        return sum(n(m["content"]) for m in call.request.messages)

    seeds = _seeds()
    pairs = [
        {"pair_id": f"p{i}", "conversation": p.conversation, "chosen": p.chosen, "rejected": p.rejected}
        for i, p in enumerate(seeds)
    ]
    rng = random.Random(0)
    sample = rng.sample(pairs, min(n_judged, len(pairs)))
    convo = [n(render_conversation(p["conversation"])) for p in pairs]
    sides = [n(p["chosen"]) + n(p["rejected"]) for p in pairs]
    jcfg, acfg, pcfg = judge.JudgeConfig(), attributes.AttributesConfig(), PrecheckConfig()
    judge_in = []
    for p in sample:
        demos = [{"pair": d, "verdict": "chosen", "attributes": None} for d in rng.sample(pairs, jcfg.max_demos)]
        judge_in.append(n_messages(judge.build_call(p, None, demos, 0, True, jcfg)))
    attrs_in = [n_messages(attributes.build_call(p, acfg)) for p in sample]
    pre_in = [n_messages(c) for c in precheck_work(pcfg).calls({p["pair_id"]: p for p in sample[:50]})]
    mean = statistics.fmean
    return {
        "tokenizer": "SmolLM2-135M (49k BPE)",
        "pairs": len(pairs),
        "score_tokens_per_pair": round(2 * mean(convo) + mean(sides)),  # two sequences, conversation in each
        "conversation_tokens": round(mean(convo)),
        "response_tokens_per_side": round(mean(sides) / 2),
        "judge_prompt_tokens_per_vote": round(mean(judge_in)),
        "judge_max_answer_tokens": jcfg.max_tokens,
        "attributes_prompt_tokens": round(mean(attrs_in)),
        "precheck_prompt_tokens_per_side": round(mean(pre_in)),
    }


# ============================================================================ the parent
def run_child(stage: str, engine: str, n: int, facts: dict[str, Any], max_length: int, logs: Path) -> dict[str, Any]:
    """One measurement in a child process; adds the peak resident memory of its process tree.

    The child's stderr (Ray's progress, warnings) goes to a log file under ``logs``.
    """
    import psutil

    env = {**os.environ}
    if engine == "ray":
        env.update({"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_DEDUP_LOGS": "0"})
    args = [sys.executable, __file__, "--child", stage, engine, str(n), json.dumps(facts)]
    args += ["--max-length", str(max_length)]
    log = logs / f"{stage}-{engine}-{n}.log"
    with tempfile.TemporaryFile("w+") as out, log.open("w") as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env)
        parent, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            total = 0
            with contextlib.suppress(psutil.Error):
                for p in [parent, *parent.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
            peak = max(peak, total)
            time.sleep(0.2)
        out.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{stage}/{engine}/{n} failed with exit code {proc.returncode}: see {log}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["peak_rss_mb"] = round(peak / 2**20)
    return result


def exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(seconds) against log(pairs)."""
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def marginal(points: list[tuple[int, float]]) -> tuple[float, float] | None:
    """(pairs/s, fixed seconds) of the line through the two largest sizes: the rate that extrapolates."""
    if len(points) < 2:
        return None
    (n1, t1), (n2, t2) = sorted(points)[-2:]
    if t2 <= t1:
        return None
    rate = (n2 - n1) / (t2 - t1)
    return rate, t2 - n2 / rate


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"\n{'stage':9} {'engine':6} {'pairs':>9} {'seconds':>9} {'pairs/s':>9} {'peak MB':>8}  notes")
    for r in results:
        note = {k: v for k, v in r.items() if k not in ("stage", "engine", "pairs", "seconds", "peak_rss_mb")}
        print(f"{r['stage']:9} {r['engine']:6} {r['pairs']:>9,} {r['seconds']:>9.2f} "
              f"{r['pairs'] / r['seconds']:>9,.0f} {r['peak_rss_mb']:>8,}  {json.dumps(note)}")  # fmt: skip
    print(f"\n{'stage':9} {'engine':6} {'exponent':>8} {'marginal pairs/s':>16} {'fixed s':>8}   ray / local")
    keys = sorted({(r["stage"], r["engine"]) for r in results}, key=lambda k: (STAGES.index(k[0]), k[1]))
    for stage, engine in keys:
        points = [(r["pairs"], r["seconds"]) for r in results if (r["stage"], r["engine"]) == (stage, engine)]
        b = exponent(points)
        ratios = ""
        if engine == "ray":
            local = {r["pairs"]: r["seconds"] for r in results if (r["stage"], r["engine"]) == (stage, "local")}
            ratios = "  ".join(f"{n:,}: {t / local[n]:.2f}x" for n, t in points if n in local)
        m = marginal(points)
        rate, fixed = (f"{m[0]:,.0f}", f"{m[1]:.1f}") if m else ("", "")
        print(f"{stage:9} {engine:6} {'' if b is None else f'{b:.2f}':>8} {rate:>16} {fixed:>8}   {ratios}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--engines", nargs="+", choices=("local", "ray"), default=["local", "ray"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000],
                        help="pool sizes of ingest, dbt and retrieve")  # fmt: skip
    parser.add_argument("--model-sizes", nargs="+", type=int, default=[1_000, 3_000, 10_000],
                        help="pool sizes of embed, score and judge (model- or server-bound)")  # fmt: skip
    parser.add_argument("--max-length", type=int, default=128, help="tokens per scored input")
    parser.add_argument("--work", type=Path, default=None, help="folder for prepared inputs (kept: reruns reuse them)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument(
        "--tokens", action="store_true", help="also count the tokens of each per-pair request (the cost model's input)"
    )
    parser.add_argument("--child", nargs=4, metavar=("STAGE", "ENGINE", "N", "FACTS"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve)
        return 0
    if args.child:
        stage, engine, _, facts = args.child
        print("RESULT " + json.dumps(measure(stage, engine, json.loads(facts), args.max_length)), flush=True)
        return 0
    if "ray" in args.engines:
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise SystemExit("the Ray engine needs the ray extra: pip install -e '.[ray]' (or pass --engines local)")
    work = args.work or Path(tempfile.mkdtemp(prefix="prefhouse-scale-work-"))
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    tokens = token_counts() if args.tokens else None
    if tokens:
        print("tokens per request: " + json.dumps(tokens), file=sys.stderr, flush=True)
    for stage in args.stages:
        sizes = args.model_sizes if stage in MODEL_STAGES else args.sizes
        engines = [e for e in args.engines if e == "local" or stage in RAY_STAGES]
        for n in sizes:
            t = time.perf_counter()
            facts = prepare(stage, n, work, args.max_length)
            print(f"[{stage} {n:,}] prepared in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
            for engine in engines:
                measured = run_child(stage, engine, n, facts, args.max_length, logs)
                result = {"stage": stage, "engine": engine, "pairs": n, **measured}
                print(f"[{stage} {engine} {n:,}] {result['seconds']:.2f} s, peak {result['peak_rss_mb']} MB",
                      file=sys.stderr, flush=True)  # fmt: skip
                results.append(result)
                if args.out:
                    out = {"cpus": os.cpu_count(), "tokens": tokens, "results": results}
                    args.out.write_text(json.dumps(out, indent=1))
    print_table(results)
    if tokens:
        print("\ntokens per request (shipped pairs): " + json.dumps(tokens, indent=1))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
