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
