"""A round's ``--judges vllm:PATH`` runs the offline vLLM backend (marked ``gpu``).

Skips cleanly without CUDA or without vllm (the ``gpu`` extra). A tiny random-init causal LM
is built offline; vLLM's structured output keeps even its answers valid judge JSON.
"""

from __future__ import annotations

import json

import pytest

from pipelines.annotate.llm.base import ChatRequest, Sampling, make_backend, parse_judge
from pipelines.annotate.taxonomy import JUDGE_SCHEMA
from tests.gpu import require_vllm

WORDS = ["which", "answer", "is", "better", "1", "2", "rationale", "candidate", "the", "first", "second"]


def _tiny_causal_lm(out):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from tests.rm.rm_tiny_models import build_tokenizer

    tok = build_tokenizer(WORDS, out)
    config = Qwen2Config(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id, tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(str(out))
    return out


@pytest.mark.gpu
def test_a_vllm_judge_spec_answers_valid_judge_json(tmp_path):
    require_vllm("the vllm judge backend needs the gpu extra")
    path = _tiny_causal_lm(tmp_path / "tiny-lm")
    backend = make_backend(parse_judge(f"vllm:{path}"))
    try:
        requests = [
            ChatRequest(
                [{"role": "user", "content": f"which answer is better {i}"}], Sampling(max_tokens=48), JUDGE_SCHEMA
            )
            for i in range(4)
        ]
        results: dict[int, str | None] = {}
        backend.complete_many(requests, lambda i, r: results.__setitem__(i, r.text))
    finally:
        backend.close()
    assert backend.model == str(path) and sorted(results) == [0, 1, 2, 3]
    assert all(json.loads(text)["better"] in ("1", "2") for text in results.values())


def test_judge_specs_name_their_backend():
    assert (parse_judge("vllm:/models/judge").backend, parse_judge("vllm:/models/judge").model) == (
        "vllm",
        "/models/judge",
    )
    http = parse_judge("org/judge-7b=http://127.0.0.1:8001/v1")
    assert (http.backend, http.model, http.base_url) == ("openai", "org/judge-7b", "http://127.0.0.1:8001/v1")
    assert parse_judge("http://127.0.0.1:8002/v1").model is None
    with pytest.raises(ValueError, match="MODEL=URL"):
        parse_judge("judge-7b")
