"""Text formats: the plain format without a chat template, the template when there is one."""

from __future__ import annotations

from rm.formatting import format_pair_side, plain_format

CONV = [
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "hello"},
    {"role": "user", "content": "ok?"},
]


def test_plain_format_has_no_system_prompt():
    text = plain_format(CONV, "yes")
    assert text == "User: hi\n\nAssistant: hello\n\nUser: ok?\n\nAssistant: yes"


def test_minilm_uses_the_plain_format():
    from rm.config import default_backbone
    from rm.model import load_tokenizer

    tok = load_tokenizer(default_backbone())
    assert format_pair_side(tok, CONV, "yes") == plain_format(CONV, "yes")


def test_a_chat_template_is_used_when_the_tokenizer_has_one(tmp_path):
    from rm_tiny_models import build_tokenizer

    tok = build_tokenizer(["hi hello ok yes"], tmp_path)
    text = format_pair_side(tok, CONV, "yes")
    assert text.startswith("<|user|> hi <|end|>") and text.rstrip().endswith("<|assistant|> yes <|end|>")
    assert "system" not in text
