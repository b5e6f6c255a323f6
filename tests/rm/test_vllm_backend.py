"""The vllm scoring backend gives the rewards the transformers backend gives (marked ``gpu``).

Skips cleanly without CUDA or without vllm (the ``gpu`` extra). Needs neither lance nor the
MiniLM package: a tiny random-init Qwen2 classifier is built offline.
"""

from __future__ import annotations

import pytest
from rm_tiny_models import build_tiny_decoder

from tests.gpu import require_vllm

PROMPTS = ["tell me about tea", "tell me about snow", "what is chess"]
RESPONSES = ["tea is great , here is a helpful answer .", "no .", "snow is cold and white .", "chess is a game ."]


@pytest.mark.gpu
def test_vllm_backend_scores_like_the_transformers_backend(tmp_path):
    torch = require_vllm("the vllm backend needs the gpu extra")
    from rm.data import Example, encode_texts, pad_batch
    from rm.formatting import format_pair_side
    from rm.model import load_reward_model, load_tokenizer, rewards
    from rm.vllm_backend import VllmScorer

    pairs = [
        Example([{"role": "user", "content": p}], RESPONSES[i % 4], RESPONSES[(i + 1) % 4], pair_id=str(i))
        for i, p in enumerate(PROMPTS)
    ]
    backbone = build_tiny_decoder([*PROMPTS, *RESPONSES], tmp_path / "tiny", hidden=256)
    tok = load_tokenizer(backbone)
    model = load_reward_model(backbone, tok).to("cuda").eval()
    texts = [format_pair_side(tok, e.conversation, getattr(e, s)) for s in ("chosen", "rejected") for e in pairs]
    with torch.inference_mode():
        ids, mask = pad_batch(encode_texts(tok, texts, 64), tok.pad_token_id, "cuda")
        expected = rewards(model, ids, mask, bf16=False).cpu().tolist()  # fp32, one padded batch
    del model
    scorer = VllmScorer(backbone, 64, tok, dtype="float32", enforce_eager=True, gpu_memory_utilization=0.3)
    chosen, rejected = scorer.score_examples(pairs)
    got = chosen + rejected
    assert len(got) == len(expected) and len(set(got)) > 1  # real, distinct rewards
    assert got == pytest.approx(expected, rel=1e-3, abs=1e-3)
