"""The decoder / GPU path: a tiny random-init Qwen2 with a chat template, trained with gradient
checkpointing and accumulation; on CUDA in bf16 (marked ``gpu``: skips cleanly without CUDA).

Needs neither lance nor the MiniLM package, so it runs on the GPU machine as it is.
"""

from __future__ import annotations

import json
import math

import pytest
from rm_tiny_models import build_tiny_decoder

from tests.gpu import require_cuda

WORDS = ["cats", "rivers", "bread", "stars", "chess", "music", "rain", "trains", "tea", "maps", "bees", "snow"]


def _pairs():
    from rm.data import Example

    return [
        Example(
            [{"role": "user", "content": f"tell me about {w}"}],
            f"{w} are great , here is a helpful answer .",
            "no .",
            pair_id=str(i),
        )
        for i, w in enumerate(WORDS)
    ]


def _train_tiny(tmp_path, device: str, precision: str):

    from rm import train_config, train_examples

    pairs = _pairs()
    texts = [f"{p.conversation[0]['content']} {p.chosen} {p.rejected}" for p in pairs]
    backbone = build_tiny_decoder(texts, tmp_path / "tiny")
    cfg = train_config(
        "dev", backbone=str(backbone), out=tmp_path / "run", device=device, precision=precision, max_length=64,
        batch_size=4, grad_accum=2, lr=1e-3, max_steps=12, eval_every=6, warmup_ratio=0.1, torch_threads=2,
    )  # fmt: skip
    assert cfg.gradient_checkpointing and cfg.schedule == "linear"
    return train_examples(cfg, pairs, pairs[:4], {"source": "in-memory"}), backbone


def _check_run(result, backbone):
    from safetensors.torch import load_file

    rows = [json.loads(ln) for ln in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if r["split"] == "train"]
    assert len(losses) == 12 and all(math.isfinite(v) for v in losses)
    assert all(r["pairs"] == 8 for r in rows if r["split"] == "train")  # 4 pairs x 2 accumulated micro-batches
    assert sum(losses[-3:]) < sum(losses[:3])
    assert result.gold_accuracy == 1.0
    before, after = (
        load_file(str(backbone / "model.safetensors")),
        load_file(str(result.run_dir / "checkpoint" / "model.safetensors")),
    )
    key = "model.layers.0.mlp.down_proj.weight"
    assert (after[key].float() - before[key].float()).abs().max().item() > 1e-6


def test_tiny_decoder_trains_on_cpu_with_checkpointing_and_accumulation(tmp_path):
    result, backbone = _train_tiny(tmp_path, "cpu", "fp32")
    _check_run(result, backbone)


@pytest.mark.gpu
def test_tiny_decoder_trains_on_cuda_in_bf16(tmp_path):
    torch = require_cuda()
    from rm.inference import load_run, score_sides
    from rm.model import rewards

    result, backbone = _train_tiny(tmp_path, "cuda", "bf16")
    _check_run(result, backbone)
    model, tok, _ = load_run(result.run_dir, "cuda")
    ids = torch.tensor([[5, 6, 7]], device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        assert model(input_ids=ids).logits.dtype == torch.bfloat16  # autocast really runs in bf16
    assert rewards(model, ids, torch.ones_like(ids), bf16=True).dtype == torch.float32
    conv = [{"role": "user", "content": "tell me about tea"}]
    good, bad = score_sides(model, tok, [(conv, "tea are great , here is a helpful answer ."), (conv, "no .")], 64)
    assert good > bad
