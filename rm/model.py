"""Load a reward model: any local Hugging Face folder as a one-logit sequence classifier.

``AutoModelForSequenceClassification(num_labels=1)`` puts a fresh scalar head on a
pretrained backbone (or reloads a trained one). Decoders often ship without a pad token:
we reuse EOS (or UNK) and tell the model, because the classifier finds each sequence's last
real token through ``config.pad_token_id``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def pick_device(name: str = "auto") -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda but torch sees no GPU: use --device cpu (or auto)")
    return name


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX), so bf16 autocast pays on it."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no way to tell cheaply, so no
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def use_bf16(precision: str, device: str) -> bool:
    """bf16 autocast for ``precision`` on ``device``: ``auto`` takes it where the hardware computes
    bf16 natively (CUDA GPUs that support it; CPUs with AVX512-BF16 or AMX), fp32 elsewhere."""
    if precision in ("bf16", "fp32"):
        return precision == "bf16"
    if precision != "auto":
        raise ValueError(f"precision must be auto, fp32 or bf16, got {precision!r}")
    if device.startswith("cuda"):
        import torch

        return bool(torch.cuda.is_bf16_supported())
    return cpu_has_bf16()


def load_tokenizer(path: str | Path, truncation_side: str = "left") -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    tok.truncation_side = truncation_side
    tok.padding_side = "right"
    if tok.pad_token is None:
        fallback = tok.eos_token or tok.unk_token
        if fallback is None:
            raise ValueError(f"tokenizer at {path} has no pad, eos or unk token: add a pad token to it")
        tok.pad_token = fallback
        log.info("tokenizer has no pad token: using %r", fallback)
    return tok


def load_reward_model(path: str | Path, tokenizer: Any, gradient_checkpointing: bool = False) -> Any:
    """The backbone at ``path`` with a one-logit head, in fp32 (bf16 comes from autocast)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"no Hugging Face model at {path} (config.json missing): pass --backbone DIR")
    model = AutoModelForSequenceClassification.from_pretrained(str(path), num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    if gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if hasattr(model.config, "use_cache"):
            model.config.use_cache = False
    return model


def rewards(model: Any, input_ids: Any, attention_mask: Any, bf16: bool = False) -> Any:
    """Scalar rewards (fp32) for a padded batch."""
    import torch

    device_type = input_ids.device.type
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=bf16):
        out = model(input_ids=input_ids, attention_mask=attention_mask)
    return out.logits.squeeze(-1).float()
