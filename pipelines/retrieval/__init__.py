"""Embeddings, near-duplicate prompts and adaptive retrieval on LanceDB (docs/method.md, Stage 1 step 5).

Stages: :func:`embed_pairs` (``embeddings``), :func:`find_near_duplicates` (``neighbours``),
:func:`retrieve` (``retrieval_queue``); notebook API :func:`nearest`.

Its names load their modules on first use (:mod:`lake.lazy`). A function named as its module
(``nearest``, ``retrieve``) is imported from that module: a package attribute of that name is the submodule
once anything imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lake.lazy import lazy_names

if TYPE_CHECKING:
    from pipelines.retrieval.config import DEFAULT_MODEL, EmbedConfig, IndexSettings, NeardupConfig, RetrieveConfig
    from pipelines.retrieval.embed import EMBEDDINGS, embed_pairs
    from pipelines.retrieval.encoder import Encoder
    from pipelines.retrieval.neardup import PROMPT_EMBEDDINGS, NeardupReport, find_near_duplicates
    from pipelines.retrieval.retrieve import RetrieveReport
    from pipelines.retrieval.search import VectorIndex
    from pipelines.retrieval.sets import k_for
    from pipelines.retrieval.text import conversation_text, pair_text, text_hash
    from pipelines.retrieval.vectors import SyncReport

__all__ = [
    "DEFAULT_MODEL",
    "EMBEDDINGS",
    "PROMPT_EMBEDDINGS",
    "EmbedConfig",
    "Encoder",
    "IndexSettings",
    "NeardupConfig",
    "NeardupReport",
    "RetrieveConfig",
    "RetrieveReport",
    "SyncReport",
    "VectorIndex",
    "conversation_text",
    "embed_pairs",
    "find_near_duplicates",
    "k_for",
    "pair_text",
    "text_hash",
]

__getattr__ = lazy_names(
    __name__,
    {
        "EMBEDDINGS": "embed",
        "EmbedConfig": "config",
        "embed_pairs": "embed",
        "DEFAULT_MODEL": "config",
        "Encoder": "encoder",
        "PROMPT_EMBEDDINGS": "neardup",
        "NeardupConfig": "config",
        "NeardupReport": "neardup",
        "find_near_duplicates": "neardup",
        "RetrieveConfig": "config",
        "RetrieveReport": "retrieve",
        "VectorIndex": "search",
        "k_for": "sets",
        "conversation_text": "text",
        "pair_text": "text",
        "text_hash": "text",
        "IndexSettings": "config",
        "SyncReport": "vectors",
    },
)
