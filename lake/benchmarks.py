"""One benchmark item: the shape every benchmark layout is read into, below both of its users.

The layout registry (:mod:`pipelines.ingest.registry`) parses a benchmark file's rows into
:class:`BenchItem` rows; ``prefhouse ingest --as-benchmark`` keeps the first user turn and the
item id of each (``benchmark_prompts``), and the reward-model evaluator (:mod:`rm.evaluate`)
scores the responses as the item's ``kind`` says:

- ``pair``: ``responses = [chosen, rejected]``; correct when r(chosen) > r(rejected);
- ``tie``: a pair whose label is a tie: its prompt is a benchmark prompt, eval does not score it;
- ``rmbench``: ``responses`` = RM-Bench's 3 chosen then 3 rejected style variants (concise,
  detailed plain, detailed markdown): the 3x3 grid of chosen i vs rejected j gives easy
  (i > j), normal (i == j) and hard (i < j) accuracy;
- ``bon``: best-of-N: N candidates and which are correct (``correct``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class BenchItem:
    """One benchmark item: a prompt, the responses to score and how to judge them (module docstring)."""

    kind: str  # pair | tie | rmbench | bon
    conversation: list[dict[str, str]]
    responses: list[str]
    category: str  # the benchmark's own subset / domain / category; "" when it has none
    correct: list[bool] | None = None  # bon only: which responses are correct
    item_id: str = ""  # the row's own id, else its row index
    source_row: int = 0
    layout: str = ""

    @property
    def first_prompt(self) -> str:
        """The first user turn: what decontamination matches on."""
        return next((t["content"] for t in self.conversation if t["role"] == "user"), self.conversation[0]["content"])
