"""The distributed trainer (rm.distributed): FSDP2 over gloo on CPU with 2 processes launched by
torchrun on loopback, against the single-process trainer at the same global batch.

Tolerance: per-step train loss and gold loss within ``TOL`` = 1e-4 (absolute) of the
single-process run; the measured difference is about 1e-7 (float reduction order only).
The GPU test (bf16 FSDP over nccl, marked ``gpu``) skips without CUDA.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from rm_tiny_models import build_tiny_decoder

from tests.gpu import require_cuda

REPO = Path(__file__).resolve().parents[2]
TOL = 1e-4
WORDS = ["cats", "rivers", "bread", "stars", "chess", "music", "rain", "trains", "tea", "maps", "bees", "snow"]
STYLES = ["here is a helpful answer", "a short and friendly reply", "some facts you may like"]


def _pairs():
    from rm.data import Example

    return [
        Example([{"role": "user", "content": f"tell me about {w}"}], f"{w} are great , {s} .", "no .", f"{w}-{j}")
        for w in WORDS
        for j, s in enumerate(STYLES)
    ]  # 36 pairs; micro-batches of 5 split 3 + 2 on 2 ranks


def _config(backbone: Path, out: Path, **over):
    from rm import train_config

    values = dict(
        backbone=str(backbone), out=out, device="cpu", precision="fp32", max_length=48, batch_size=5, grad_accum=2,
        lr=1e-3, max_steps=8, eval_every=4, warmup_ratio=0.1, torch_threads=1, seed=0,
    )  # fmt: skip
    return train_config("cpu", **{**values, **over})


def _rows(run: Path, split: str) -> list[dict]:
    rows = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r["split"] == split]


def _timeless(run: Path) -> list[dict]:
    """Every metrics line without its throughput (the one field that may differ between equal runs)."""
    return [{k: v for k, v in r.items() if k != "pairs_per_s"} for r in _rows(run, "train") + _rows(run, "gold")]


def _max_diff(a: list[dict], b: list[dict], key: str) -> float:
    assert len(a) == len(b) and [r["step"] for r in a] == [r["step"] for r in b]
    return max(abs(x[key] - y[key]) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny decoder, the pairs as JSONL files, and the single-process reference run."""
    from rm import train_examples

    root = tmp_path_factory.mktemp("dist")
    pairs = _pairs()
    backbone = build_tiny_decoder(
        [f"{p.conversation[0]['content']} {p.chosen} {p.rejected}" for p in pairs], root / "m"
    )
    train, val = pairs[5:], pairs[:5]  # 5 gold pairs: uneven validation chunks (3 + 3, one padded)
    for name, part in (("train", train), ("val", val)):
        rows = [{"pair_id": e.pair_id, "conversation": e.conversation, "chosen": e.chosen, "rejected": e.rejected}
                for e in part]  # fmt: skip
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ref = train_examples(_config(backbone, root / "ref"), train, val, {"source": "in-memory"})
    return root, backbone, train, val, ref


def test_rank_shares_weight_to_the_single_process_mean():
    from rm.sharding import eval_shard, rank_share

    batch = list(range(5))
    shares = [rank_share(batch, r, 2, grad_accum=2) for r in range(2)]
    assert [s[0] for s in shares] == [[0, 2, 4], [1, 3]]
    # sum over ranks of weight x (local pairs) / world = 5 pairs x 1/(5 x 2): the mean over accum
    assert sum(w * len(items) for items, w, _ in shares) / 2 == pytest.approx(0.5)
    assert rank_share([7], 1, 2) == ([7], 0.0, False)  # no pair left: a zero-weight filler keeps FSDP in step
    chunks = [eval_shard(list("abcde"), r, 2) for r in range(2)]
    assert chunks == [list("abc"), list("dee")] and (chunks[0] + chunks[1])[:5] == list("abcde")
    with pytest.raises(ValueError, match="empty global batch"):
        rank_share([], 0, 2)


@pytest.fixture(scope="module")
def one_rank(tiny):
    """A world of one (no torchrun) trained in this process, with shards at steps 4 and 8."""
    from rm.config import DistOptions
    from rm.distributed import train_distributed

    root, backbone, train, val, _ref = tiny
    cfg = _config(backbone, root / "one")
    return cfg, train_distributed(cfg, train, val, {"source": "in-memory"}, DistOptions(save_every=4))


def test_one_rank_in_process_matches_and_its_sharded_checkpoint_reloads(tiny, one_rank):
    """FSDP2 in a world of one gives rm.train's curve; DCP reloads the final weights and AdamW state."""
    import torch
    from safetensors.torch import load_file

    from rm.fsdp import load_sharded, process_group, shard_model
    from rm.loop import make_optimizer
    from rm.model import load_reward_model, load_tokenizer

    _root, backbone, train, _val, ref = tiny
    cfg, result = one_rank
    assert _max_diff(_rows(ref.run_dir, "train"), _rows(result.run_dir, "train"), "loss") < TOL
    assert json.loads((result.run_dir / "config.json").read_text())["distributed"]["world_size"] == 1
    with process_group("cpu"):  # reload the step-8 shards into a freshly sharded model
        tok = load_tokenizer(backbone)
        model = load_reward_model(backbone, tok)
        shard_model(model, bf16=False)
        opt, _sched, _ = make_optimizer(model, cfg, len(train))
        load_sharded(model, opt, result.run_dir / "sharded" / "step-000008")
        assert opt.state  # the AdamW moments came back too
        reloaded = {k: v.full_tensor() for k, v in model.state_dict().items()}
    key = "model.layers.0.mlp.down_proj.weight"
    initial = load_file(str(backbone / "model.safetensors"))[key]
    assert (reloaded[key] - initial).abs().max().item() > 1e-6  # the trained weights, not the backbone's
    assert torch.isfinite(reloaded[key]).all()


def test_a_run_resumed_from_its_shards_continues_the_same_curve(tiny, one_rank, tmp_path):
    import shutil

    from rm.config import DistOptions
    from rm.distributed import train_distributed

    _root, _backbone, train, val, _ref = tiny
    cfg, result = one_rank
    run = tmp_path / "resumed"
    shutil.copytree(result.run_dir, run)
    with open(run / "metrics.jsonl", "a") as f:  # every line after step 4 is dropped: steps 5-8 and a stray one
        f.write(json.dumps({"step": 5, "split": "train", "loss": 99.0}) + "\n")
    resumed = train_distributed(
        _config(cfg.backbone, run),
        train,
        val,
        {"source": "in-memory"},
        DistOptions(resume_from=run / "sharded" / "step-000004"),
    )
    assert _timeless(run) == _timeless(result.run_dir)  # steps 1-4 kept, 5-8 redone bit-equal to the first run
    assert (resumed.best_step, resumed.final_loss) == (result.best_step, result.final_loss)
    with pytest.raises(FileNotFoundError, match="--resume-from RUN/sharded/step-N"):
        train_distributed(_config(cfg.backbone, run), train, val, None, DistOptions(resume_from=run))


def test_bf16_mixed_precision_computes_in_bf16_and_keeps_fp32_weights(tiny):
    """FSDP's MixedPrecisionPolicy(bf16 params, fp32 reduce) in a world of one on CPU: the curve
    moves off the fp32 one by bf16 rounding (measured: at most about 1e-3) and the weights saved are fp32."""
    import torch
    from safetensors.torch import load_file

    from rm.distributed import train_distributed

    root, backbone, train, val, ref = tiny
    result = train_distributed(_config(backbone, root / "bf16", precision="bf16"), train, val)
    assert json.loads((result.run_dir / "config.json").read_text())["distributed"]["param_dtype"] == "bfloat16"
    diff = _max_diff(_rows(ref.run_dir, "train"), _rows(result.run_dir, "train"), "loss")
    assert 0 < diff < 1e-2  # not the fp32 curve: the forward really ran in bf16
    weights = load_file(str(result.run_dir / "checkpoint" / "model.safetensors"))
    assert {v.dtype for v in weights.values()} == {torch.float32}


def test_the_cli_trains_on_a_lake_snapshot_and_prefhouse_score_reads_the_run(tiny, tmp_path, capsys):
    """``python -m rm.distributed`` without torchrun (a world of one) on a tagged table with gold."""
    pytest.importorskip("lance")
    from rm_helpers import add_human_labels

    from lake import Lake
    from lake.records import pair_row, pairs_table
    from rm.distributed import main
    from rm.score import score

    _root, backbone, train, val, _ref = tiny
    lake = Lake(tmp_path / "lakehouse")
    rows = [pair_row(e.conversation, e.chosen, e.rejected, source="test") for e in train + val]
    with lake.transaction("seed") as txn:
        txn.append("pairs", pairs_table(rows))
    lake.tag("pairs", "seed")
    add_human_labels(lake, [r["pair_id"] for r in rows[-5:]])
    run = tmp_path / "runs" / "lake-run"
    assert main(["--lake", str(lake.root), "--table", "pairs", "--tag", "seed", "--backbone", str(backbone),
                 "--out", str(run), "--device", "cpu", "--max-steps", "4", "--batch-size", "5", "--max-length", "48",
                 "--lr", "1e-3", "--eval-every", "2", "--torch-threads", "1"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert (result["n_train"], result["n_val"], result["run_id"]) == (31, 5, "lake-run")  # gold is held out
    assert json.loads((run / "snapshot.json").read_text())["ref"] == "pairs@seed"
    runs = lake.dataset("rm_runs").to_table().to_pylist()
    assert [(r["run_id"], r["train_tag"]) for r in runs] == [("lake-run", "seed")]
    score(lake, run, "pairs")  # the existing scoring path, unchanged, on the consolidated checkpoint
    assert lake.dataset("rm_scores").count_rows() == len(rows)

    # `prefhouse train --nproc-per-node 2` launches the same trainer under torchrun on loopback
    from prefhouse.cli import main as prefhouse

    two = tmp_path / "runs" / "two-ranks"
    assert prefhouse(["--lake", str(lake.root), "train", "--table", "pairs", "--tag", "seed", "--backbone",
                      str(backbone), "--out", str(two), "--run-id", "two-ranks", "--device", "cpu", "--max-steps",
                      "4", "--batch-size", "5", "--max-length", "48", "--lr", "1e-3", "--eval-every", "2",
                      "--torch-threads", "1", "--nproc-per-node", "2"]) == 0  # fmt: skip
    assert json.loads((two / "config.json").read_text())["distributed"]["world_size"] == 2
    assert {r["run_id"] for r in lake.dataset("rm_runs").to_table().to_pylist()} == {"lake-run", "two-ranks"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(nproc: int, args: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    loopback = {"GLOO_SOCKET_IFNAME": "lo", "NCCL_SOCKET_IFNAME": "lo"}  # no traffic off the machine
    env = {**os.environ, "OMP_NUM_THREADS": "1", **loopback}  # offline settings: tests/conftest.py
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc), "--master-addr",
           "127.0.0.1", "--master-port", str(_free_port()), "-m", "rm.distributed", *args]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def test_two_gloo_ranks_match_one_process_and_the_checkpoint_scores_the_same(tiny):
    from rm.data import encode
    from rm.inference import pair_metrics, score_encoded
    from rm.model import load_reward_model, load_tokenizer

    root, backbone, _train, val, ref = tiny
    run = root / "two"
    _torchrun(2, ["--train-file", str(root / "train.jsonl"), "--val-file", str(root / "val.jsonl"),
                  "--backbone", str(backbone), "--out", str(run), "--device", "cpu", "--precision", "fp32",
                  "--max-length", "48", "--batch-size", "5", "--grad-accum", "2", "--lr", "1e-3",
                  "--max-steps", "8", "--eval-every", "4", "--warmup-ratio", "0.1", "--torch-threads", "1",
                  "--save-every", "4"])  # fmt: skip
    # ---- the loss curve of 2 ranks is the single-process curve at the same global batch
    ref_train, two_train = _rows(ref.run_dir, "train"), _rows(run, "train")
    # global counts (all-reduced), not one rank's share; a step with 6 pairs holds an epoch's 1-pair tail
    # (31 pairs in batches of 5), where rank 1 runs a zero-weight filler
    pairs = [r["pairs"] for r in two_train]
    assert pairs == [r["pairs"] for r in ref_train] and set(pairs) == {10, 6}
    assert _max_diff(ref_train, two_train, "loss") < TOL and _max_diff(ref_train, two_train, "margin") < TOL
    assert [r["accuracy"] for r in ref_train] == [r["accuracy"] for r in two_train]
    assert _max_diff(_rows(ref.run_dir, "gold"), _rows(run, "gold"), "loss") < TOL
    losses = [r["loss"] for r in two_train]
    assert all(math.isfinite(v) for v in losses) and sum(losses[-3:]) < sum(losses[:3])
    # ---- the run folder is rm.train's, plus the DCP shards of both ranks
    config, result = json.loads((run / "config.json").read_text()), json.loads((run / "result.json").read_text())
    assert config["distributed"] == {"world_size": 2, "backend": "gloo", "sharding": "fsdp2", "param_dtype": "float32",
                                     "master_dtype": "float32", "reduce_dtype": "float32"}  # fmt: skip
    assert json.loads((run / "snapshot.json").read_text())["n_val"] == 5
    assert (result["best_step"], result["gold_accuracy"]) == (ref.best_step, ref.gold_accuracy)
    for step in ("step-000004", "step-000008"):
        files = {p.name for p in (run / "sharded" / step).iterdir()}
        assert {".metadata", "__0_0.distcp", "__1_0.distcp"} <= files
    # ---- the consolidated checkpoint loads as any run's and scores as the trained model did
    tok = load_tokenizer(run / "checkpoint")
    model = load_reward_model(run / "checkpoint", tok)
    enc = encode(tok, val, 48)
    rc, rr = score_encoded(model, enc, tok.pad_token_id)
    best_gold = next(r for r in _rows(run, "gold") if r["step"] == result["best_step"])
    assert pair_metrics(rc, rr)["loss"] == pytest.approx(best_gold["loss"], abs=1e-5)  # the FSDP model's own score
    ref_model = load_reward_model(ref.run_dir / "checkpoint", load_tokenizer(ref.run_dir / "checkpoint"))
    ref_rc, _ = score_encoded(ref_model, enc, tok.pad_token_id)
    assert max(abs(a - b) for a, b in zip(rc, ref_rc, strict=True)) < TOL


@pytest.mark.gpu
def test_bf16_fsdp_on_cuda(tiny):
    torch = require_cuda("needs CUDA: the bf16 FSDP path runs on nccl, one process per GPU")
    from safetensors.torch import load_file

    from rm.inference import load_run, score_sides

    root, backbone, _train, _val, _ref = tiny
    nproc, run = min(2, torch.cuda.device_count()), root / "gpu"
    _torchrun(nproc, ["--train-file", str(root / "train.jsonl"), "--val-file", str(root / "val.jsonl"),
                      "--backbone", str(backbone), "--out", str(run), "--device", "cuda", "--max-length", "48",
                      "--batch-size", "5", "--grad-accum", "2", "--lr", "1e-3", "--max-steps", "12",
                      "--eval-every", "4", "--gradient-checkpointing"])  # fmt: skip
    facts = json.loads((run / "config.json").read_text())["distributed"]
    assert (facts["backend"], facts["param_dtype"], facts["world_size"]) == ("nccl", "bfloat16", nproc)
    losses = [r["loss"] for r in _rows(run, "train")]
    assert all(math.isfinite(v) for v in losses) and sum(losses[-3:]) < sum(losses[:3])
    weights = load_file(str(run / "checkpoint" / "model.safetensors"))
    assert all(v.dtype == torch.float32 for v in weights.values())  # fp32 master weights are what is saved
    model, tok, _ = load_run(run, "cuda")
    conv = [{"role": "user", "content": "tell me about tea"}]
    good, bad = score_sides(model, tok, [(conv, "tea are great , here is a helpful answer ."), (conv, "no .")], 48)
    assert good > bad
