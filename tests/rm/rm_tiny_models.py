"""Tiny models built offline for tests: a random-init decoder with a word-level tokenizer.

Nothing is downloaded and no package data is needed, so the same builder runs on the GPU
machine (no MiniLM package there) and here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

CHAT_TEMPLATE = "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"


def build_tokenizer(texts: Iterable[str], out: Path):
    """A word-level fast tokenizer over ``texts`` with pad/unk/eos and a chat template."""
    import re

    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]
    words = sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower())})
    vocab = {w: i for i, w in enumerate(special + [w for w in words if w not in special])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit()])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="<|end|>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(str(out))
    return fast


def build_tiny_decoder(texts: Iterable[str], out: Path, hidden: int = 128, layers: int = 2) -> Path:
    """A random-init 2-layer Qwen2 sequence classifier saved with its tokenizer at ``out``."""
    import torch
    from transformers import Qwen2Config, Qwen2ForSequenceClassification

    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(texts, out)
    config = Qwen2Config(
        vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, num_labels=1,
        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.eos_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    Qwen2ForSequenceClassification(config).save_pretrained(str(out))
    return out
