"""Score pairs with vllm's pooling runner (the `gpu` extra), for large-scale scoring on GPU.

vllm is imported lazily: it installs on CPU machines but cannot start an engine there (see
the stack notes). The run's checkpoint is a ``*ForSequenceClassification`` folder with one
label, which vllm serves with ``runner="pooling"`` and the ``classify`` pooling task; the
activation (a sigmoid for one label) is switched off so that the raw reward comes back, as
the transformers backend gives it. Texts are rendered with the same chat template / plain
format as training, so both backends score the same strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rm.data import Example
from rm.formatting import format_pair_side


class VllmScorer:
    """Rewards for (conversation, response) texts through ``vllm.LLM`` (pooling runner)."""

    def __init__(self, checkpoint: str | Path, max_length: int, tokenizer: Any, **engine_args: Any) -> None:
        try:
            from vllm import LLM
        except ImportError as exc:
            raise ImportError(
                "the vllm backend needs the gpu extra: pip install -e '.[gpu]' (on a CUDA machine)"
            ) from exc
        self.tokenizer = tokenizer
        self.llm = LLM(model=str(checkpoint), runner="pooling", max_model_len=max_length, **engine_args)

    def _raw(self, texts: Sequence[str]) -> list[float]:
        from vllm import PoolingParams

        try:
            params = PoolingParams(use_activation=False)
        except TypeError:  # older vllm spells it `activation`
            params = PoolingParams(activation=False)
        outputs = self.llm.encode(list(texts), pooling_task="classify", pooling_params=params, use_tqdm=False)
        return [float(o.outputs.data.reshape(-1)[0]) for o in outputs]

    def score_examples(self, examples: Sequence[Example]) -> tuple[list[float], list[float]]:
        chosen = [format_pair_side(self.tokenizer, e.conversation, e.chosen) for e in examples]
        rejected = [format_pair_side(self.tokenizer, e.conversation, e.rejected) for e in examples]
        r = self._raw(chosen + rejected)  # vllm batches and schedules internally
        return r[: len(examples)], r[len(examples) :]
