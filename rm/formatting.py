"""Turn (conversation, response) into the text a reward model reads.

With a tokenizer that has a chat template, the conversation plus the response as the final
assistant turn is rendered through it. Without one (encoders such as MiniLM), the plain
format is used: one paragraph per turn, ``User: ...`` / ``Assistant: ...``, separated by a
blank line. There is never a system prompt: a system turn stored in the conversation is
kept as ``System: ...`` text only because it is part of the data, none is added.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ROLE_NAMES = {"user": "User", "assistant": "Assistant", "system": "System"}


def plain_format(conversation: Sequence[Mapping[str, str]], response: str) -> str:
    """The documented plain format for backbones without a chat template."""
    turns = [*conversation, {"role": "assistant", "content": response}]
    return "\n\n".join(f"{ROLE_NAMES.get(t['role'], t['role'].title())}: {t['content']}" for t in turns)


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def format_pair_side(tokenizer: Any, conversation: Sequence[Mapping[str, str]], response: str) -> str:
    """Render one side of a pair for ``tokenizer`` (its chat template, else the plain format)."""
    if not has_chat_template(tokenizer):
        return plain_format(conversation, response)
    messages = [{"role": t["role"], "content": t["content"]} for t in conversation]
    messages.append({"role": "assistant", "content": response})
    return tokenizer.apply_chat_template(messages, tokenize=False)
