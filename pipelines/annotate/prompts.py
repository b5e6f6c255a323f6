"""Versioned prompt templates: ``templates/<name>.v<N>.txt`` rendered into chat messages.

A template file has a ``### system`` and a ``### user`` section and ``$placeholders``
(``string.Template``, so JSON braces in the text need no escaping). Its version is the file
stem (``judge.v1``): it goes into every cache key and every lake row the prompt produced,
so a changed prompt is a new file, never an edit of an old one.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parent / "templates"
_SECTIONS = ("### system", "### user")


@dataclass(frozen=True)
class Template:
    version: str  # e.g. "judge.v1"
    system: string.Template | None
    user: string.Template

    def messages(self, **values: Any) -> list[dict[str, str]]:
        """Chat messages with every placeholder filled (a missing one raises KeyError)."""
        out = []
        if self.system is not None:
            out.append({"role": "system", "content": self.system.substitute(values).strip()})
        out.append({"role": "user", "content": self.user.substitute(values).strip()})
        return out

    def text(self, **values: Any) -> str:
        """The user section alone (for fragments such as a demonstration)."""
        return self.user.substitute(values)


@functools.cache
def load_template(version: str) -> Template:
    """Load ``templates/<version>.txt``; the error lists the versions that exist."""
    path = TEMPLATES / f"{version}.txt"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in TEMPLATES.glob("*.txt")))
        raise FileNotFoundError(f"no prompt template {version!r} in {TEMPLATES} (known: {known})")
    raw = path.read_text()
    if _SECTIONS[1] not in raw:  # a fragment: the whole file is the text
        return Template(version, None, string.Template(raw))
    head, user = raw.split(_SECTIONS[1], 1)
    system = head.split(_SECTIONS[0], 1)[1] if _SECTIONS[0] in head else None
    return Template(version, string.Template(system) if system else None, string.Template(user.lstrip("\n")))


def render_conversation(conversation: list[dict[str, str]]) -> str:
    """Turns as ``[role]`` blocks, in order."""
    return "\n\n".join(f"[{t['role']}]\n{t['content']}" for t in conversation)


def clip(text: str, limit: int) -> str:
    """Cut very long texts (small context windows); the cut is marked, never silent."""
    if limit <= 0 or len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} characters cut]"
