"""The fixed task taxonomy, the objectivity and controversiality scales, and the JSON schemas.

docs/method.md leaves the taxonomy open; this one is fixed and documented in docs/annotation.md.
A change to it is a change of the attributes template version (a new ``attributes.vN.txt``),
so rows written under one taxonomy are never mixed with another.
"""

from __future__ import annotations

from typing import Any

TASK_CATEGORIES: dict[str, str] = {
    "coding": "writing, explaining, reviewing or debugging code",
    "math": "calculation, proofs, word problems, quantitative reasoning",
    "reasoning": "logic puzzles, multi-step inference, planning",
    "factual_qa": "questions with a checkable factual answer",
    "creative_writing": "stories, poems, jokes, role-play, brainstorming",
    "advice": "personal, professional, health or legal guidance",
    "safety_sensitive": "harmful, dangerous, illegal or abusive requests and red-teaming",
    "chit_chat": "small talk and social conversation",
    "rewriting_summarising": "rewrite, edit, translate, summarise or extract from a given text",
    "other": "anything that fits none of the above",
}

OBJECTIVITY = ("objective", "subjective")
"""objective: one answer is verifiably better (a fact, a computation, a test);
subjective: the better answer depends on taste, values or context."""

CONTROVERSIALITY = ("low", "medium", "high")
"""low: careful annotators would agree; medium: reasonable people could differ;
high: divisive topics or trade-offs where any verdict is contestable."""

ATTRIBUTES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "task_category": {"type": "string", "enum": list(TASK_CATEGORIES)},
        "objectivity": {"type": "string", "enum": list(OBJECTIVITY)},
        "controversiality": {"type": "string", "enum": list(CONTROVERSIALITY)},
        "desired_attributes": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "maxItems": 8,
        },
        "guideline": {"type": "string", "minLength": 1},
    },
    "required": ["task_category", "objectivity", "controversiality", "desired_attributes", "guideline"],
    "additionalProperties": False,
}

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "rationale": {"type": "string"},
        "better": {"type": "string", "enum": ["1", "2"]},
    },
    "required": ["rationale", "better"],
}

PRECHECK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "rationale": {"type": "string"},
        "verdict": {"type": "string", "enum": ["correct", "incorrect", "unsure"]},
    },
    "required": ["rationale", "verdict"],
}


def taxonomy_text() -> str:
    """The taxonomy as prompt text (one ``- name: description`` line per category)."""
    return "\n".join(f"- {name}: {desc}" for name, desc in TASK_CATEGORIES.items())
