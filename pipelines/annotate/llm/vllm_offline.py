"""Offline vllm (``vllm.LLM.generate``) with structured JSON output. Needs the ``gpu`` extra.

vllm is imported here only, when this backend is built: it cannot start an engine on a
CPU machine, and its import is slow. Structured output goes through vllm's guided
decoding (``StructuredOutputsParams`` in recent releases, ``GuidedDecodingParams`` before).
"""

from __future__ import annotations

import os
from typing import Any

from pipelines.annotate.llm.base import ChatRequest, ChatResult, LLMConfig, OnResult


class VllmOfflineBackend:
    def __init__(self, config: LLMConfig) -> None:
        os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
        if not config.model:
            raise ValueError("the vllm backend needs --model PATH (a local model folder or a cached hub id)")
        try:
            import vllm
        except ImportError as exc:
            raise ValueError("the vllm backend needs the gpu extra: pip install -e '.[gpu]'") from exc
        self._vllm = vllm
        self.model = config.model
        self.llm = vllm.LLM(model=config.model)

    def _params(self, request: ChatRequest) -> Any:
        s = request.sampling
        kwargs: dict[str, Any] = {
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "seed": s.seed,
        }
        if request.schema is not None:
            try:
                from vllm.sampling_params import StructuredOutputsParams

                kwargs["structured_outputs"] = StructuredOutputsParams(json=request.schema)
            except ImportError:  # older vllm
                from vllm.sampling_params import GuidedDecodingParams

                kwargs["guided_decoding"] = GuidedDecodingParams(json=request.schema)
        return self._vllm.SamplingParams(**kwargs)

    def complete_many(self, requests: list[ChatRequest], on_result: OnResult) -> None:
        if not requests:
            return
        outputs = self.llm.chat([r.messages for r in requests], [self._params(r) for r in requests], use_tqdm=False)
        for i, out in enumerate(outputs):
            on_result(i, ChatResult(text=out.outputs[0].text))

    def close(self) -> None:
        del self.llm
