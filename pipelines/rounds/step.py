"""The Step abstraction of a curation round: a small class with one ``run()``.

A step declares the lake tables it ``reads`` and ``writes``; the runner records their
versions before and after, so every step record says which data went in and came out.
A step returns a :class:`StepResult`: per-reason counts, ``facts`` that later steps read
(a run id, a kept fraction), a message, and its status (``done``, or ``skipped`` when
it had nothing to do or no backend to do it with, saying why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from lake import Lake
    from pipelines.rounds.config import RoundConfig


class StepFailed(RuntimeError):
    """A step that cannot finish; the round stops here and a re-run resumes at this step."""


class GateBlocked(StepFailed):
    """The quality gate failed: nothing is published and the previous round's tag stays."""


@dataclass
class StepResult:
    """What a step did."""

    counts: dict[str, int | float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    status: Literal["done", "skipped"] = "done"


@dataclass
class RoundContext:
    """What every step of a round sees: the lake, the round, its config, and earlier steps' facts."""

    lake: Lake
    round: int
    stage: int
    config: RoundConfig
    facts: dict[str, Any] = field(default_factory=dict)
    log: Any = print

    def fact(self, key: str, default: Any = None) -> Any:
        return self.facts.get(key, default)

    @property
    def previous_tag(self) -> str | None:
        """The tag of the previous round (``round-(N-1)``), or None in round 1."""
        return f"round-{self.round - 1}" if self.round > 1 else None


class Step:
    """Base class: subclasses set ``name``, ``reads``, ``writes`` and implement :meth:`run`."""

    name: str = "step"
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()

    def run(self, ctx: RoundContext) -> StepResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
